"""The approval policy in force, its versions, and the plan each new order gets from it.

The active policy is the newest stored version (append-only, `approval_policies`); until an
administrator stores one, the built-in `default_policy.toml` (version 0) applies. A new version
applies to orders created after it: each order keeps the plan it was given (`order_approval_plans`),
limits included. Changing the policy needs `policy.manage` and is audited with the sha256 of the
document before and after. `simulate` replays past orders against a proposed document before it
goes live (RELIABILITY R13; issue 3 point 6).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from yinqi.application import audit
from yinqi.application.holds import find_holds
from yinqi.application.ports import Clock
from yinqi.domain.approval.document import parse_policy
from yinqi.domain.approval.plan import ApprovalPlan, PlannedStep, make_plan, order_digest
from yinqi.domain.approval.policy import Policy
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Principal, Role
from yinqi.domain.orders.holds import Hold
from yinqi.domain.orders.order import PaymentOrder

__all__ = [
    "DEFAULT_VERSION",
    "ActivePolicy",
    "SimulatedOrder",
    "Simulation",
    "active_policy",
    "check_policy",
    "default_document",
    "digest_of",
    "plan_for",
    "policy_version",
    "policy_versions",
    "put_policy",
    "simulate",
    "store_plan",
]

DEFAULT_VERSION = 0
DEFAULT_AUTHOR = "system:default-policy"
SIMULATION_MAX_ORDERS = 100_000


@dataclass(frozen=True, slots=True)
class ActivePolicy:
    version: int
    document: str
    sha256: str
    policy: Policy
    created_by: str
    created_at: datetime | None
    note: str = ""

    def summary(self) -> dict[str, Any]:
        return {"version": self.version, "sha256": self.sha256, "created_by": self.created_by,
                "created_at": self.created_at.isoformat() if self.created_at else None, "note": self.note}


def default_document() -> str:
    return resources.files("yinqi.application").joinpath("default_policy.toml").read_text(encoding="utf-8")


def digest_of(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


@lru_cache(maxsize=32)
def _parsed(document: str) -> Policy:
    """Documents are immutable once stored, so each is parsed once per process."""
    return parse_policy(document)


def check_policy(document: str) -> Policy:
    """Raises PolicyInvalid (POLICY_INVALID) with every problem of `document`."""
    return _parsed(document)


def active_policy(uow: Any) -> ActivePolicy:
    stored = uow.approvals.latest_policy()
    return _active(stored) if stored is not None else _default()


def policy_version(uow: Any, version: int) -> ActivePolicy | None:
    if version == DEFAULT_VERSION:
        return _default()
    stored = uow.approvals.policy(version)
    return None if stored is None else _active(stored)


def _default() -> ActivePolicy:
    text = default_document()
    return ActivePolicy(version=DEFAULT_VERSION, document=text, sha256=digest_of(text), policy=_parsed(text),
                        created_by=DEFAULT_AUTHOR, created_at=None, note="built-in default")


def _active(stored: Any) -> ActivePolicy:
    return ActivePolicy(version=stored.version, document=stored.document, sha256=stored.sha256,
                        policy=_parsed(stored.document), created_by=stored.created_by, created_at=stored.created_at,
                        note=stored.note)


def policy_versions(*, uow: Any, principal: Principal) -> list[ActivePolicy]:
    """Every stored version, newest first, then the built-in default."""
    require(principal, Permission.POLICY_READ)
    return [*(_active(s) for s in uow.approvals.policy_versions()), _default()]


def put_policy(*, uow: Any, clock: Clock, principal: Principal, document: str, note: str = "") -> ActivePolicy:
    """Store `document` as the next policy version; it applies to orders created from now on.
    The same document as the active one stores nothing and returns the active version.

    Raises:
        Forbidden (FORBIDDEN): no `policy.manage`.
        PolicyInvalid (POLICY_INVALID): every problem of the document.
        Conflict (CONFLICT): another version was stored at the same moment.
    """
    require(principal, Permission.POLICY_MANAGE)
    check_policy(document)
    before = active_policy(uow)
    sha = digest_of(document)
    if sha == before.sha256:
        return before
    now = clock.now()
    version = uow.approvals.add_policy(document=document, sha256=sha, created_by=principal.actor_id, created_at=now,
                                       note=note.strip()[:500])
    audit.record(uow, principal=principal, action="policy.change", object_type="approval_policy",
                 object_id=str(version), at=now, before={"version": before.version, "sha256": before.sha256},
                 after={"version": version, "sha256": sha}, reason=note.strip()[:500])
    uow.commit()
    found = policy_version(uow, version)
    assert found is not None
    return found


# --- plans ---------------------------------------------------------------------------------------
def keyed_digest(uow: Any, order: PaymentOrder) -> str:
    """The order's content digest with accounts keyed by the vault's blind index (R19)."""
    vault = getattr(uow, "vault", None)
    return order_digest(order, vault.blind_index) if vault is not None else order_digest(order)


def plan_for(uow: Any, order: PaymentOrder, *, now: datetime, holds: Sequence[Hold] | None = None) -> ApprovalPlan:
    """The plan `order` gets under the active policy, with its holds (found now unless given)."""
    active = active_policy(uow)
    found = list(find_holds(uow, order, now=now)) if holds is None else list(holds)
    return make_plan(order=order, holds=found, policy=active.policy, policy_version=active.version, now=now,
                     digest=keyed_digest(uow, order))


def store_plan(uow: Any, order: PaymentOrder, plan: ApprovalPlan, *, at: datetime) -> int:
    return int(uow.approvals.add_plan(order_id=order.id, plan=plan, planned_at_version=order.version, at=at))


# --- what-if -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SimulatedOrder:
    order_id: str
    serial: str
    created_at: datetime
    amount: str
    currency: str
    state: str
    old_steps: tuple[PlannedStep, ...]
    new_steps: tuple[PlannedStep, ...]

    @property
    def changed(self) -> bool:
        return _shape(self.old_steps) != _shape(self.new_steps)

    def as_dict(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "serial": self.serial, "created_at": self.created_at.isoformat(),
                "amount": self.amount, "currency": self.currency, "state": self.state, "changed": self.changed,
                "old_steps": [describe(s) for s in self.old_steps] or ["auto-approval"],
                "new_steps": [describe(s) for s in self.new_steps] or ["auto-approval"]}


@dataclass(frozen=True, slots=True)
class Simulation:
    since: datetime
    orders: tuple[SimulatedOrder, ...]

    def summary(self) -> dict[str, int]:
        changed = [o for o in self.orders if o.changed]
        return {"orders": len(self.orders), "different": len(changed),
                "auto_before": sum(1 for o in self.orders if not o.old_steps),
                "auto_after": sum(1 for o in self.orders if not o.new_steps),
                "more_approvals": sum(1 for o in changed if _people(o.new_steps) > _people(o.old_steps)),
                "fewer_approvals": sum(1 for o in changed if _people(o.new_steps) < _people(o.old_steps))}

    def as_dict(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "summary": self.summary(),
                "orders": [o.as_dict() for o in self.orders]}


def describe(step: PlannedStep) -> str:
    return f"{step.count} of {' / '.join(sorted(step.roles))} ({step.source})"


def _shape(steps: Sequence[PlannedStep]) -> tuple[tuple[tuple[str, ...], int], ...]:
    return tuple((tuple(sorted(s.roles)), s.count) for s in steps)


def _people(steps: Sequence[PlannedStep]) -> int:
    return sum(s.count for s in steps)


def simulate(*, uow: Any, principal: Principal, document: str, since: datetime, now: datetime) -> Simulation:
    """Replay the orders created since `since` against `document`: each order's steps as planned
    (or, for an order from before plans were stored, under the active policy) and as the proposed
    rules would plan them, with the same holds. Stores nothing.

    Raises:
        Forbidden (FORBIDDEN): no `policy.read`. PolicyInvalid (POLICY_INVALID): the document.
    """
    require(principal, Permission.POLICY_READ)
    proposed = check_policy(document)
    current = active_policy(uow)
    results = []
    for order in _orders_since(uow, principal, since):
        stored = uow.approvals.current_plan(order.id)
        old = stored.plan if stored is not None else make_plan(order=order, holds=(), policy=current.policy,
                                                                 policy_version=current.version, now=now)
        holds = _holds_of(old)
        new = make_plan(order=order, holds=holds, policy=proposed, policy_version=-1, now=now)
        results.append(SimulatedOrder(order_id=order.id, serial=order.serial.value, created_at=order.created_at,
                                      amount=order.amount.format(), currency=order.amount.currency,
                                      state=order.state.value, old_steps=old.steps, new_steps=new.steps))
    return Simulation(since=since, orders=tuple(results))


def _holds_of(plan: ApprovalPlan) -> list[Hold]:
    """The holds a plan was made with (its `hold <CODE>` steps), to replay them unchanged."""
    return [Hold(code=s.source.removeprefix("hold "), reason=s.reason,
                 required_role=min(s.roles, default=Role.RISK_OFFICER))
            for s in plan.steps if s.source.startswith("hold ")]


def _orders_since(uow: Any, principal: Principal, since: datetime) -> Iterator[PaymentOrder]:
    after = None
    for _ in range(SIMULATION_MAX_ORDERS // 500):
        page = uow.orders.list(limit=500, after=after)
        for order in page:
            if order.created_at < since:
                return
            if principal.can_see_company(order.company_id):
                yield order
        if len(page) < 500:
            return
        after = (page[-1].created_at, page[-1].id)
