"""Statement-level checks: does a statement follow the one before it, add up, and agree with the ledger?

A bank statement is a link in a chain. Its opening balance is the previous closing balance, its
sequence number is the previous one plus one, its booked entries take the opening to the closing,
and its closing balance is what our ledger says the account holds. A break in any of these means
money or a statement went missing on one side; a person has to look. The checks only flag: real
files do not always add up, and the hub keeps what the bank sent as the bank sent it (never
"fixed", never refused). Whatever a statement does not carry (no sequence number, no opening
balance, no ledger account for it) is a check that cannot run, not a break.

Amounts are integer minor units (`Money`). A bank amount that does not fit its currency's exponent,
or an entry in another currency, makes the arithmetic checks that need it not run (`skipped`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from yinqi.domain.bank_messages import BalanceAmount, Statement
from yinqi.domain.currency import Currency, UnknownCurrency
from yinqi.domain.money import AmountInvalid, Money


class BreakCode(StrEnum):
    OPENING_MISMATCH = "OPENING_MISMATCH"  # opening ≠ previous closing; amount = opening − previous closing
    SEQUENCE_GAP = "SEQUENCE_GAP"  # sequence number is not the previous one + 1; no amount
    ENTRIES_DO_NOT_ADD_UP = "ENTRIES_DO_NOT_ADD_UP"  # amount = closing − (opening + Σ booked entries)
    LEDGER_MISMATCH = "LEDGER_MISMATCH"  # amount = bank closing − ledger balance


@dataclass(frozen=True, slots=True)
class Sequence:
    """A statement number, and the page within it (MT940 `:28C: 00042/002`; camt has no page)."""

    number: int
    page: int | None = None

    def __str__(self) -> str:
        return str(self.number) if self.page is None else f"{self.number}/{self.page}"


_SEQUENCE = re.compile(r"\s*0*(\d{1,18})\s*(?:/\s*0*(\d{1,9}))?\s*")


def parse_sequence(text: str | None) -> Sequence | None:
    """`"42"`, `"00042/002"` → a Sequence; anything else (absent, letters) → None: cannot check."""
    m = _SEQUENCE.fullmatch(text or "")
    if not m:
        return None
    return Sequence(int(m.group(1)), int(m.group(2)) if m.group(2) else None)


@dataclass(frozen=True, slots=True)
class Balance:
    amount: Money
    on: date | None = None


@dataclass(frozen=True, slots=True)
class StatementFacts:
    """What the checks read from one statement; None where the statement does not say."""

    statement_id: str
    sequence: Sequence | None
    opening: Balance | None
    closing: Balance | None
    booked_total: Money | None  # Σ booked entries in the closing currency; None: cannot be summed exactly


@dataclass(frozen=True, slots=True)
class Break:
    code: BreakCode
    amount: Money | None  # the difference; None for a sequence gap
    expected: str
    actual: str


@dataclass(frozen=True, slots=True)
class Checks:
    breaks: tuple[Break, ...]
    skipped: tuple[str, ...]  # "<CODE>: why it could not run"

    @property
    def ok(self) -> bool:
        return not self.breaks


def to_money(amount: Decimal, currency: str) -> Money | None:
    """Minor units when `amount` fits the currency's exponent exactly; None otherwise (flag, never round)."""
    try:
        exponent = Currency.of(currency).exponent
    except UnknownCurrency:
        return None
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        return None
    try:
        return Money(int(scaled), currency)
    except AmountInvalid:  # more digits than any ledger amount holds
        return None


def _balance(b: BalanceAmount | None) -> Balance | None:
    money = to_money(b.amount, b.currency) if b is not None else None
    return Balance(money, b.date) if b is not None and money is not None else None


