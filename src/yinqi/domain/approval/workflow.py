"""The maker–checker workflow: recorded approvals → the next step, and who may fill it.

`refusal` names the first reason a principal may not approve an order now, each with its own
stable code, checked in this order (authorisation before step-up, so nobody is asked for a TOTP
code for an approval they could never give):

| code | when |
| --- | --- |
| APPROVAL_EXPIRED | the plan expired: the order goes back to its maker (amend or cancel) |
| APPROVALS_INVALIDATED | the order's payment content changed after the plan was made |
| SOD_SELF_APPROVAL | the maker approves their own order |
| SOD_DUPLICATE_APPROVER | one person would fill two steps (or two places in one n-of-m step) |
| APPROVAL_ROLE_REQUIRED | the current step needs a role the principal does not hold |
| APPROVAL_LIMIT_EXCEEDED | the amount (reporting currency) is above the approver's limit |
| STEP_UP_REQUIRED | no TOTP verification in the last 5 minutes |

A per-user limit (`Principal.approval_limit_minor`) overrides the role limit; with several
fitting roles the highest limit counts. An amount that could not be converted to the reporting
currency passes only an approver without any limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from yinqi.domain.approval.plan import ApprovalPlan, PlannedStep, order_digest
from yinqi.domain.identity.principal import Principal, Role, StepUpRequired
from yinqi.domain.money import Money
from yinqi.domain.orders.order import PaymentOrder, SodSelfApproval
from yinqi.domain.problems import DomainError

__all__ = ["Approval", "ApprovalExpired", "ApprovalLimitExceeded", "ApprovalRoleRequired", "ApprovalsInvalidated",
           "Decision", "SodDuplicateApprover", "current_step", "decide", "refusal", "step_counts"]

STEP_UP_METHOD = "totp"


class SodDuplicateApprover(DomainError):
    """Segregation of duties: one person may fill only one approval step of an order."""

    code = "SOD_DUPLICATE_APPROVER"


class ApprovalLimitExceeded(DomainError):
    code = "APPROVAL_LIMIT_EXCEEDED"


class ApprovalsInvalidated(DomainError):
    """The order changed after approvals were given; they do not carry over to the new content."""

    code = "APPROVALS_INVALIDATED"


class ApprovalRoleRequired(DomainError):
    code = "APPROVAL_ROLE_REQUIRED"


class ApprovalExpired(DomainError):
    """The plan's time ran out; the maker amends the order (a fresh plan) or cancels it."""

    code = "APPROVAL_EXPIRED"


@dataclass(frozen=True, slots=True)
class Approval:
    """One recorded approval: who filled which step, with which role, and their step-up."""

    step: int
    approver_id: str
    role: Role
    at: datetime
    step_up_at: datetime | None
    method: str
    order_version: int


@dataclass(frozen=True, slots=True)
class Decision:
    """An approval that may be recorded; `completes` when it is the plan's last one."""

    approval: Approval
    completes: bool


def step_counts(plan: ApprovalPlan, approvals: Sequence[Approval]) -> list[int]:
    return [sum(1 for a in approvals if a.step == i) for i in range(len(plan.steps))]


def current_step(plan: ApprovalPlan, approvals: Sequence[Approval]) -> int | None:
    """The first step still short of approvals, or None when every step is filled."""
    counts = step_counts(plan, approvals)
    return next((i for i, step in enumerate(plan.steps) if counts[i] < step.count), None)


def refusal(*, plan: ApprovalPlan, approvals: Sequence[Approval], order: PaymentOrder, principal: Principal,
            now: datetime, digest: str | None = None) -> DomainError | None:
    """The first reason `principal` may not approve `order` now, or None. `digest` is the order's
    current `order_digest`, computed as the plan's was (keyed by the caller)."""
    index = current_step(plan, approvals)
    assert index is not None, "a plan with every step filled has approved its order already"
    step = plan.steps[index]
    who = principal.actor_id
    checks: tuple[Callable[[], DomainError | None], ...] = (
        lambda: _expired(plan, order, now), lambda: _invalidated(plan, order, digest),
        lambda: _self(order, who), lambda: _duplicate(approvals, who, order),
        lambda: _role(step, index, principal), lambda: _limit(plan, step, principal, order),
        lambda: _step_up(principal, now),
    )
    return next((err for check in checks if (err := check()) is not None), None)


