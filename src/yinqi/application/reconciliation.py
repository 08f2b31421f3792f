"""Reconciliation use cases: stored statement entries against open orders, through the engine.

`reconcile_in(uow, …)` is the one step both callers share: the statement import runs it inside
its own transaction right after storing entries, and `run_reconciliation` (the `yinqi recon run`
command) runs it on demand, optionally as a dry run that commits nothing.

What is booked (ADR 0007, match groups since revision 0009):

* every automatic match (confidence at or above the threshold, no rival), whatever its strategy:
  1:1, 1:N (one line for a batch booking), N:1 (instalments), with or without a fee the bank kept.
  It becomes one match group (`recon_booking.book_group`): the fee posted, the orders settled, the
  lines and orders claimed.
* held as a suggestion for a person: an automatic match whose fee the account's available funds
  cannot cover (`NEEDS_FEE_POSTING`), and everything the engine itself only suggests.
* never touched: lines and orders an active group claims (an automatic run never overwrites a
  manual or accepted match), and lines a person took out of a group (an unmatch): those stay with
  people, in the exceptions queue (`recon_queue`, `recon_decisions`).
* a line whose end-to-end id names one of our orders that is not open (settled, rejected, still
  RELEASED) is never matched to another order on weaker evidence: it is a discrepancy.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from yinqi.application.ports import Clock
from yinqi.application.recon_booking import OPEN_STATES, book_group
from yinqi.domain.ledger.accounts import InsufficientFunds
from yinqi.domain.reconciliation.engine import match_statement
from yinqi.domain.reconciliation.groups import (
    GroupItem,
    GroupLine,
    GroupStatus,
    ReconAccountsMixed,
    ReconAmountsDiffer,
    ReconCurrencyMixed,
    plan_group,
)
from yinqi.domain.reconciliation.model import (
    Direction,
    Discrepancy,
    KeyKind,
    Match,
    MatchResult,
    OpenItem,
    Reason,
    ReasonCode,
    Rule,
    StatementLine,
)
from yinqi.domain.reconciliation.tolerance import DEFAULT_POLICY, MatchPolicy

MATCHER = "reconciliation"
PAGE = 500
MAX_OPEN_ORDERS = 200_000  # a bound on one run; more open orders than this wait for the next run
FEE_HELD = Reason(ReasonCode.NEEDS_FEE_POSTING, "the account's available funds do not cover the fee")
ACCOUNTS_HELD = Reason(ReasonCode.AMBIGUOUS, "the lines are on different accounts or do not add up")


@dataclass
class ReconciliationRun:
    dry_run: bool
    account: str | None
    entries: int = 0
    open_orders: int = 0
    booked: list[Match] = field(default_factory=list)  # settled (or, in a dry run, would be)
    suggestions: list[Match] = field(default_factory=list)
    discrepancies: list[Discrepancy] = field(default_factory=list)
    unmatched_entries: int = 0
    unmatched_orders: int = 0
    settled: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "account": self.account, "entries": self.entries,
                "open_orders": self.open_orders, "matches": [_match_dict(m) for m in self.booked],
                "suggestions": [_match_dict(m) for m in self.suggestions],
                "discrepancies": [{"entries": list(d.line_ids), "orders": list(d.item_ids), "code": d.code.value,
                                   "detail": d.detail} for d in self.discrepancies],
                "unmatched": {"entries": self.unmatched_entries, "orders": self.unmatched_orders},
                "settled_orders": self.settled}


def run_reconciliation(*, uow_factory: Callable[[], Any], clock: Clock, account: str | None = None,
                       dry_run: bool = False, policy: MatchPolicy = DEFAULT_POLICY) -> ReconciliationRun:
    """Match unmatched stored entries against open orders; settle the bookable matches.

    A dry run computes the same plan inside a transaction that is rolled back: nothing is stored.
    """
    with uow_factory() as uow:
        with uow.atomic():
            run = reconcile_in(uow, clock=clock, account=account, dry_run=dry_run, policy=policy)
        if not dry_run:
            uow.commit()
    return run


def reconcile_in(uow: Any, *, clock: Clock, account: str | None = None, dry_run: bool = False,
                 policy: MatchPolicy = DEFAULT_POLICY) -> ReconciliationRun:
    """Plan and (unless dry) book one reconciliation inside the caller's unit of work."""
    run = ReconciliationRun(dry_run=dry_run, account=account)
    entries = _unmatched_entries(uow, account)
    orders = open_orders(uow, account)
    lines, foreign = engine_lines(uow, entries, open_ids={o.id for o in orders})
    with paused_gc():
        result = match_statement(lines=lines, items=[order_item(o) for o in orders], policy=policy)
    _fill(run, result, foreign, entries=len(entries), orders=len(orders))
    if not dry_run:
        by_entry = {e.id: e for e in entries}
        by_order = {o.id: o for o in orders}
        held = [m for m in run.booked if not _book(uow, m, by_entry, by_order, clock=clock, policy=policy)]
        run.booked = [m for m in run.booked if m not in held]
        run.settled = [i for m in run.booked for i in m.item_ids]
        run.suggestions = [*(m._replace(auto=False, reasons=(*m.reasons, _why_held(m))) for m in held),
                           *run.suggestions]
    return run


