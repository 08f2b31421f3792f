"""The bank connector port lives in `yinqi.application.bank_connector` (use cases depend on it);
this module keeps the adapter-side import path that bank adapters use."""

from yinqi.application.bank_connector import (
    BankConnector,
    BankError,
    BankRejectedMessage,
    BankTransportError,
    BankUnavailable,
    SubmissionReceipt,
)

__all__ = ["BankConnector", "BankError", "BankRejectedMessage", "BankTransportError", "BankUnavailable",
           "SubmissionReceipt"]
