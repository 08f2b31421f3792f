"""The reconciliation engine's vocabulary: what goes in (statement lines, open items) and what
comes out (matches with a confidence and reason codes, discrepancies, what is left unmatched).

Everything here is an immutable value. Amounts are integer minor units; a statement line is
signed as the bank books it (debit negative), an open item carries a positive amount and a
direction, so `OpenItem.signed_minor` is what the line should show: an outgoing order of 10.00
expects -1000, an expected receipt of 10.00 expects +1000. Confidence is a score in [0, 1], not
money, so it is a float rounded to four places.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple


class Direction(StrEnum):
    OUT = "out"  # a payment order we sent: the line is a debit
    IN = "in"  # an expected receipt: the line is a credit


class KeyKind(StrEnum):
    """Identity keys, most specific first: the order is the tie-break between kinds."""

    END_TO_END_ID = "end_to_end_id"
    UETR = "uetr"
    BANK_REFERENCE = "bank_reference"
    INSTRUCTION_ID = "instruction_id"


class Rule(StrEnum):
    IDENTITY = "identity"  # stage 1: exact keys
    AMOUNT_BLOCK = "amount_block"  # stages 2 and 3: amount + window, name, fuzzy remittance
    REFERENCE = "reference"  # references found in free text across amounts: 1:N, N:1, fees


class Strategy(StrEnum):
    ONE_TO_ONE = "1:1"
    ONE_TO_MANY = "1:N"  # one line books several items (a batch booking)
    MANY_TO_ONE = "N:1"  # several lines pay one item (instalments, partial payments)


class ReasonCode(StrEnum):
    END_TO_END_ID = "END_TO_END_ID"
    UETR = "UETR"
    BANK_REFERENCE = "BANK_REFERENCE"
    INSTRUCTION_ID = "INSTRUCTION_ID"
    AMOUNT_EXACT = "AMOUNT_EXACT"
    AMOUNT_SUM = "AMOUNT_SUM"  # the amounts of several lines or items add up exactly
    SUBSET_SUM = "SUBSET_SUM"  # only a unique subset of the named items adds up
    FEE_DRIFT = "FEE_DRIFT"  # the bank took a fee on the way: detail = fee in minor units
    VALUE_DATE_IN_WINDOW = "VALUE_DATE_IN_WINDOW"  # detail = days apart
    NAME_SIMILAR = "NAME_SIMILAR"  # detail = similarity
    REFERENCE_EXACT = "REFERENCE_EXACT"  # an item reference appears in the line's text
    REFERENCE_FUZZY = "REFERENCE_FUZZY"  # ... with a typo: detail = similarity
    TIE = "TIE"  # equally good candidates: a person decides; detail = the rivals
    PARTIAL = "PARTIAL"  # the line pays part of the item
    AMOUNT_DIFFERS = "AMOUNT_DIFFERS"
    CURRENCY_DIFFERS = "CURRENCY_DIFFERS"
    AMBIGUOUS = "AMBIGUOUS"  # keys tie several lines and items together with no clean split
    DUPLICATE_LINE = "DUPLICATE_LINE"  # same bank reference, amount, currency and date as another
    ORDER_NOT_OPEN = "ORDER_NOT_OPEN"  # the line's id names an order that is settled, rejected, ...
    NEEDS_FEE_POSTING = "NEEDS_FEE_POSTING"  # held: the fee must be posted with the match
    NEEDS_GROUP_STORE = "NEEDS_GROUP_STORE"  # held: a 1:N / N:1 match cannot be stored yet


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.code.value}:{self.detail}" if self.detail else self.code.value


@dataclass(frozen=True, slots=True)
class StatementLine:
    line_id: int
    amount_minor: int | None  # signed, debit negative; None when the amount does not fit the currency
    currency: str
    status: str = "BOOK"
    booking_date: date | None = None
    value_date: date | None = None
    end_to_end_ids: tuple[str, ...] = ()
    uetr: str | None = None
    bank_reference: str | None = None
    instruction_id: str | None = None
    counterparty_name: str | None = None
    remittance: str | None = None

    @property
    def date(self) -> date | None:
        return self.value_date or self.booking_date

    def keys(self) -> tuple[tuple[KeyKind, str], ...]:
        found = [(KeyKind.END_TO_END_ID, k) for k in self.end_to_end_ids]
        found += [(kind, v) for kind, v in ((KeyKind.UETR, self.uetr), (KeyKind.BANK_REFERENCE, self.bank_reference),
                                            (KeyKind.INSTRUCTION_ID, self.instruction_id)) if v]
        return tuple((kind, v) for kind, v in found if v and v.upper() != "NOTPROVIDED")


@dataclass(frozen=True, slots=True)
class OpenItem:
    item_id: str
    direction: Direction
    amount_minor: int  # positive
    currency: str
    due_date: date | None = None  # requested execution date, or the expected receipt date
    end_to_end_id: str | None = None
    uetr: str | None = None
    instruction_id: str | None = None  # e.g. the PmtInfId of the batch the order went out in
    bank_reference: str | None = None
    counterparty_name: str | None = None
    references: tuple[str, ...] = ()  # invoice numbers, order serial, remittance text

    def __post_init__(self) -> None:
        assert self.amount_minor > 0, "an open item has a positive amount and a direction"

    @property
    def signed_minor(self) -> int:
        return -self.amount_minor if self.direction is Direction.OUT else self.amount_minor

    def keys(self) -> tuple[tuple[KeyKind, str], ...]:
        pairs = ((KeyKind.END_TO_END_ID, self.end_to_end_id), (KeyKind.UETR, self.uetr),
                 (KeyKind.BANK_REFERENCE, self.bank_reference), (KeyKind.INSTRUCTION_ID, self.instruction_id))
        return tuple((kind, v) for kind, v in pairs if v and v.upper() != "NOTPROVIDED")


class Match(NamedTuple):
    """Lines and items paired, how sure the engine is and why. `auto` means book it unattended.

    A NamedTuple rather than a frozen dataclass: one is built per statement line on the hot path
    and tuple construction costs a fraction of a dataclass `__init__`. `checked_match` validates.
    """

    line_ids: tuple[int, ...]
    item_ids: tuple[str, ...]
    rule: Rule
    strategy: Strategy
    confidence: float
    reasons: tuple[Reason, ...]
    fee_minor: int = 0  # what the bank kept (drift within tolerance); 0 when amounts agree
    auto: bool = False

    @property
    def is_tie(self) -> bool:
        return any(r.code is ReasonCode.TIE for r in self.reasons)


def checked_match(line_ids: tuple[int, ...], item_ids: tuple[str, ...], rule: Rule, strategy: Strategy,
                  confidence: float, reasons: tuple[Reason, ...], fee_minor: int = 0, auto: bool = False) -> Match:
    """A `Match` after its invariants: confidence in [0, 1], at least one line and one item."""
    assert 0.0 <= confidence <= 1.0, f"confidence is in [0, 1], got {confidence}"
    assert line_ids and item_ids, "a match pairs at least one line with one item"
    assert fee_minor >= 0, "a fee is what the bank kept"
    return Match(line_ids, item_ids, rule, strategy, confidence, reasons, fee_minor, auto)


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """A line that names an item (by key) but cannot be its payment: for a person."""

    line_ids: tuple[int, ...]
    item_ids: tuple[str, ...]
    code: ReasonCode
    detail: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    matches: tuple[Match, ...]  # auto: confidence above the threshold, no rival
    suggestions: tuple[Match, ...]  # a person accepts or rejects (ties, low confidence, partials)
    discrepancies: tuple[Discrepancy, ...]
    unmatched_line_ids: tuple[int, ...]
    unmatched_item_ids: tuple[str, ...]
    duplicate_line_ids: tuple[int, ...] = field(default=())
