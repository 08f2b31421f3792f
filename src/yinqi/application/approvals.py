"""Maker–checker use cases: approve (one order, or a batch under one step-up), reject, amend, and
the queue of what waits for a principal.

An approval fills one place of the order's plan (`order_approvals`, append-only) after the
workflow's checks (`yinqi.domain.approval.workflow`: segregation of duties, roles, limits, expiry,
step-up). The last place moves the order to APPROVED and reserves its funds, in the same
transaction as the approval and its audit event. A refused approval changes nothing; the API's
error handler and the console audit the refusal, and the batch audits each one itself.
An amendment by the maker re-plans the order, so the approvals given so far stop counting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from yinqi.application import audit
from yinqi.application.approval_policy import keyed_digest, plan_for, store_plan
from yinqi.application.beneficiaries import check_payable
from yinqi.application.orders import (
    AUTO_APPROVER,
    AUTO_RELEASER,
    UoW,
    _approve,
    _record,
    _release,
    _require_reason,
    _save,
)
from yinqi.application.ports import Clock
from yinqi.domain.approval.amendment import amend
from yinqi.domain.approval.plan import ApprovalPlan
from yinqi.domain.approval.workflow import ApprovalsInvalidated, decide
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Forbidden, Principal, StepUpRequired
from yinqi.domain.orders.commands import PayeeInput
from yinqi.domain.orders.events import OrderEvent
from yinqi.domain.orders.lifecycle import IllegalTransition, OrderState
from yinqi.domain.orders.order import OrderNotFound, PaymentOrder
from yinqi.domain.problems import DomainError

__all__ = ["BatchApproval", "BatchItem", "amend_order", "approve_order", "approve_orders", "reject_order",
           "visible_order"]

S = OrderState
BATCH_MAX = 500


def visible_order(uow: Any, principal: Principal, order_id: str, *, for_update: bool = False) -> PaymentOrder:
    """The order, if the principal's companies include it; else ORDER_NOT_FOUND (no existence leak, R18)."""
    order: PaymentOrder = uow.orders.get(order_id, for_update=for_update)
    if not principal.can_see_company(order.company_id):
        raise OrderNotFound(f"payment order {order_id} does not exist", where="order_id", rule="exists",
                            value=order_id)
    return order


def _require_pending(order: PaymentOrder, verb: str) -> None:
    if order.state is not S.PENDING_APPROVAL:
        raise IllegalTransition(f"only an order pending approval can be {verb}; this one is {order.state}",
                                where="state", rule=f"{verb}_pending_only", value=str(order.state),
                                details={"from": str(order.state)})


def current_plan(uow: Any, order: PaymentOrder, *, now: datetime) -> tuple[int, ApprovalPlan]:
    """The order's plan; an order pending from before plans were stored is planned now."""
    stored = uow.approvals.current_plan(order.id)
    if stored is not None:
        return stored.plan_seq, stored.plan
    plan = plan_for(uow, order, now=now)
    return store_plan(uow, order, plan, at=now), plan


# --- approve -------------------------------------------------------------------------------------
def approve_order(*, uow: UoW, clock: Clock, principal: Principal, order_id: str,
                  auto_release: bool = False) -> PaymentOrder:
    """Fill the current step of the order's plan; the last step approves it (funds reserved, then
    RELEASED with `auto_release`). Returns the order (still PENDING_APPROVAL after a partial step).

    Raises:
        Forbidden (FORBIDDEN), OrderNotFound (ORDER_NOT_FOUND), IllegalTransition (ORDER_ILLEGAL_TRANSITION),
        APPROVAL_EXPIRED, APPROVALS_INVALIDATED, SOD_SELF_APPROVAL, SOD_DUPLICATE_APPROVER,
        APPROVAL_ROLE_REQUIRED, APPROVAL_LIMIT_EXCEEDED, STEP_UP_REQUIRED, BENEFICIARY_CHANGE_PENDING,
        INSUFFICIENT_FUNDS.
    """
    return _approve_one(uow, principal, order_id, now=clock.now(), auto_release=auto_release)


