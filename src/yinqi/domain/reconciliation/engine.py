"""The explainable matching engine: statement lines against open items, in three passes.

Guarantees: pure (no I/O, no clock); each line and each item used at most once; the same input
gives the same result whatever order it comes in (inputs are sorted by id, ties broken by id);
every match carries a confidence in [0, 1] and the reason codes that produced it; a real tie is
never booked, it goes to a person; cost is linear in lines plus items (hash maps per key, per
(currency, amount) block and per reference token), never lines × items.

>>> from yinqi.domain.reconciliation.model import Direction, OpenItem, StatementLine
>>> result = match_statement(lines=[StatementLine(1, -1000, "EUR", end_to_end_ids=("E2E-1",))],
...                          items=[OpenItem("o1", Direction.OUT, 1000, "EUR", end_to_end_id="E2E-1")])
>>> [(m.line_ids, m.item_ids, m.rule.value, m.confidence, m.auto) for m in result.matches]
[((1,), ('o1',), 'identity', 1.0, True)]
"""

from __future__ import annotations

from collections.abc import Iterable

from yinqi.domain.reconciliation.model import MatchResult, OpenItem, StatementLine
from yinqi.domain.reconciliation.pool import Pool
from yinqi.domain.reconciliation.stages import match_amount_block, match_identity, match_references
from yinqi.domain.reconciliation.tolerance import DEFAULT_POLICY, MatchPolicy


def match_statement(*, lines: Iterable[StatementLine], items: Iterable[OpenItem],
                    policy: MatchPolicy = DEFAULT_POLICY) -> MatchResult:
    """Match booked statement lines to open items: identity keys, amount block, references."""
    pool = Pool(lines, items, policy)
    match_identity(pool)
    match_amount_block(pool)
    match_references(pool)
    return pool.result()
