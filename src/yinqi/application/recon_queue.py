"""The reconciliation exceptions queue: what a person has to look at, and why.

* lines: booked statement lines no active match group claims, each with the reason it is here (a
  discrepancy the engine found, the suggestion it sits in, or no candidate at all);
* items: open orders (SENT / ACCEPTED) no line pays yet, and settled orders whose match a person
  took apart (they wait for their real line);
* suggestions: what the engine proposes for those lines and items, with confidence and reasons,
  minus what a person already rejected. They are computed when the queue is read, not stored: the
  engine is deterministic over the same inputs, and a stored suggestion would go stale as soon as
  a statement or an order arrives. Their id (`suggestion_id`) names the lines and items, so
  accepting one is checked against the engine's current opinion;
* groups: the active match groups, newest first (to unmatch one).

Company separation as for orders: a principal sees the orders of its companies and the lines of
the bank accounts those companies pay from (a line of an account no order names yet belongs to
`home_company`, the hub's configured company).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yinqi.application import reconciliation as run_cases
from yinqi.application.recon_booking import OPEN_STATES
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Principal
from yinqi.domain.money import Money
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.reconciliation.engine import match_statement
from yinqi.domain.reconciliation.groups import MatchGroup, suggestion_id
from yinqi.domain.reconciliation.model import Match
from yinqi.domain.reconciliation.tolerance import DEFAULT_POLICY, MatchPolicy

NO_CANDIDATE = "NO_CANDIDATE"


@dataclass(frozen=True, slots=True)
class QueueLine:
    entry: Any  # recon_store.QueueEntry
    reasons: tuple[str, ...]
    company_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QueueItem:
    order: Any  # PaymentOrder
    reason: str  # "open": no line pays it yet; "settled": its match was taken apart


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: str
    match: Match

    def as_dict(self) -> dict[str, Any]:
        m = self.match
        return {"id": self.id, "entry_ids": list(m.line_ids), "order_ids": list(m.item_ids), "rule": m.rule.value,
                "strategy": m.strategy.value, "confidence": m.confidence, "auto": m.auto, "fee_minor": m.fee_minor,
                "reasons": [str(r) for r in m.reasons]}


@dataclass
class ExceptionQueue:
    lines: list[QueueLine] = field(default_factory=list)
    items: list[QueueItem] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    groups: list[MatchGroup] = field(default_factory=list)

    def suggestion(self, sid: str) -> Suggestion | None:
        return next((s for s in self.suggestions if s.id == sid), None)


def list_exceptions(*, uow: Any, principal: Principal, home_company: str, policy: MatchPolicy = DEFAULT_POLICY,
                    groups_limit: int = 50) -> ExceptionQueue:
    """Raises:
        Forbidden (FORBIDDEN): no `recon.read`.
    """
    require(principal, Permission.RECON_READ)
    entries = uow.recon.unclaimed_entries()
    companies = uow.recon.account_companies({e.account for e in entries})
    visible = [e for e in entries if _sees(principal, companies.get(e.account), home_company)]
    orders = [o for o in run_cases.open_orders(uow, None) if principal.can_see_company(o.company_id)]
    lines, foreign = run_cases.engine_lines(uow, visible, open_ids={o.id for o in orders})
    with run_cases.paused_gc():
        result = match_statement(lines=lines, items=[run_cases.order_item(o) for o in orders], policy=policy)
    rejected = uow.recon.rejected()
    suggestions = [Suggestion(suggestion_id(m.line_ids, m.item_ids), m)
                   for m in (*result.matches, *result.suggestions)
                   if (tuple(sorted(m.line_ids)), tuple(sorted(m.item_ids))) not in rejected]
    reasons = _line_reasons(suggestions, [*foreign, *result.discrepancies], result.duplicate_line_ids)
    queue = ExceptionQueue(suggestions=suggestions)
    queue.lines = [QueueLine(e, tuple(reasons.get(e.id, [NO_CANDIDATE])),
                             tuple(sorted(companies.get(e.account) or {home_company}))) for e in visible]
    suggested = {i for s in suggestions for i in s.match.item_ids}
    queue.items = [QueueItem(o, "suggested" if o.id in suggested else "open") for o in orders]
    queue.items += [QueueItem(o, "settled") for o in _taken_apart_orders(uow, principal)]
    queue.groups = [g for g in uow.recon.active_groups(limit=groups_limit)
                    if _sees(principal, {g.company_id} if g.company_id else companies.get(g.account or ""),
                             home_company)]
    return queue


def queue_dict(queue: ExceptionQueue) -> dict[str, Any]:
    """The queue as JSON-ready data (API, CLI --json, console): amounts as decimal strings."""
    return {"lines": [line_dict(x) for x in queue.lines], "items": [item_dict(x) for x in queue.items],
            "suggestions": [s.as_dict() for s in queue.suggestions], "groups": [group_dict(g) for g in queue.groups]}


def line_dict(line: QueueLine) -> dict[str, Any]:
    e = line.entry
    return {"entry_id": e.id, "statement_id": e.statement_id, "amount": e.amount, "amount_minor": e.amount_minor,
            "currency": e.currency, "booking_date": _iso(e.booking_date), "value_date": _iso(e.value_date),
            "bank_reference": e.bank_reference, "end_to_end_ids": list(e.end_to_end_ids),
            "counterparty_name": e.counterparty_name, "remittance": e.remittance, "reasons": list(line.reasons),
            "company_ids": list(line.company_ids)}


def item_dict(item: QueueItem) -> dict[str, Any]:
    o = item.order
    return {"order_id": o.id, "company_id": o.company_id, "serial": o.serial.value, "state": o.state.value,
            "amount": o.amount.format(), "currency": o.amount.currency, "amount_minor": o.amount.minor,
            "end_to_end_id": o.end_to_end_id.value, "payee_name": o.payee.name,
            "requested_execution_date": o.requested_execution_date.isoformat(), "reason": item.reason}


def group_dict(g: MatchGroup) -> dict[str, Any]:
    return {"group_id": g.id, "status": g.status.value, "rule": g.rule, "strategy": g.strategy,
            "confidence": g.confidence, "reasons": list(g.reasons), "currency": g.currency,
            "fee": Money(g.fee_minor, g.currency).format(), "entries": [{"entry_id": i, "amount_minor": a}
                                                                       for i, a in g.entries],
            "orders": [{"order_id": i, "amount_minor": a} for i, a in g.orders], "ledger_seq": g.ledger_seq,
            "write_off_account": g.write_off_account, "supersedes": g.supersedes, "reason": g.reason,
            "company_id": g.company_id, "created_at": g.created_at.isoformat(), "created_by": g.created_by,
            "active": g.active}


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def line_companies(uow: Any, entries: list[Any], home_company: str) -> dict[int, tuple[str, ...]]:
    """Entry id → the companies it belongs to (by its bank account; `home_company` when no order names it)."""
    companies = uow.recon.account_companies({e.account for e in entries})
    return {e.id: tuple(sorted(companies.get(e.account) or {home_company})) for e in entries}


def sees_line(principal: Principal, company_ids: tuple[str, ...]) -> bool:
    return any(principal.can_see_company(c) for c in company_ids)


def _sees(principal: Principal, companies: set[str] | None, home_company: str) -> bool:
    return sees_line(principal, tuple(companies or {home_company}))


def _taken_apart_orders(uow: Any, principal: Principal) -> list[Any]:
    ids = sorted(uow.recon.taken_apart("order"))
    found = [uow.orders.get(i) for i in ids]
    return [o for o in found if o.state is OrderState.SETTLED and principal.can_see_company(o.company_id)]


def _line_reasons(suggestions: list[Suggestion], discrepancies: list[Any],
                  duplicates: tuple[int, ...]) -> dict[int, list[str]]:
    reasons: dict[int, list[str]] = {}
    for d in discrepancies:
        for line_id in d.line_ids:
            reasons.setdefault(line_id, []).append(f"{d.code.value}: {d.detail}")
    for s in suggestions:
        for line_id in s.match.line_ids:
            reasons.setdefault(line_id, []).append(f"SUGGESTED {s.id} ({s.match.confidence:.2f})")
    for line_id in duplicates:
        reasons.setdefault(line_id, []).append("DUPLICATE_LINE")
    return reasons


def matchable_order(uow: Any, order: Any) -> bool:
    """Open, or settled with its match taken apart (claimed again without settling twice)."""
    if order.state in OPEN_STATES:
        return True
    return order.state is OrderState.SETTLED and order.id in uow.recon.taken_apart("order")


__all__ = ["NO_CANDIDATE", "ExceptionQueue", "QueueItem", "QueueLine", "Suggestion", "group_dict", "item_dict",
           "line_companies", "line_dict", "list_exceptions", "matchable_order", "queue_dict", "sees_line"]
