"""Plain data carried in and out of ISO 20022 messages, independent of message version.

Writers take these; readers return them. Keeping them version-free lets the hub write
pain.001.001.03 for one bank and .09 for another from the same orders, and lets the sandbox bank
read what the hub wrote without sharing code paths with the hub's writer.

Outgoing amounts are `Money` (strict: writing is exact). Statement amounts read from banks are
`Decimal` plus a currency code (tolerant: a real file may carry more decimals than the currency
allows; the reader keeps the value and adds a warning instead of refusing or rounding).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from yinqi.domain.money import Money


@dataclass(frozen=True, slots=True)
class AccountId:
    """A bank account as ISO 20022 names it: an IBAN, or another id (e.g. a Chinese domestic
    account number) with an optional scheme/issuer."""

    iban: str | None = None
    other_id: str | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class PostalAddress:
    country: str | None = None
    street: str | None = None
    building_number: str | None = None
    postcode: str | None = None
    town: str | None = None
    lines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CreditTransfer:
    """One CdtTrfTxInf."""

    instruction_id: str
    end_to_end_id: str
    amount: Money
    creditor_name: str
    creditor_account: AccountId
    creditor_bic: str | None = None
    creditor_bank_code: str | None = None  # e.g. 12-digit CNAPS code, in ClrSysMmbId
    creditor_address: PostalAddress | None = None
    remittance: str | None = None
    purpose_code: str | None = None
    uetr: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentInfo:
    """One PmtInf block: one debtor account, one execution date, many transfers."""

    payment_info_id: str
    debtor_name: str
    debtor_account: AccountId
    debtor_bic: str | None
    requested_execution_date: date
    transfers: tuple[CreditTransfer, ...]
    batch_booking: bool = False
    instruction_priority: str | None = None  # HIGH / NORM
    service_level: str | None = None  # e.g. SEPA, URGP
    debtor_address: PostalAddress | None = None


@dataclass(frozen=True, slots=True)
class CreditTransferMessage:
    """A whole pain.001 document."""

    message_id: str
    created_at: datetime
    initiating_party: str
    payment_infos: tuple[PaymentInfo, ...]

    @property
    def number_of_transactions(self) -> int:
        return sum(len(p.transfers) for p in self.payment_infos)


@dataclass(frozen=True, slots=True)
class TransactionStatus:
    end_to_end_id: str | None
    status: str | None  # ACTC, ACCP, ACSP, ACSC, ACWC, PART, PDNG, RJCT ...
    reason_code: str | None = None
    additional_info: str | None = None
    original_instruction_id: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentStatus:
    payment_info_id: str | None
    status: str | None
    reason_code: str | None = None
    transactions: tuple[TransactionStatus, ...] = ()


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A whole pain.002 document."""

    message_id: str
    created_at: datetime | None
    original_message_id: str
    original_message_type: str | None
    group_status: str | None
    group_reason_code: str | None = None
    payments: tuple[PaymentStatus, ...] = ()


@dataclass(frozen=True, slots=True)
class BalanceAmount:
    amount: Decimal  # signed: credit +, debit -
    currency: str
    date: date | None
    type_code: str = ""  # OPBD, CLBD, PRCD, ITBD, CLAV ...


@dataclass(frozen=True, slots=True)
class StatementEntry:
    amount: Decimal  # signed: credit +, debit -
    currency: str
    status: str  # BOOK, PDNG, INFO
    booking_date: date | None
    value_date: date | None
    bank_reference: str | None = None
    end_to_end_ids: tuple[str, ...] = ()
    counterparty_name: str | None = None
    remittance: str | None = None
    reversal: bool = False
    entry_reference: str | None = None
    return_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    """One Stmt (camt.053), Rpt (camt.052) or Ntfctn (camt.054), or one MT940 statement."""

    id: str
    account: AccountId
    opening_balance: BalanceAmount | None
    closing_balance: BalanceAmount | None
    entries: tuple[StatementEntry, ...]
    sequence_number: str | None = None
    created_at: datetime | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StatementFile:
    format: str  # e.g. "camt.053.001.08"
    message_id: str | None
    statements: tuple[Statement, ...] = field(default_factory=tuple)