def _approve_one(uow: Any, principal: Principal, order_id: str, *, now: datetime, auto_release: bool) -> PaymentOrder:
    require(principal, Permission.ORDER_APPROVE)
    order = visible_order(uow, principal, order_id, for_update=True)
    _require_pending(order, "approved")
    plan_seq, plan = current_plan(uow, order, now=now)
    approvals = uow.approvals.approvals(order.id, plan_seq)
    decision = decide(plan=plan, approvals=approvals, order=order, principal=principal, now=now,
                      digest=keyed_digest(uow, order))
    check_payable(uow, order, now=now)  # BENEFICIARY_CHANGE_PENDING: the payee's account is not settled yet
    uow.approvals.add_approval(order_id=order.id, plan_seq=plan_seq, approval=decision.approval)
    step = plan.steps[decision.approval.step]
    audit.record(uow, principal=principal, action="order.approve", object_type="payment_order", object_id=order.id,
                 at=now, company_id=order.company_id,
                 after={"step": decision.approval.step + 1, "of": len(plan.steps), "source": step.source,
                        "role": decision.approval.role.value, "completes": decision.completes,
                        "step_up_at": _iso(decision.approval.step_up_at), "method": decision.approval.method})
    if not decision.completes:
        uow.commit()
        return order
    events: list[OrderEvent] = []
    approved = _approve(uow, order, events, actor=principal.actor_id, at=now,
                        reason=f"approved: {len(plan.steps)} step(s) of policy version {plan.policy_version} filled")
    if auto_release:
        approved = _release(uow, approved, events, actor=AUTO_RELEASER, at=now)
    return _save(uow, order, approved, events)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


# --- batch ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BatchItem:
    order_id: str
    serial: str
    payee: str
    amount: str
    currency: str
    outcome: str  # approved | step_recorded | refused
    state: str
    error_code: str | None = None
    error_message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "serial": self.serial, "payee": self.payee, "amount": self.amount,
                "currency": self.currency, "outcome": self.outcome, "state": self.state,
                "error_code": self.error_code, "error_message": self.error_message}


@dataclass(frozen=True, slots=True)
class BatchApproval:
    items: tuple[BatchItem, ...]
    totals: dict[str, str] = field(default_factory=dict)  # currency → decimal total of what was approved

    @property
    def refused(self) -> int:
        return sum(1 for i in self.items if i.outcome == "refused")

    def as_dict(self) -> dict[str, Any]:
        return {"items": [i.as_dict() for i in self.items], "totals": self.totals,
                "approved": len(self.items) - self.refused, "refused": self.refused}


def approve_orders(*, new_uow: Callable[[], Any], clock: Clock, principal: Principal, order_ids: Sequence[str],
                   auto_release: bool = False) -> BatchApproval:
    """Approve many orders under ONE step-up: the TOTP verification is checked once, at the start,
    and the whole batch is one decision moment. Each order runs in its own transaction, so one
    refusal (audited here) leaves the others approved. Totals count what was approved.

    Raises:
        Forbidden (FORBIDDEN), StepUpRequired (STEP_UP_REQUIRED): before any order is touched.
    """
    require(principal, Permission.ORDER_APPROVE)
    now = clock.now()
    if not principal.step_up_fresh(now):
        raise StepUpRequired("a batch approval needs a TOTP code verified in the last 5 minutes",
                             where="totp_code", rule="step_up_fresh")
    ids = list(dict.fromkeys(order_ids))[:BATCH_MAX]
    items = [_batch_one(new_uow, principal, order_id, now=now, auto_release=auto_release) for order_id in ids]
    return BatchApproval(items=tuple(items), totals=_totals(items))


def _batch_one(new_uow: Callable[[], Any], principal: Principal, order_id: str, *, now: datetime,
               auto_release: bool) -> BatchItem:
    try:
        with new_uow() as uow:
            order = _approve_one(uow, principal, order_id, now=now, auto_release=auto_release)
        outcome = "step_recorded" if order.state is S.PENDING_APPROVAL else "approved"
        return _item(order, outcome)
    except DomainError as exc:
        audit.record_refusal(new_uow, principal=principal, action="order.approve", object_type="payment_order",
                             object_id=order_id, at=now, error=exc)
        with new_uow() as uow:
            try:
                order = visible_order(uow, principal, order_id)
            except DomainError:
                return BatchItem(order_id, "", "", "", "", "refused", "", exc.code, exc.message)
        return _item(order, "refused", exc)


