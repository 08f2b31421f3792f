"""Matching statement entries to payment orders: stage 1, exact keys.

A booked debit entry matches an order when it carries the order's end-to-end id AND the amount
and currency agree. An id match with a different amount is not a match: it is an exception for a
person (a fee taken on the way, a partial booking), never silently settled. The fuller engine
(amount windows, fuzzy remittance, 1:N) extends this module in the reconciliation issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MatchRule(StrEnum):
    END_TO_END_ID = "end_to_end_id"


@dataclass(frozen=True, slots=True)
class EntryView:
    entry_id: int
    amount_minor: int | None  # signed: debit negative
    currency: str
    status: str
    end_to_end_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OrderView:
    order_id: str
    end_to_end_id: str
    amount_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class Match:
    entry_id: int
    order_id: str
    rule: MatchRule
    confidence: str  # decimal string in [0, 1]


@dataclass(frozen=True, slots=True)
class Discrepancy:
    entry_id: int
    order_id: str
    reason: str


def match_exact(entries: list[EntryView], orders: list[OrderView]) -> tuple[list[Match], list[Discrepancy]]:
    """Pair each booked debit with the open order its end-to-end id names, if amounts agree.

    Each entry and each order is used at most once; the first entry (in the order given) wins.
    """
    by_e2e = {o.end_to_end_id: o for o in orders}
    used: set[str] = set()
    matches: list[Match] = []
    problems: list[Discrepancy] = []
    for entry in entries:
        if entry.status != "BOOK":
            continue
        for e2e in entry.end_to_end_ids:
            order = by_e2e.get(e2e)
            if order is None or order.order_id in used:
                continue
            verdict = _compare(entry, order)
            if verdict is None:
                matches.append(Match(entry.entry_id, order.order_id, MatchRule.END_TO_END_ID, "1.00"))
                used.add(order.order_id)
            else:
                problems.append(Discrepancy(entry.entry_id, order.order_id, verdict))
            break
    return matches, problems


def _compare(entry: EntryView, order: OrderView) -> str | None:
    if entry.currency != order.currency:
        return f"currency {entry.currency} differs from the order's {order.currency}"
    if entry.amount_minor is None:
        return "amount has more decimals than the currency allows"
    if entry.amount_minor != -order.amount_minor:
        return f"amount {entry.amount_minor} differs from the order's debit of {-order.amount_minor}"
    return None
