"""Business validation of a new payment order: every problem, not just the first (beancount-style).

`check_create_order` returns a `list[Problem]`, each naming the field (`where`, a dotted path as the
API spells it), the rule broken and the value. `build_order` returns the valid `PaymentOrder` or
raises `ValidationFailed` carrying all of them; it is the only way raw input becomes an order, so
nothing half-valid is ever stored. The value objects validate themselves; this module adds the
rules that span fields (amount vs. currency, payer account currency) and the ones that need
"today", which the caller passes in (the domain never reads the clock).

>>> from datetime import date
>>> from yinqi.domain.orders.commands import *
>>> cmd = CreateOrder(company_id="acme", serial="S-1", amount="0", currency="EUR",
...     requested_execution_date=date(2024, 1, 1),
...     payer=PayerInput(name="Acme", currency="EUR", account=AccountInput(iban="DE89370400440532013000")),
...     payee=PayeeInput(name="", country="FR", account=AccountInput(number="123", cnaps="1")))
>>> found = check_create_order(cmd, today=date(2024, 1, 2))
>>> [(p.where, p.rule) for p in found]  # doctest: +NORMALIZE_WHITESPACE
[('amount', 'positive'), ('requested_execution_date', 'not_in_past'), ('payee.name', 'required'),
 ('payee.account.number', 'cn_account_digits'), ('payee.account.cnaps', 'cnaps_12_digits')]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TypeVar

from yinqi.domain.calendar import CALENDAR_NAMES, holiday_name, next_business_day
from yinqi.domain.currency import EXPONENTS, Currency
from yinqi.domain.identifiers import (
    Bic,
    CnapsCode,
    CnDomesticAccount,
    CountryCode,
    EndToEndId,
    Iban,
    OrderSerial,
)
from yinqi.domain.money import Money
from yinqi.domain.orders.commands import AccountInput, AddressInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.cross_border import needs_cross_border_data
from yinqi.domain.orders.order import OrderSource, PaymentOrder, Urgency
from yinqi.domain.orders.purpose_codes import PURPOSE_CODES
from yinqi.domain.parties import AccountRef, Address, Payee, Payer
from yinqi.domain.problems import DomainError, Problem, ProblemList

__all__ = ["MAX_NAME", "MAX_REMITTANCE", "CheckedOrder", "build_order", "build_payee", "check_create_order",
           "check_order"]

T = TypeVar("T")

MAX_REMITTANCE = 140  # ISO 20022 Ustrd is Max140Text; SEPA enforces it
MAX_NAME = 140
MAX_ADDRESS_PART = 70
_COMPANY = re.compile(r"[A-Za-z0-9\-_.]{1,64}")
_PURPOSE = re.compile(r"[A-Z]{4}")  # ISO 20022 ExternalPurpose1Code
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # a code point below 32, or DEL


class _Check:
    """Runs parsers, turning each DomainError into a Problem instead of stopping."""

    def __init__(self) -> None:
        self.problems = ProblemList()

    def attempt(self, parse: Callable[[], T], *, where: str = "") -> T | None:
        """`where` names the field for errors raised without one (Money, Currency)."""
        try:
            return parse()
        except DomainError as exc:
            problem = exc.as_problem()
            self.problems.items.append(replace(problem, where=problem.where or where))
            return None

    def add(self, code: str, message: str, *, where: str, rule: str, value: object = None) -> None:
        self.problems.add(code, message, where=where, rule=rule, value=value)

    def text(self, raw: str | None, *, where: str, max_len: int, required: bool) -> str | None:
        text = raw.strip() if isinstance(raw, str) else ""
        if not text:
            if required:
                self.add("FIELD_REQUIRED", f"{where} is required", where=where, rule="required")
            return None
        if _CONTROL.search(text):  # NUL and friends: no bank takes them
            self.add("TEXT_INVALID", f"{where} contains control characters", where=where,
                     rule="no_control_characters")
            return None
        if len(text) > max_len:
            self.add("TEXT_TOO_LONG", f"{where} is longer than {max_len} characters", where=where,
                     rule=f"max_{max_len}_chars", value=len(text))
            return None
        return text


def check_create_order(cmd: CreateOrder, *, today: date) -> list[Problem]:
    """Every problem with `cmd`; an empty list means `build_order` will succeed."""
    check = _Check()
    _parse(cmd, check, today=today)
    return list(check.problems.items)


_Parts = tuple[OrderSerial, Payer, Payee, Money, Urgency, OrderSource]


@dataclass(frozen=True, slots=True)
class CheckedOrder:
    """A command that passed every rule on `today`, with the values parsed from it: bulk intake
    checks every row before storing any, and builds each order from this without a second check."""

    command: CreateOrder
    today: date
    parts: _Parts


def check_order(cmd: CreateOrder, *, today: date) -> CheckedOrder | list[Problem]:
    """`check_create_order` that keeps what it parsed from a valid command, for `build_order`."""
    check = _Check()
    parts = _parse(cmd, check, today=today)
    if parts is None:
        return list(check.problems.items)
    return CheckedOrder(command=cmd, today=today, parts=parts)


def build_order(cmd: CreateOrder | CheckedOrder, *, order_id: str, today: date, actor: str,
                at: datetime) -> PaymentOrder:
    """The DRAFT order (version 0, no events yet) for valid input. A `CheckedOrder` checked on the
    same `today` is not checked again (the rules that depend on the date are checked anew on
    another day).

    Raises:
        ValidationFailed (VALIDATION_FAILED): with every problem found in `cmd`.
    """
    if isinstance(cmd, CheckedOrder) and cmd.today == today:
        parts: _Parts | None = cmd.parts
        cmd = cmd.command
    else:
        cmd = cmd.command if isinstance(cmd, CheckedOrder) else cmd
        check = _Check()
        parts = _parse(cmd, check, today=today)
        check.problems.raise_if_any()
    assert parts is not None
    serial, payer, payee, amount, urgency, source = parts
    e2e = (EndToEndId.parse(cmd.end_to_end_id) if cmd.end_to_end_id
           else EndToEndId.from_order_id(order_id))
    return PaymentOrder(
        id=order_id, company_id=cmd.company_id.strip(), serial=serial, payer=payer, payee=payee,
        amount=amount, requested_execution_date=cmd.requested_execution_date, urgency=urgency,
        purpose_code=cmd.purpose_code or None, remittance_info=(cmd.remittance_info or "").strip() or None,
        end_to_end_id=e2e, source=source, created_by=actor, created_at=at, updated_at=at)


def _parse(cmd: CreateOrder, check: _Check, *, today: date) -> _Parts | None:
    _check_company(cmd.company_id, check)
    serial = check.attempt(lambda: OrderSerial.parse(cmd.serial))
    amount = _amount(cmd, check)
    _check_date(cmd.requested_execution_date, today, cmd.currency, check)
    urgency = _enum(Urgency, cmd.urgency, "urgency", check)
    source = _enum(OrderSource, cmd.source, "source", check)
    _check_free_text(cmd, check)
    payer = _payer(cmd.payer, check, currency=cmd.currency)
    payee = _payee(cmd.payee, check)
    if payer is not None and payee is not None:
        _check_cross_border(cmd, payer, payee, check)
    if check.problems.items:
        return None
    assert serial and payer and payee and amount and urgency and source
    return serial, payer, payee, amount, urgency, source


def _check_company(company_id: str, check: _Check) -> None:
    if not isinstance(company_id, str) or not _COMPANY.fullmatch(company_id.strip()):
        check.add("COMPANY_INVALID", "company_id must be 1-64 characters of A-Z a-z 0-9 - _ .",
                  where="company_id", rule="company_id_format", value=company_id)


def _amount(cmd: CreateOrder, check: _Check) -> Money | None:
    if check.attempt(lambda: Currency.of(cmd.currency), where="currency") is None:
        return None
    money = check.attempt(lambda: Money.parse(cmd.amount, cmd.currency), where="amount")
    if money is not None and not money.is_positive():
        check.add("AMOUNT_INVALID", "amount must be greater than zero", where="amount", rule="positive",
                  value=cmd.amount)
        return None
    return money


def _check_date(requested: date, today: date, currency: str, check: _Check) -> None:
    if requested < today:
        check.add("EXECUTION_DATE_IN_PAST", f"requested execution date {requested} is before today ({today})",
                  where="requested_execution_date", rule="not_in_past", value=requested)
        return
    code = str(currency).strip().upper()
    closed = holiday_name(requested, code) if code in EXPONENTS else None
    if closed is not None:
        calendar = CALENDAR_NAMES.get(code, "weekends")
        check.add("NOT_BUSINESS_DAY", f"{requested} is not a business day for {code} ({closed}, {calendar}); "
                  f"the next one is {next_business_day(requested, code)}",
                  where="requested_execution_date", rule="business_day", value=requested)


def _check_cross_border(cmd: CreateOrder, payer: Payer, payee: Payee, check: _Check) -> None:
    """Purpose code and payee town for payments leaving SEPA or its euro (`cross_border`)."""
    if not needs_cross_border_data(payer_account=payer.account, payee_country=payee.country.value,
                                   currency=payer.currency):
        return
    route = f"{payer.account.masked} → {payee.country.value} in {payer.currency}"
    if not cmd.purpose_code:
        check.add("PURPOSE_CODE_REQUIRED", f"a cross-border payment outside SEPA ({route}) needs an ISO 20022 "
                  "purpose code", where="purpose_code", rule="required_cross_border")
    if payee.address is None or not payee.address.town:
        check.add("PAYEE_ADDRESS_REQUIRED", f"a cross-border payment outside SEPA ({route}) needs the payee's "
                  "town and country", where="payee.address.town", rule="required_cross_border_non_sepa")


E = TypeVar("E", Urgency, OrderSource)


def _enum(kind: type[E], raw: str, where: str, check: _Check) -> E | None:
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        check.add(f"{where.upper()}_INVALID", f"{where} must be one of {allowed}", where=where,
                  rule="one_of", value=raw)
        return None


def _check_free_text(cmd: CreateOrder, check: _Check) -> None:
    if cmd.remittance_info and len(cmd.remittance_info.strip()) > MAX_REMITTANCE:
        check.add("REMITTANCE_TOO_LONG", f"remittance information is longer than {MAX_REMITTANCE} characters",
                  where="remittance_info", rule="max_140_chars", value=len(cmd.remittance_info.strip()))
    elif cmd.remittance_info:
        check.text(cmd.remittance_info, where="remittance_info", max_len=MAX_REMITTANCE, required=False)
    if cmd.purpose_code and not _PURPOSE.fullmatch(cmd.purpose_code):
        check.add("PURPOSE_CODE_INVALID",
                  "purpose code must be 4 capital letters (ISO 20022 ExternalPurpose1Code)",
                  where="purpose_code", rule="iso20022_purpose_code", value=cmd.purpose_code)
    elif cmd.purpose_code and cmd.purpose_code not in PURPOSE_CODES:
        check.add("PURPOSE_CODE_UNKNOWN", f"{cmd.purpose_code} is not in the ISO 20022 ExternalPurpose1Code list",
                  where="purpose_code", rule="iso20022_external_code_list", value=cmd.purpose_code)
    if cmd.end_to_end_id:
        check.attempt(lambda: EndToEndId.parse(cmd.end_to_end_id))


def _account(raw: AccountInput, check: _Check, *, where: str) -> AccountRef | None:
    has_iban = bool(raw.iban and raw.iban.strip())
    has_domestic = bool(raw.number or raw.cnaps)
    if has_iban == has_domestic:
        check.add("ACCOUNT_INVALID", "give either an IBAN, or a domestic account number with its CNAPS code",
                  where=where, rule="one_of_iban_or_domestic")
        return None
    if has_iban:
        iban = check.attempt(lambda: Iban.parse(raw.iban, where=f"{where}.iban"))
        return AccountRef(iban=iban) if iban else None
    number = check.attempt(lambda: CnDomesticAccount.parse_number(raw.number, where=f"{where}.number"))
    cnaps = check.attempt(lambda: CnapsCode.parse(raw.cnaps, where=f"{where}.cnaps"))
    return AccountRef(domestic=CnDomesticAccount(number, cnaps)) if number and cnaps else None


def _bic(raw: str | None, check: _Check, *, where: str) -> Bic | None:
    return check.attempt(lambda: Bic.parse(raw, where=where)) if raw and raw.strip() else None


def _payer(raw: PayerInput, check: _Check, *, currency: str) -> Payer | None:
    name = check.text(raw.name, where="payer.name", max_len=MAX_NAME, required=True)
    account = _account(raw.account, check, where="payer.account")
    bic = _bic(raw.bic, check, where="payer.bic")
    account_currency = check.attempt(lambda: Currency.of(raw.currency), where="payer.currency")
    order_currency = str(currency).strip().upper()
    if account_currency and order_currency in EXPONENTS and account_currency.code != order_currency:
        check.add("CURRENCY_MISMATCH", f"the payer account is in {account_currency.code}; the order is in "
                  f"{currency} (FX conversion is not supported here)", where="payer.currency",
                  rule="payer_account_currency", value=raw.currency)
    if name is None or account is None or account_currency is None:
        return None
    return Payer(name=name, account=account, currency=account_currency.code, bic=bic)


def build_payee(raw: PayeeInput, *, prefix: str = "payee") -> Payee:
    """A valid payee (a beneficiary record's values) from raw input; `where` paths start with `prefix`.

    Raises:
        ValidationFailed (VALIDATION_FAILED): with every problem found in `raw`.
    """
    check = _Check()
    payee = _payee(raw, check, prefix=prefix)
    check.problems.raise_if_any()
    assert payee is not None
    return payee


def _payee(raw: PayeeInput, check: _Check, *, prefix: str = "payee") -> Payee | None:
    at = f"{prefix}." if prefix else ""
    name = check.text(raw.name, where=f"{at}name", max_len=MAX_NAME, required=True)
    account = _account(raw.account, check, where=f"{at}account")
    bic = _bic(raw.bic, check, where=f"{at}bic")
    country = check.attempt(lambda: CountryCode.parse(raw.country, where=f"{at}country"))
    address = _address(raw.address, check, at=at)
    if name is None or account is None or country is None:
        return None
    return Payee(name=name, account=account, country=country, bic=bic, address=address)


def _address(raw: AddressInput | None, check: _Check, *, at: str) -> Address | None:
    if raw is None:
        return None
    parts = {part: check.text(getattr(raw, part), where=f"{at}address.{part}", max_len=MAX_ADDRESS_PART,
                              required=False)
             for part in ("street", "building_number", "postcode", "town")}
    return Address(**parts) if any(parts.values()) else None
