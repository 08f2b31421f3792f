"""What waits for an approver, and where one order's approvals stand.

`approval_queue` lists the orders pending approval in the principal's companies whose current
step the principal may fill now (or after a fresh TOTP code): the workflow's own `refusal` decides,
so the queue never offers an approval the use case would refuse for another reason. Each item
carries what the approver needs to decide: amount, payee with the account masked, the holds and
their reasons, the maker and the order's age. `approval_status` is the order page's card: every
step, who filled it when (with their step-up time), what is pending, and approvals of earlier
plans that an amendment invalidated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from yinqi.application.approval_policy import describe, keyed_digest
from yinqi.domain.approval.plan import ApprovalPlan
from yinqi.domain.approval.workflow import Approval, current_step, refusal
from yinqi.domain.identity.permissions import Permission, allowed, require
from yinqi.domain.identity.principal import Principal, StepUpRequired
from yinqi.domain.money import Money
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.orders.order import PaymentOrder

__all__ = ["QueueItem", "approval_queue", "approval_status"]

QUEUE_SCAN_MAX = 500


@dataclass(frozen=True, slots=True)
class QueueItem:
    order: PaymentOrder
    plan: ApprovalPlan
    step: int
    approvals: tuple[Approval, ...]
    needs_step_up: bool
    age_seconds: int

    def as_dict(self) -> dict[str, Any]:
        o, step = self.order, self.plan.steps[self.step]
        return {"order_id": o.id, "serial": o.serial.value, "company_id": o.company_id,
                "amount": o.amount.format(), "currency": o.amount.currency,
                "payee": {"name": o.payee.name, "account": o.payee.account.masked, "country": o.payee.country.value},
                "requested_execution_date": o.requested_execution_date.isoformat(), "urgency": o.urgency.value,
                "maker": o.created_by, "created_at": o.created_at.isoformat(), "age_seconds": self.age_seconds,
                "step": self.step + 1, "steps": len(self.plan.steps), "step_needs": describe(step),
                "roles": sorted(step.roles), "expires_at": _iso(self.plan.expires_at),
                "holds": [{"code": s.source.removeprefix("hold "), "reason": s.reason}
                          for s in self.plan.steps if s.source.startswith("hold ")],
                "reporting_amount": _reporting(self.plan), "needs_step_up": self.needs_step_up}


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _reporting(plan: ApprovalPlan) -> str | None:
    return None if plan.reporting_minor is None else str(Money(plan.reporting_minor, plan.reporting_currency))


def approval_queue(*, uow: Any, principal: Principal, now: datetime, limit: int = 200) -> list[QueueItem]:
    """Oldest first. Raises Forbidden (FORBIDDEN) without `order.approve`."""
    require(principal, Permission.ORDER_APPROVE)
    pending = [o for o in uow.orders.list(state=OrderState.PENDING_APPROVAL.value, limit=QUEUE_SCAN_MAX)
               if principal.can_see_company(o.company_id)]
    plans = uow.approvals.current_plans([o.id for o in pending])
    given = uow.approvals.approvals_for({oid: p.plan_seq for oid, p in plans.items()})
    items = []
    for order in sorted(pending, key=lambda o: (o.created_at, o.id)):
        stored = plans.get(order.id)
        if stored is None:
            continue  # planned on its first approval (orders from before plans were stored)
        item = _item(uow, order, stored.plan, tuple(given.get(order.id, [])), principal, now)
        if item is not None:
            items.append(item)
    return items[:limit]


def _item(uow: Any, order: PaymentOrder, plan: ApprovalPlan, approvals: tuple[Approval, ...], principal: Principal,
          now: datetime) -> QueueItem | None:
    step = current_step(plan, approvals)
    if step is None:
        return None
    error = refusal(plan=plan, approvals=approvals, order=order, principal=principal, now=now,
                    digest=keyed_digest(uow, order))
    if error is not None and not isinstance(error, StepUpRequired):
        return None
    return QueueItem(order=order, plan=plan, step=step, approvals=approvals, needs_step_up=error is not None,
                     age_seconds=max(0, int((now - order.created_at).total_seconds())))


def approval_status(*, uow: Any, principal: Principal, order: PaymentOrder, now: datetime) -> dict[str, Any] | None:
    """The approval card of one order (None when no plan was stored for it)."""
    stored = uow.approvals.current_plan(order.id)
    if stored is None:
        return None
    plan = stored.plan
    history = uow.approvals.all_approvals(order.id)
    current = [a for seq, a in history if seq == stored.plan_seq]
    step = current_step(plan, current) if order.state is OrderState.PENDING_APPROVAL else None
    error = None
    approver = allowed(principal, Permission.ORDER_APPROVE)
    if step is not None and approver:
        error = refusal(plan=plan, approvals=current, order=order, principal=principal, now=now,
                        digest=keyed_digest(uow, order))
    return {
        "policy_version": plan.policy_version, "plan_seq": stored.plan_seq, "auto": plan.auto,
        "matched_rules": list(plan.matched_rules), "expires_at": _iso(plan.expires_at),
        "expired": plan.expired(now) and order.state is OrderState.PENDING_APPROVAL,
        "reporting_amount": _reporting(plan), "current_step": None if step is None else step + 1,
        "steps": [{"number": i + 1, "needs": describe(s), "source": s.source, "reason": s.reason,
                   "roles": sorted(s.roles), "count": s.count,
                   "approvals": [_approval_view(a) for a in current if a.step == i],
                   "pending": step is not None and i >= step} for i, s in enumerate(plan.steps)],
        "invalidated": [_approval_view(a) | {"plan_seq": seq} for seq, a in history if seq != stored.plan_seq],
        "may_approve": approver and step is not None and (error is None or isinstance(error, StepUpRequired)),
        "needs_step_up": isinstance(error, StepUpRequired),
        "refusal": None if error is None or isinstance(error, StepUpRequired) else {"code": error.code,
                                                                                      "message": error.message},
    }


def _approval_view(a: Approval) -> dict[str, Any]:
    return {"approver": a.approver_id, "role": a.role.value, "at": a.at.isoformat(),
            "step_up_at": _iso(a.step_up_at), "method": a.method, "order_version": a.order_version}