def _item(order: PaymentOrder, outcome: str, error: DomainError | None = None) -> BatchItem:
    return BatchItem(order_id=order.id, serial=order.serial.value, payee=order.payee.name, amount=order.amount.format(),
                     currency=order.amount.currency, outcome=outcome, state=order.state.value,
                     error_code=error.code if error else None, error_message=error.message if error else None)


def _totals(items: Sequence[BatchItem]) -> dict[str, str]:
    from yinqi.domain.money import Money

    sums: dict[str, Money] = {}
    for item in items:
        if item.outcome != "refused":
            money = Money.parse(item.amount, item.currency)
            sums[item.currency] = sums.get(item.currency, Money.zero(item.currency)) + money
    return {ccy: m.format() for ccy, m in sorted(sums.items())}


# --- reject and amend ----------------------------------------------------------------------------
def reject_order(*, uow: UoW, clock: Clock, principal: Principal, order_id: str, reason: str) -> PaymentOrder:
    """PENDING_APPROVAL → REJECTED: the order goes back to its maker with the reason. Nothing was
    reserved yet, so nothing is booked.

    Raises:
        Forbidden (FORBIDDEN), OrderNotFound (ORDER_NOT_FOUND), FIELD_REQUIRED (no reason),
        IllegalTransition (ORDER_ILLEGAL_TRANSITION): not pending approval.
    """
    require(principal, Permission.ORDER_REJECT)
    _require_reason(reason)
    now = clock.now()
    order = visible_order(uow, principal, order_id, for_update=True)
    _require_pending(order, "rejected")
    events: list[OrderEvent] = []
    rejected = _record(order, events, S.REJECTED, actor=principal.actor_id, at=now, reason=reason)
    audit.record(uow, principal=principal, action="order.reject", object_type="payment_order", object_id=order.id,
                 at=now, before={"state": order.state.value}, after={"state": rejected.state.value}, reason=reason,
                 company_id=order.company_id)
    return _save(uow, order, rejected, events)


def amend_order(*, uow: UoW, clock: Clock, principal: Principal, order_id: str, reason: str,
                amount: str | None = None, payee: PayeeInput | None = None,
                requested_execution_date: date | None = None) -> PaymentOrder:
    """The maker changes the amount, payee or execution date of an order pending approval. The
    approvals given so far are invalidated: the order is planned again under the active policy
    (and auto-approved if the new plan needs nobody). An APPROVED order is not amended: cancel it
    and enter a new order.

    Raises:
        Forbidden (FORBIDDEN): not the order's maker. ValidationFailed (VALIDATION_FAILED): the new values.
        ApprovalsInvalidated (APPROVALS_INVALIDATED): the order is already approved.
        IllegalTransition (ORDER_ILLEGAL_TRANSITION): any other state.
    """
    require(principal, Permission.ORDER_CREATE)
    _require_reason(reason)
    now = clock.now()
    order = visible_order(uow, principal, order_id, for_update=True)
    if principal.actor_id != order.created_by:
        raise Forbidden(f"only the maker of payment order {order.id} may amend it", where="actor",
                        rule="maker_amends", value=principal.actor_id)
    if order.state in {S.APPROVED, S.RELEASED}:
        raise ApprovalsInvalidated(f"payment order {order.id} is already approved; an amendment would void its "
                                   "approvals: cancel it and enter a new order", where="state",
                                   rule="amend_before_approval", value=str(order.state))
    _require_pending(order, "amended")
    amended, event, changes = amend(order, amount=amount, payee=payee, actor=principal.actor_id, at=now,
                                    requested_execution_date=requested_execution_date, reason=reason)
    events = [event]
    plan = plan_for(uow, amended, now=now)
    store_plan(uow, amended, plan, at=now)
    current = amended
    if plan.auto:
        current = _approve(uow, amended, events, actor=AUTO_APPROVER, at=now,
                           reason=f"auto-approval after amendment (policy version {plan.policy_version})")
    audit.record(uow, principal=principal, action="order.amend", object_type="payment_order", object_id=order.id,
                 at=now, before={k: v[0] for k, v in changes.items()}, after={k: v[1] for k, v in changes.items()},
                 reason=reason, company_id=order.company_id)
    return _save(uow, order, current, events)
