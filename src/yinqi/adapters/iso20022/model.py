"""The version-free message model is domain data (`yinqi.domain.bank_messages`): use cases build
and read it without knowing XML. This module keeps the import path the ISO 20022 adapters use."""

from yinqi.domain.bank_messages import (
    AccountId,
    BalanceAmount,
    CreditTransfer,
    CreditTransferMessage,
    PaymentInfo,
    PaymentStatus,
    PostalAddress,
    Statement,
    StatementEntry,
    StatementFile,
    StatusReport,
    TransactionStatus,
)

__all__ = ["AccountId", "BalanceAmount", "CreditTransfer", "CreditTransferMessage", "PaymentInfo", "PaymentStatus",
           "PostalAddress", "Statement", "StatementEntry", "StatementFile", "StatusReport", "TransactionStatus"]