def facts_of(statement: Statement) -> StatementFacts:
    closing = _balance(statement.closing_balance)
    total: Money | None = None
    if closing is not None:
        total = Money.zero(closing.amount.currency)
        for e in statement.entries:
            if e.status != "BOOK":
                continue
            money = to_money(e.amount, e.currency) if e.currency == total.currency else None
            if money is None:
                total = None
                break
            try:
                total += money
            except AmountInvalid:
                total = None
                break
    return StatementFacts(statement_id=statement.id, sequence=parse_sequence(statement.sequence_number),
                          opening=_balance(statement.opening_balance), closing=closing, booked_total=total)


def check_statement(current: StatementFacts, *, previous: StatementFacts | None, ledger: Money | None) -> Checks:
    """The breaks of `current` against the statement before it and the ledger balance mirroring it.

    `previous` is the stored statement of the same account that comes before this one (None: the
    first one seen); `ledger` the balance of the ledger accounts that mirror the bank account (None:
    the account is not in the ledger, or this is not the newest statement, so the two cannot be
    compared).
    """
    breaks: list[Break] = []
    skipped: list[str] = []
    _opening(current, previous, breaks, skipped)
    _sequence(current, previous, breaks, skipped)
    _adds_up(current, breaks, skipped)
    _ledger(current, ledger, breaks, skipped)
    return Checks(tuple(breaks), tuple(skipped))


def _opening(cur: StatementFacts, prev: StatementFacts | None, breaks: list[Break], skipped: list[str]) -> None:
    code = BreakCode.OPENING_MISMATCH
    if prev is None or prev.closing is None:
        skipped.append(f"{code}: no previous closing balance")
    elif cur.opening is None:
        skipped.append(f"{code}: no opening balance")
    elif cur.opening.amount.currency != prev.closing.amount.currency:
        skipped.append(f"{code}: currency changed ({prev.closing.amount.currency} → {cur.opening.amount.currency})")
    elif cur.opening.amount != prev.closing.amount:
        breaks.append(Break(code, cur.opening.amount - prev.closing.amount,
                            expected=f"{prev.closing.amount} (closing of {prev.statement_id})",
                            actual=str(cur.opening.amount)))


def _sequence(cur: StatementFacts, prev: StatementFacts | None, breaks: list[Break], skipped: list[str]) -> None:
    code = BreakCode.SEQUENCE_GAP
    if cur.sequence is None or prev is None or prev.sequence is None:
        skipped.append(f"{code}: no sequence number on this or the previous statement")
        return
    p, c = prev.sequence, cur.sequence
    next_page = p.page is not None and c.page is not None and c.number == p.number and c.page == p.page + 1
    if c.number == p.number + 1 or next_page:
        return
    breaks.append(Break(code, None, expected=str(p.number + 1), actual=str(c)))


def _adds_up(cur: StatementFacts, breaks: list[Break], skipped: list[str]) -> None:
    code = BreakCode.ENTRIES_DO_NOT_ADD_UP
    if cur.opening is None or cur.closing is None or cur.booked_total is None:
        skipped.append(f"{code}: no opening or closing balance, or entries that cannot be summed exactly")
    elif cur.opening.amount.currency != cur.closing.amount.currency:
        skipped.append(f"{code}: opening and closing in different currencies")
    else:
        expected = cur.opening.amount + cur.booked_total
        if expected != cur.closing.amount:
            breaks.append(Break(code, cur.closing.amount - expected,
                                expected=f"{expected} (opening {cur.opening.amount} + booked {cur.booked_total})",
                                actual=str(cur.closing.amount)))


def _ledger(cur: StatementFacts, ledger: Money | None, breaks: list[Break], skipped: list[str]) -> None:
    code = BreakCode.LEDGER_MISMATCH
    if ledger is None or cur.closing is None:
        skipped.append(f"{code}: no ledger balance to compare, or no closing balance")
    elif ledger.currency != cur.closing.amount.currency:
        skipped.append(f"{code}: ledger in {ledger.currency}, statement in {cur.closing.amount.currency}")
    elif ledger != cur.closing.amount:
        breaks.append(Break(code, cur.closing.amount - ledger, expected=f"{ledger} (ledger)",
                            actual=str(cur.closing.amount)))