def _book(uow: Any, match: Match, entries: dict[int, Any], orders: dict[str, Any], *, clock: Clock,
          policy: MatchPolicy) -> bool:
    """Book one automatic match as a group; False (nothing written) when it must wait for a person."""
    chosen = [orders[i] for i in match.item_ids]
    try:
        plan = plan_group(lines=[group_line(entries[i]) for i in match.line_ids],
                          items=[GroupItem(o.id, -o.amount.minor, o.amount.currency) for o in chosen], policy=policy)
        book_group(uow, clock=clock, plan=plan, status=GroupStatus.AUTO, actor=MATCHER, rule=stored_rule(match),
                   confidence=match.confidence, reasons=[str(r) for r in match.reasons], orders=chosen,
                   company_id=chosen[0].company_id)
    except (InsufficientFunds, ReconAccountsMixed, ReconAmountsDiffer, ReconCurrencyMixed):
        return False
    return True


def _why_held(match: Match) -> Reason:
    return FEE_HELD if match.fee_minor else ACCOUNTS_HELD


def group_line(entry: Any) -> GroupLine:
    return GroupLine(entry.id, entry.amount_minor, entry.currency, entry.account)


def stored_rule(match: Match) -> str:
    """`end_to_end_id` for an identity match by end-to-end id (as stage 1 always stored), else the rule."""
    if match.rule is Rule.IDENTITY and match.reasons and match.reasons[0].code is ReasonCode.END_TO_END_ID:
        return KeyKind.END_TO_END_ID.value
    return match.rule.value


def entry_line(entry: Any) -> StatementLine:
    """A stored entry as the engine sees it (name and booking date when the store provides them)."""
    return StatementLine(entry.id, entry.amount_minor, entry.currency, entry.status,
                         entry.booking_date, entry.value_date, tuple(entry.end_to_end_ids),
                         bank_reference=entry.bank_reference,
                         counterparty_name=entry.counterparty_name, remittance=entry.remittance)


def order_item(order: Any) -> OpenItem:
    refs = tuple(r for r in (order.serial.value, order.remittance_info) if r)
    return OpenItem(order.id, Direction.OUT, order.amount.minor, order.amount.currency,
                    order.requested_execution_date, order.end_to_end_id.value,
                    counterparty_name=order.payee.name, references=refs)


@contextmanager
def paused_gc() -> Iterator[None]:
    """The engine allocates one small acyclic tuple per line; pausing the cyclic collector for the
    run avoids repeated full scans of a large heap (about 40 % of run time at 100 k lines)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _fill(run: ReconciliationRun, result: MatchResult, foreign: list[Discrepancy], *, entries: int,
          orders: int) -> None:
    run.booked = list(result.matches)
    run.suggestions = list(result.suggestions)
    run.discrepancies = foreign + list(result.discrepancies)
    run.entries, run.open_orders = entries, orders
    run.unmatched_entries = len(result.unmatched_line_ids) + len(result.duplicate_line_ids)
    run.unmatched_orders = len(result.unmatched_item_ids)


def _unmatched_entries(uow: Any, account: str | None) -> list[Any]:
    """Booked lines no group claims, minus those a person took out of a group (they stay with people)."""
    taken_apart = uow.recon.taken_apart("entry")
    entries = [e for e in uow.recon.unclaimed_entries() if str(e.id) not in taken_apart]
    if account is None:
        return entries
    mine = {account, uow.vault.blind_index(account)}
    return [e for e in entries if e.account in mine]


def open_orders(uow: Any, account: str | None) -> list[Any]:
    found: list[Any] = []
    for state in OPEN_STATES:
        after = None
        while len(found) < MAX_OPEN_ORDERS:
            page = uow.orders.list(state=state.value, limit=PAGE, after=after)
            found.extend(page)
            if len(page) < PAGE:
                break
            after = (page[-1].created_at, page[-1].id)
    return [o for o in found if account is None or o.payer.account.number == account]


def engine_lines(uow: Any, entries: list[Any], *, open_ids: set[str]) -> tuple[list[StatementLine], list[Discrepancy]]:
    """Engine lines, minus those whose end-to-end id names one of our orders that is not open."""
    ids = sorted({i for e in entries for i in e.end_to_end_ids})
    ours = uow.bank_messages.orders_by_end_to_end_id(ids) if ids else {}
    lines: list[StatementLine] = []
    foreign: list[Discrepancy] = []
    for entry in entries:
        closed = sorted({ours[i] for i in entry.end_to_end_ids if i in ours} - open_ids)
        if closed and entry.status == "BOOK":
            states = ", ".join(f"{o} {uow.orders.get(o).state.value}" for o in closed)
            foreign.append(Discrepancy((entry.id,), tuple(closed), ReasonCode.ORDER_NOT_OPEN,
                                       f"names an order that is not open: {states}"))
            continue
        lines.append(entry_line(entry))
    return lines, foreign


def _match_dict(match: Match) -> dict[str, Any]:
    return {"entries": list(match.line_ids), "orders": list(match.item_ids), "rule": match.rule.value,
            "strategy": match.strategy.value, "confidence": match.confidence, "auto": match.auto,
            "fee_minor": match.fee_minor, "reasons": [str(r) for r in match.reasons]}