def decide(*, plan: ApprovalPlan, approvals: Sequence[Approval], order: PaymentOrder, principal: Principal,
           now: datetime, digest: str | None = None) -> Decision:
    """The approval `principal` gives now.

    Raises:
        ApprovalExpired, ApprovalsInvalidated, SodSelfApproval, SodDuplicateApprover,
        ApprovalRoleRequired, ApprovalLimitExceeded, StepUpRequired: see the module table.
    """
    error = refusal(plan=plan, approvals=approvals, order=order, principal=principal, now=now, digest=digest)
    if error is not None:
        raise error
    index = current_step(plan, approvals)
    assert index is not None
    step = plan.steps[index]
    role = _best_role(step, principal, plan)
    approval = Approval(step=index, approver_id=principal.actor_id, role=role, at=now,
                        step_up_at=principal.step_up_at, method=STEP_UP_METHOD, order_version=order.version)
    return Decision(approval=approval, completes=current_step(plan, [*approvals, approval]) is None)


def _expired(plan: ApprovalPlan, order: PaymentOrder, now: datetime) -> DomainError | None:
    if not plan.expired(now):
        return None
    return ApprovalExpired(f"the approvals of payment order {order.id} expired at {plan.expires_at:%Y-%m-%d %H:%M} "
                           "UTC; it is back with its maker (amend or cancel it)", where="order_id",
                           rule="plan_not_expired", value=order.id)


def _invalidated(plan: ApprovalPlan, order: PaymentOrder, digest: str | None) -> DomainError | None:
    if plan.order_digest == (digest or order_digest(order)):
        return None
    return ApprovalsInvalidated(f"payment order {order.id} changed after its approval plan was made",
                                where="order_id", rule="order_unchanged_since_plan", value=order.id)


def _self(order: PaymentOrder, who: str) -> DomainError | None:
    if who != order.created_by:
        return None
    return SodSelfApproval(f"{who} created payment order {order.id} and may not approve it", where="actor",
                           rule="maker_is_not_checker", value=who)


def _duplicate(approvals: Sequence[Approval], who: str, order: PaymentOrder) -> DomainError | None:
    earlier = next((a for a in approvals if a.approver_id == who), None)
    if earlier is None:
        return None
    return SodDuplicateApprover(f"{who} already approved payment order {order.id} (step {earlier.step + 1}); "
                                "another person must approve", where="actor", rule="one_step_per_person",
                                value=who)


def _role(step: PlannedStep, index: int, principal: Principal) -> DomainError | None:
    if step.roles & principal.roles:
        return None
    needed = " or ".join(sorted(step.roles))
    return ApprovalRoleRequired(f"step {index + 1} ({step.source}) needs a {needed}", where="actor",
                                rule="step_role", value=needed)


def _limit_of(role: Role, principal: Principal, plan: ApprovalPlan) -> int | None:
    if principal.approval_limit_minor is not None:
        return principal.approval_limit_minor
    return plan.role_limits_minor.get(role)


def _best_role(step: PlannedStep, principal: Principal, plan: ApprovalPlan) -> Role:
    """The fitting role with the highest limit (no limit beats any limit); ties by name."""
    fitting = sorted(step.roles & principal.roles)
    return max(fitting, key=lambda r: (_limit_of(r, principal, plan) is None, _limit_of(r, principal, plan) or 0))


def _limit(plan: ApprovalPlan, step: PlannedStep, principal: Principal, order: PaymentOrder) -> DomainError | None:
    limit = _limit_of(_best_role(step, principal, plan), principal, plan)
    amount = plan.reporting_minor
    if limit is None or (amount is not None and amount <= limit):
        return None
    shown = "an amount with no reference rate" if amount is None else _money(amount, plan)
    return ApprovalLimitExceeded(f"{principal.actor_id} may approve up to {_money(limit, plan)}; payment order "
                                 f"{order.id} is {shown}", where="amount", rule="approval_limit",
                                 value=order.amount.format(), details={"limit_minor": limit, "amount_minor": amount,
                                                                       "currency": plan.reporting_currency})


def _money(minor: int, plan: ApprovalPlan) -> str:
    return str(Money(minor, plan.reporting_currency))


def _step_up(principal: Principal, now: datetime) -> DomainError | None:
    if principal.step_up_fresh(now):
        return None
    return StepUpRequired("approving a payment needs a TOTP code verified in the last 5 minutes", where="totp_code",
                          rule="step_up_fresh")
