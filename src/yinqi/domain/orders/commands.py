"""Commands: what someone asks the hub to do with payment orders (imperative names).

`CreateOrder` carries the raw input exactly as it arrived (strings, not yet validated) so that
`checks.check_create_order` can report every problem at once; the entrypoints (API, console,
import) only translate their own format into these. The other commands name one order and say
who acts; the use cases in `yinqi.application.orders` carry them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = [
    "AccountInput", "AddressInput", "ApplyBankStatus", "ApproveOrder", "CancelOrder", "CreateOrder",
    "MarkSent", "PayeeInput", "PayerInput", "RejectOrder", "ReleaseOrder", "ReturnOrder", "SettleOrder",
]


@dataclass(frozen=True, slots=True)
class AccountInput:
    """Either `iban`, or `number` + `cnaps` (Chinese domestic account)."""

    iban: str | None = None
    number: str | None = None
    cnaps: str | None = None


@dataclass(frozen=True, slots=True)
class AddressInput:
    street: str | None = None
    building_number: str | None = None
    postcode: str | None = None
    town: str | None = None


@dataclass(frozen=True, slots=True)
class PayerInput:
    name: str
    account: AccountInput
    currency: str
    bic: str | None = None


@dataclass(frozen=True, slots=True)
class PayeeInput:
    name: str
    account: AccountInput
    country: str
    bic: str | None = None
    address: AddressInput | None = None


@dataclass(frozen=True, slots=True)
class CreateOrder:
    company_id: str
    serial: str
    payer: PayerInput
    payee: PayeeInput
    amount: str
    currency: str
    requested_execution_date: date
    urgency: str = "normal"
    purpose_code: str | None = None
    remittance_info: str | None = None
    end_to_end_id: str | None = None
    source: str = "api"


@dataclass(frozen=True, slots=True)
class ApproveOrder:
    order_id: str


@dataclass(frozen=True, slots=True)
class RejectOrder:
    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ReleaseOrder:
    order_id: str


@dataclass(frozen=True, slots=True)
class CancelOrder:
    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class MarkSent:
    order_id: str
    message_id: str


@dataclass(frozen=True, slots=True)
class ApplyBankStatus:
    status: str
    end_to_end_id: str | None = None
    order_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SettleOrder:
    order_id: str


@dataclass(frozen=True, slots=True)
class ReturnOrder:
    order_id: str
    reason: str
