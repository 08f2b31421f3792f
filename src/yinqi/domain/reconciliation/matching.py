"""Stage 1 only, in the shape of the first release: `match_exact` over entry and order views.

Kept for callers that want exact-key matching alone; it runs the engine's identity pass
(`stages.match_identity`), so it agrees with `engine.match_statement` on every exact key match.
A fee-drift pair, a partial or a tie is not "exact": it comes back as a discrepancy for a person.
New code uses `engine.match_statement` (all three passes, confidence and reasons).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from yinqi.domain.reconciliation.model import Direction, OpenItem, StatementLine
from yinqi.domain.reconciliation.pool import Pool
from yinqi.domain.reconciliation.stages import match_identity
from yinqi.domain.reconciliation.tolerance import MatchPolicy

_EXACT_ONLY = MatchPolicy(fee_max_minor=0)


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

    Each entry and each order is used at most once; two entries that both fit one order are a
    tie for a person (a discrepancy each), never "the first one wins".
    """
    lines = [StatementLine(e.entry_id, e.amount_minor, e.currency, e.status, end_to_end_ids=e.end_to_end_ids)
             for e in entries if e.status == "BOOK"]
    items = [OpenItem(o.order_id, Direction.OUT, o.amount_minor, o.currency, end_to_end_id=o.end_to_end_id)
             for o in orders]
    pool = Pool(lines, items, _EXACT_ONLY)
    match_identity(pool)
    result = pool.result()
    matches = [Match(m.line_ids[0], m.item_ids[0], MatchRule.END_TO_END_ID, "1.00")
               for m in result.matches if len(m.line_ids) == len(m.item_ids) == 1]
    problems = [Discrepancy(line_id, item_id, _words(str(d.code), d.detail))
                for d in result.discrepancies for line_id in d.line_ids for item_id in d.item_ids[:1]]
    problems += [Discrepancy(line_id, s.item_ids[0], ("tie: " if s.is_tie else "amount differs: ")
                             + "; ".join(map(str, s.reasons)))
                 for s in result.suggestions for line_id in s.line_ids]
    return matches, sorted(problems, key=lambda p: (p.entry_id, p.order_id))


def _words(code: str, detail: str) -> str:
    label = {"CURRENCY_DIFFERS": "currency differs", "AMOUNT_DIFFERS": "amount differs"}.get(code, code.lower())
    return f"{label}: {detail}"
