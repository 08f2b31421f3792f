"""A person's decisions in the reconciliation exceptions queue: accept or reject a suggestion,
match lines and orders by hand, unmatch a group, write lines off.

Each is one unit of work: the ledger effect, the orders settled, the group appended, its claims
and the audit event (`recon.match.accept`, `recon.match.reject`, `recon.match.manual`,
`recon.unmatch`, `recon.write_off`) commit together or not at all. Deciding needs
`recon.resolve` (treasurers: a person who enters payments does not also declare them paid);
reading the queue `recon.read`. Another company's line, order or group is "not found", as for
orders (no existence leak). Groups are never edited: an unmatch appends a group superseding the
one it takes apart (`recon_booking`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from yinqi.application import audit
from yinqi.application.ports import Clock
from yinqi.application.recon_booking import WRITE_OFF_ACCOUNT, book_group, book_unmatch, book_write_off
from yinqi.application.recon_queue import line_companies, list_exceptions, matchable_order, sees_line
from yinqi.application.reconciliation import group_line
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Principal
from yinqi.domain.orders.order import OrderNotFound
from yinqi.domain.reconciliation.groups import (
    Decision,
    GroupItem,
    GroupPlan,
    GroupStatus,
    MatchGroup,
    ReconAccountsMixed,
    ReconGroupNotFound,
    ReconLineClaimed,
    ReconLineNotFound,
    ReconOrderNotMatchable,
    ReconSuggestionNotFound,
    plan_group,
    plan_write_off,
    require_reason,
)
from yinqi.domain.reconciliation.tolerance import DEFAULT_POLICY, MatchPolicy

OBJECT = "recon_group"


def accept_suggestion(*, uow: Any, clock: Clock, principal: Principal, suggestion_id: str, home_company: str,
                      reason: str = "", policy: MatchPolicy = DEFAULT_POLICY) -> MatchGroup:
    """Book what the engine suggests, as the engine sees it now.

    Raises:
        Forbidden (FORBIDDEN), ReconSuggestionNotFound (RECON_SUGGESTION_NOT_FOUND): no longer
        proposed (decided meanwhile, or the data changed), ReconAmountsDiffer (RECON_AMOUNTS_DIFFER):
        the suggestion is a tie or a partial whose amounts do not add up (match the right lines by
        hand), INSUFFICIENT_FUNDS: the fee is not covered.
    """
    require(principal, Permission.RECON_RESOLVE)
    match = _suggested(uow, principal, suggestion_id, home_company, policy)
    with uow.atomic():
        plan, orders = _plan(uow, principal, match.line_ids, match.item_ids, home_company, policy)
        group = book_group(uow, clock=clock, plan=plan, status=GroupStatus.ACCEPTED, actor=principal.actor_id,
                           rule=match.rule.value, confidence=match.confidence,
                           reasons=[str(r) for r in match.reasons], orders=orders, reason=reason.strip(),
                           company_id=orders[0].company_id)
        _audit(uow, principal, Decision.ACCEPT, group, extra={"suggestion_id": suggestion_id})
    uow.commit()
    return group


def reject_suggestion(*, uow: Any, clock: Clock, principal: Principal, suggestion_id: str, home_company: str,
                      reason: str = "", policy: MatchPolicy = DEFAULT_POLICY) -> MatchGroup:
    """Record that these lines and orders do not belong together: the engine's suggestion is not
    shown again, and the lines and orders stay in the queue.

    Raises:
        Forbidden (FORBIDDEN), ReconSuggestionNotFound (RECON_SUGGESTION_NOT_FOUND).
    """
    require(principal, Permission.RECON_RESOLVE)
    match = _suggested(uow, principal, suggestion_id, home_company, policy)
    entries = {e.id: e for e in uow.recon.entries(match.line_ids)}
    orders = [uow.orders.get(i) for i in match.item_ids]
    plan = GroupPlan(lines=tuple((i, entries[i].amount_minor or 0) for i in match.line_ids),
                     items=tuple((o.id, -o.amount.minor) for o in orders), strategy=match.strategy.value,
                     currency=entries[match.line_ids[0]].currency, account=entries[match.line_ids[0]].account,
                     fee_minor=match.fee_minor)
    group = MatchGroup(id=str(uuid.uuid4()),
                       status=GroupStatus.REJECTED, rule=match.rule.value, strategy=plan.strategy,
                       confidence=f"{match.confidence:.4f}", reasons=tuple(str(r) for r in match.reasons),
                       currency=plan.currency, account=plan.account, fee_minor=plan.fee_minor, ledger_seq=None,
                       write_off_account=None, supersedes=None, reason=reason.strip(),
                       company_id=orders[0].company_id, created_at=clock.now(), created_by=principal.actor_id,
                       entries=plan.lines, orders=plan.items)
    uow.recon.add_group(group)
    _audit(uow, principal, Decision.REJECT, group, extra={"suggestion_id": suggestion_id})
    uow.commit()
    return group


def match_manually(*, uow: Any, clock: Clock, principal: Principal, entry_ids: Sequence[int],
                   order_ids: Sequence[str], home_company: str, reason: str = "",
                   policy: MatchPolicy = DEFAULT_POLICY) -> MatchGroup:
    """Put lines and orders together (1:1, 1:N, N:1 or M:N); open orders settle, a fee is posted.

    Raises:
        Forbidden (FORBIDDEN), ReconMatchEmpty (RECON_MATCH_EMPTY), ReconLineNotFound
        (RECON_LINE_NOT_FOUND), ORDER_NOT_FOUND, ReconLineClaimed (RECON_LINE_CLAIMED),
        ReconOrderNotMatchable (RECON_ORDER_NOT_MATCHABLE), ReconCurrencyMixed / ReconAccountsMixed /
        ReconAmountsDiffer (RECON_CURRENCY_MIXED, RECON_ACCOUNTS_MIXED, RECON_AMOUNTS_DIFFER),
        INSUFFICIENT_FUNDS: the fee is not covered.
    """
    require(principal, Permission.RECON_RESOLVE)
    with uow.atomic():
        plan, orders = _plan(uow, principal, tuple(entry_ids), tuple(order_ids), home_company, policy)
        group = book_group(uow, clock=clock, plan=plan, status=GroupStatus.MANUAL, actor=principal.actor_id,
                           rule="manual", confidence=1.0, reasons=["MANUAL"], orders=orders, reason=reason.strip(),
                           company_id=orders[0].company_id)
        _audit(uow, principal, Decision.MANUAL, group)
    uow.commit()
    return group


def unmatch(*, uow: Any, clock: Clock, principal: Principal, group_id: str, reason: str,
            home_company: str) -> MatchGroup:
    """Take an active group apart: its lines and orders return to the queue, its fee or write-off
    is reversed; orders it settled stay SETTLED and wait for their real line.

    Raises:
        Forbidden (FORBIDDEN), ReconReasonRequired (RECON_REASON_REQUIRED), ReconGroupNotFound
        (RECON_GROUP_NOT_FOUND, also another company's), ReconGroupNotActive (RECON_GROUP_NOT_ACTIVE).
    """
    require(principal, Permission.RECON_RESOLVE)
    text = require_reason(reason)
    group = uow.recon.get(group_id)
    if group is None or not sees_line(principal, (group.company_id or home_company,)):
        raise ReconGroupNotFound(f"match group {group_id} does not exist", where="group_id", rule="exists",
                                 value=group_id)
    with uow.atomic():
        undone = book_unmatch(uow, clock=clock, group=group, actor=principal.actor_id, reason=text)
        _audit(uow, principal, Decision.UNMATCH, undone, before={"group_id": group.id, "status": group.status.value})
    uow.commit()
    return undone


def write_off(*, uow: Any, clock: Clock, principal: Principal, entry_ids: Sequence[int], reason: str,
              home_company: str, account_base: str = WRITE_OFF_ACCOUNT) -> MatchGroup:
    """Book unmatched lines against the configured write-off account, with a mandatory reason.

    Raises:
        Forbidden (FORBIDDEN), ReconReasonRequired (RECON_REASON_REQUIRED), ReconLineNotFound,
        ReconLineClaimed, ReconCurrencyMixed, ReconAccountsMixed, INSUFFICIENT_FUNDS.
    """
    require(principal, Permission.RECON_RESOLVE)
    text = require_reason(reason)
    with uow.atomic():
        entries = _free_entries(uow, principal, tuple(entry_ids), home_company)
        plan = plan_write_off(lines=[group_line(e) for e in entries], reason=text)
        company = line_companies(uow, entries, home_company)[entries[0].id]
        group = book_write_off(uow, clock=clock, plan=plan, actor=principal.actor_id, reason=text,
                               company_id=company[0] if len(company) == 1 else None, account_base=account_base)
        _audit(uow, principal, Decision.WRITE_OFF, group)
    uow.commit()
    return group


def _suggested(uow: Any, principal: Principal, sid: str, home_company: str, policy: MatchPolicy) -> Any:
    found = list_exceptions(uow=uow, principal=principal, home_company=home_company, policy=policy).suggestion(sid)
    if found is None:
        raise ReconSuggestionNotFound(f"suggestion {sid} is not proposed (any more)", where="suggestion_id",
                                      rule="proposed_now", value=sid)
    return found.match


def _plan(uow: Any, principal: Principal, entry_ids: tuple[int, ...], order_ids: tuple[str, ...],
          home_company: str, policy: MatchPolicy) -> tuple[GroupPlan, list[Any]]:
    entries = _free_entries(uow, principal, entry_ids, home_company) if entry_ids else []
    orders = [_free_order(uow, principal, i) for i in order_ids]
    if len({o.company_id for o in orders}) > 1:
        raise ReconAccountsMixed("the orders of a group belong to one company", where="order_ids",
                                 rule="one_company", value=len({o.company_id for o in orders}))
    plan = plan_group(lines=[group_line(e) for e in entries],
                      items=[GroupItem(o.id, -o.amount.minor, o.amount.currency) for o in orders], policy=policy)
    return plan, orders


def _free_entries(uow: Any, principal: Principal, ids: tuple[int, ...], home_company: str) -> list[Any]:
    """The lines, each booked, visible to the principal and in no active group."""
    found = {e.id: e for e in uow.recon.entries(ids)}
    companies = line_companies(uow, list(found.values()), home_company)
    for i in ids:
        if i not in found or found[i].status != "BOOK" or not sees_line(principal, companies[i]):
            raise ReconLineNotFound(f"statement line {i} does not exist or is not booked", where="entry_ids",
                                    rule="booked_line_exists", value=i)
    claimed = uow.recon.claims("entry", [str(i) for i in ids])
    if claimed:
        first = min(claimed)
        raise ReconLineClaimed(f"statement line {first} is in match group {claimed[first]}: unmatch it first",
                               where="entry_ids", rule="unclaimed", value=first)
    return [found[i] for i in ids]


def _free_order(uow: Any, principal: Principal, order_id: str) -> Any:
    order = uow.orders.get(order_id, for_update=True)
    if not principal.can_see_company(order.company_id):
        raise OrderNotFound(f"payment order {order_id} does not exist", where="order_ids", rule="exists",
                            value=order_id)
    claimed = uow.recon.claims("order", [order_id])
    if claimed:
        raise ReconLineClaimed(f"payment order {order_id} is in match group {claimed[order_id]}: unmatch it first",
                               where="order_ids", rule="unclaimed", value=order_id)
    if not matchable_order(uow, order):
        raise ReconOrderNotMatchable(f"payment order {order_id} is {order.state.value}: only SENT or ACCEPTED "
                                     "orders (or settled ones whose match was taken apart) can be matched",
                                     where="order_ids", rule="order_open", value=order_id)
    return order


def _audit(uow: Any, principal: Principal, decision: Decision, group: MatchGroup, *,
           before: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> None:
    audit.record(uow, principal=principal, action=decision.value, object_type=OBJECT, object_id=group.id,
                 at=group.created_at, reason=group.reason, company_id=group.company_id, before=before,
                 after={"status": group.status.value, "strategy": group.strategy,
                        "entries": [i for i, _ in group.entries], "orders": [i for i, _ in group.orders],
                        "fee_minor": group.fee_minor,
                        "ledger_seq": group.ledger_seq, "write_off_account": group.write_off_account,
                        "confidence": group.confidence, "supersedes": group.supersedes, **(extra or {})})


__all__ = ["OBJECT", "accept_suggestion", "match_manually", "reject_suggestion", "unmatch", "write_off"]
