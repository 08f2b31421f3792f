"""The JSON shapes of the payment order API (pydantic), with examples for the OpenAPI page.

Amounts are decimal strings both ways ("12.34", "1000" for JPY): a JSON number is refused, because
a client's float may already have lost a cent before it reached us. Unknown fields are refused
too, so a misspelt field is an error rather than silently ignored. These models only check shape;
the business rules (IBAN checksum, currency exponent, dates ...) are the domain's `checks`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from yinqi.domain.orders import commands as cmd
from yinqi.domain.orders.events import OrderEvent
from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.parties import AccountRef


def _decimal_string(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError(
            "decimal_string", "amount must be a decimal string such as \"12.34\", not a JSON "
            "{kind}: numbers can lose precision before they reach the hub",
            {"kind": type(value).__name__, "code": "AMOUNT_INVALID"})
    return value


DecimalString = Annotated[str, BeforeValidator(_decimal_string),
                          Field(description="decimal string, never a JSON number", examples=["1250.00"])]

_STRICT = ConfigDict(extra="forbid", str_max_length=512)


class AccountIn(BaseModel):
    """An IBAN, or a Chinese domestic account number with its 12-digit CNAPS bank code."""

    model_config = ConfigDict(extra="forbid", str_max_length=64, json_schema_extra={
        "examples": [{"iban": "DE89370400440532013000"}, {"number": "6222021234567890", "cnaps": "102100099996"}]})
    iban: str | None = None
    number: str | None = None
    cnaps: str | None = None

    def to_input(self) -> cmd.AccountInput:
        return cmd.AccountInput(iban=self.iban, number=self.number, cnaps=self.cnaps)


class AddressIn(BaseModel):
    model_config = _STRICT
    street: str | None = None
    building_number: str | None = None
    postcode: str | None = None
    town: str | None = None


class PayerIn(BaseModel):
    model_config = _STRICT
    name: str = Field(examples=["Acme Trading GmbH"])
    account: AccountIn
    currency: str = Field(description="currency of the payer's account (ISO 4217)", examples=["EUR"])
    bic: str | None = Field(default=None, examples=["COBADEFFXXX"])


class PayeeIn(BaseModel):
    model_config = _STRICT
    name: str = Field(examples=["Fournisseur SARL"])
    account: AccountIn
    country: str = Field(description="ISO 3166-1 alpha-2 country of residence", examples=["FR"])
    bic: str | None = Field(default=None, examples=["BNPAFRPPXXX"])
    address: AddressIn | None = None


class CreateOrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=512, json_schema_extra={"examples": [{
        "company_id": "ACME", "serial": "ERP-2024-000123",
        "payer": {"name": "Acme Trading GmbH", "account": {"iban": "DE89370400440532013000"},
                  "currency": "EUR", "bic": "COBADEFFXXX"},
        "payee": {"name": "Fournisseur SARL", "account": {"iban": "FR1420041010050500013M02606"},
                  "country": "FR", "address": {"street": "Rue de Rivoli", "building_number": "1",
                                               "postcode": "75001", "town": "Paris"}},
        "amount": "1250.00", "currency": "EUR", "requested_execution_date": "2030-01-15",
        "urgency": "normal", "purpose_code": "SUPP", "remittance_info": "Invoice 4711"}]})

    company_id: str
    serial: str = Field(description="the company's unique reference (交易流水号), 1-35 of A-Za-z0-9-_/.")
    payer: PayerIn
    payee: PayeeIn
    amount: DecimalString
    currency: str
    requested_execution_date: date = Field(strict=True, description="ISO date, not before today")
    urgency: str = Field(default="normal", description="normal, urgent or instant")
    purpose_code: str | None = Field(default=None, description="ISO 20022 purpose code, e.g. SUPP, SALA")
    remittance_info: str | None = Field(default=None, description="up to 140 characters")
    end_to_end_id: str | None = Field(default=None, description="generated when absent; up to 35 characters")

    def to_command(self, *, source: str = "api") -> cmd.CreateOrder:
        p, q = self.payer, self.payee
        address = q.address
        return cmd.CreateOrder(
            company_id=self.company_id, serial=self.serial, amount=self.amount, currency=self.currency,
            payer=cmd.PayerInput(name=p.name, account=p.account.to_input(), currency=p.currency, bic=p.bic),
            payee=cmd.PayeeInput(name=q.name, account=q.account.to_input(), country=q.country, bic=q.bic,
                                 address=cmd.AddressInput(**address.model_dump()) if address else None),
            requested_execution_date=self.requested_execution_date, urgency=self.urgency,
            purpose_code=self.purpose_code, remittance_info=self.remittance_info,
            end_to_end_id=self.end_to_end_id, source=source)


class ReasonRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "duplicate invoice"}]})
    reason: str = Field(min_length=1, max_length=500)


# --- responses -----------------------------------------------------------------------------------
class AccountOut(BaseModel):
    """`masked` always; `iban` / `number` only for a caller allowed `account.reveal` (R18), else null."""

    scheme: str = Field(examples=["IBAN"])
    iban: str | None = None
    number: str | None = None
    cnaps: str | None = None
    masked: str = Field(examples=["FR14*******************2606"])

    @classmethod
    def of(cls, account: AccountRef, *, reveal: bool) -> AccountOut:
        if account.iban is not None:
            return cls(scheme="IBAN", iban=account.iban.compact if reveal else None, masked=account.masked)
        return cls(scheme="CN", number=account.number if reveal else None, cnaps=account.bank_code,
                   masked=account.masked)


class PayerOut(BaseModel):
    name: str
    account: AccountOut
    currency: str
    bic: str | None


class PayeeOut(BaseModel):
    name: str
    account: AccountOut
    country: str
    bic: str | None
    address: AddressIn | None


class OrderOut(BaseModel):
    id: str
    company_id: str
    serial: str
    state: str = Field(examples=["PENDING_APPROVAL"])
    version: int
    payer: PayerOut
    payee: PayeeOut
    amount: str = Field(examples=["1250.00"])
    currency: str
    requested_execution_date: date
    urgency: str
    purpose_code: str | None
    remittance_info: str | None
    end_to_end_id: str
    source: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    bank_message_id: str | None
    bank_status: str | None
    bank_reason: str | None

    @classmethod
    def of(cls, o: PaymentOrder, *, reveal: bool) -> OrderOut:
        """Account numbers in full only with `reveal` (the caller has `account.reveal`), else masked."""
        address = o.payee.address
        return cls(
            id=o.id, company_id=o.company_id, serial=o.serial.value, state=o.state.value, version=o.version,
            payer=PayerOut(name=o.payer.name, account=AccountOut.of(o.payer.account, reveal=reveal),
                           currency=o.payer.currency, bic=o.payer.bic.value if o.payer.bic else None),
            payee=PayeeOut(name=o.payee.name, account=AccountOut.of(o.payee.account, reveal=reveal),
                           country=o.payee.country.value, bic=o.payee.bic.value if o.payee.bic else None,
                           address=AddressIn(street=address.street, building_number=address.building_number,
                                             postcode=address.postcode, town=address.town) if address else None),
            amount=o.amount.format(), currency=o.amount.currency,
            requested_execution_date=o.requested_execution_date, urgency=o.urgency.value,
            purpose_code=o.purpose_code, remittance_info=o.remittance_info, end_to_end_id=o.end_to_end_id.value,
            source=o.source.value, created_by=o.created_by, created_at=o.created_at, updated_at=o.updated_at,
            bank_message_id=o.bank_message_id, bank_status=o.bank_status, bank_reason=o.bank_reason)


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None = Field(description="pass as `cursor` to get the next page; null at the end")


class EventOut(BaseModel):
    seq: int
    kind: str = Field(examples=["OrderApproved"])
    from_state: str | None
    to_state: str
    actor: str
    at: datetime
    reason: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, e: OrderEvent) -> EventOut:
        return cls(seq=e.seq, kind=e.kind, from_state=e.from_state.value if e.from_state else None,
                   to_state=e.to_state.value, actor=e.actor, at=e.at, reason=e.reason, data=e.data,
                   prev_hash=e.prev_hash, hash=e.hash)


class EventList(BaseModel):
    order_id: str
    chain_verified: bool = Field(description="every event's hash links to the one before")
    items: list[EventOut]


class ErrorDetail(BaseModel):
    code: str = Field(examples=["VALIDATION_FAILED"])
    message: str
    where: str = Field(examples=["payee.account.iban"])
    rule: str = Field(examples=["checksum"])
    value: str | None
    problems: list[dict[str, Any]]
    details: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail
