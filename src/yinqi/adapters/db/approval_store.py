"""SQL store of approval policy versions, order approval plans and approvals (all append-only).

A policy version number is max + 1 inside the writer's transaction; two writers racing for the same
number collide on the primary key and the loser gets CONFLICT (it retries with the new head). Plans
and approvals are read in bulk for the approval queue (one query each for a page of orders).
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from yinqi.adapters.db.bulk_insert import insert_rows
from yinqi.adapters.db.tables.approvals import approval_policies as pol
from yinqi.adapters.db.tables.approvals import order_approval_plans as plans
from yinqi.adapters.db.tables.approvals import order_approvals as appr
from yinqi.domain.approval.plan import ApprovalPlan
from yinqi.domain.approval.workflow import Approval, SodDuplicateApprover
from yinqi.domain.identity.principal import Role
from yinqi.domain.problems import Conflict

_MAX_IN = 500

_STEPS = json.JSONEncoder(sort_keys=True, separators=(",", ":"))  # = json.dumps(..., sort_keys=True, ...)


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    version: int
    document: str
    sha256: str
    created_by: str
    created_at: datetime
    note: str


@dataclass(frozen=True, slots=True)
class StoredPlan:
    order_id: str
    plan_seq: int
    plan: ApprovalPlan
    planned_at_version: int
    created_at: datetime


class SqlApprovalStore:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # --- policy versions ---------------------------------------------------------------------
    def latest_policy(self) -> StoredPolicy | None:
        row = self._conn.execute(select(pol).order_by(pol.c.version.desc()).limit(1)).first()
        return None if row is None else _policy(row._mapping)

    def policy(self, version: int) -> StoredPolicy | None:
        row = self._conn.execute(select(pol).where(pol.c.version == version)).first()
        return None if row is None else _policy(row._mapping)

    def policy_versions(self, *, limit: int = 100) -> builtins.list[StoredPolicy]:
        """Newest first."""
        rows = self._conn.execute(select(pol).order_by(pol.c.version.desc()).limit(limit))
        return [_policy(r._mapping) for r in rows]

    def add_policy(self, *, document: str, sha256: str, created_by: str, created_at: datetime, note: str) -> int:
        """Append the next version. Raises Conflict (CONFLICT): another version was added meanwhile."""
        version = int(self._conn.execute(select(func.coalesce(func.max(pol.c.version), 0))).scalar_one()) + 1
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(pol).values(version=version, document=document, sha256=sha256,
                                                      created_by=created_by, created_at=created_at, note=note))
        except IntegrityError:
            raise Conflict(f"approval policy version {version} was written meanwhile; retry", where="version",
                           rule="append_next_version", value=version) from None
        return version

    # --- plans ---------------------------------------------------------------------------------
    def add_plan(self, *, order_id: str, plan: ApprovalPlan, planned_at_version: int, at: datetime) -> int:
        current = self._conn.execute(select(func.coalesce(func.max(plans.c.plan_seq), 0))
                                     .where(plans.c.order_id == order_id)).scalar_one()
        seq = int(current) + 1
        self._conn.execute(insert(plans).values(
            order_id=order_id, plan_seq=seq, policy_version=plan.policy_version,
            steps=json.dumps(plan.as_dict(), sort_keys=True, separators=(",", ":")),
            planned_at_version=planned_at_version, expires_at=plan.expires_at, created_at=at))
        return seq

    def add_plans(self, planned: Sequence[tuple[str, ApprovalPlan, int]], *, at: datetime) -> builtins.list[int]:
        """`add_plan` for many (order_id, plan, planned_at_version) at once: one query for the
        orders' current plan numbers, one multi-row INSERT. Returns each plan's number."""
        if not planned:
            return []
        ids = [order_id for order_id, _, _ in planned]
        current: dict[str, int] = {}
        for i in range(0, len(ids), _MAX_IN):
            query = (select(plans.c.order_id, func.max(plans.c.plan_seq))
                     .where(plans.c.order_id.in_(ids[i:i + _MAX_IN])).group_by(plans.c.order_id))
            current.update({order_id: int(seq) for order_id, seq in self._conn.execute(query)})
        rows, seqs = [], []
        for order_id, plan, version in planned:
            current[order_id] = current.get(order_id, 0) + 1
            seqs.append(current[order_id])
            rows.append({"order_id": order_id, "plan_seq": current[order_id], "policy_version": plan.policy_version,
                         "steps": _STEPS.encode(plan.as_dict()),
                         "planned_at_version": version, "expires_at": plan.expires_at, "created_at": at})
        insert_rows(self._conn, plans, rows)
        return seqs

    def current_plan(self, order_id: str) -> StoredPlan | None:
        return self.current_plans([order_id]).get(order_id)

    def current_plans(self, order_ids: Sequence[str]) -> dict[str, StoredPlan]:
        if not order_ids:
            return {}
        newest = (select(plans.c.order_id, func.max(plans.c.plan_seq).label("seq"))
                  .where(plans.c.order_id.in_(list(order_ids))).group_by(plans.c.order_id).subquery())
        rows = self._conn.execute(select(plans).join(newest, (plans.c.order_id == newest.c.order_id)
                                                     & (plans.c.plan_seq == newest.c.seq)))
        found = [_plan(r._mapping) for r in rows]
        return {p.order_id: p for p in found}

    # --- approvals -----------------------------------------------------------------------------
    def add_approval(self, *, order_id: str, plan_seq: int, approval: Approval) -> None:
        """Raises SodDuplicateApprover (SOD_DUPLICATE_APPROVER): the unique index caught a second
        place for one person (two of their approvals racing)."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(appr).values(
                    order_id=order_id, plan_seq=plan_seq, step=approval.step, approver_id=approval.approver_id,
                    role=approval.role.value, at=approval.at, step_up_at=approval.step_up_at,
                    method=approval.method, order_version=approval.order_version))
        except IntegrityError:
            raise SodDuplicateApprover(f"{approval.approver_id} already approved payment order {order_id}",
                                       where="actor", rule="one_step_per_person",
                                       value=approval.approver_id) from None

    def approvals(self, order_id: str, plan_seq: int) -> builtins.list[Approval]:
        return self.approvals_for({order_id: plan_seq}).get(order_id, [])

    def approvals_for(self, plan_seqs: dict[str, int]) -> dict[str, builtins.list[Approval]]:
        """The approvals of each order's given plan, oldest first."""
        if not plan_seqs:
            return {}
        rows = self._conn.execute(select(appr).where(appr.c.order_id.in_(list(plan_seqs)))
                                  .order_by(appr.c.id))
        found: dict[str, builtins.list[Approval]] = {}
        for row in rows:
            r = row._mapping
            if plan_seqs.get(r["order_id"]) == r["plan_seq"]:
                found.setdefault(r["order_id"], []).append(_approval(r))
        return found

    def all_approvals(self, order_id: str) -> builtins.list[tuple[int, Approval]]:
        """Every approval of the order with its plan number, oldest first (history view)."""
        rows = self._conn.execute(select(appr).where(appr.c.order_id == order_id).order_by(appr.c.id))
        return [(int(r._mapping["plan_seq"]), _approval(r._mapping)) for r in rows]


def _policy(r: Any) -> StoredPolicy:
    created_at = _aware(r["created_at"])
    assert created_at is not None
    return StoredPolicy(version=r["version"], document=r["document"], sha256=r["sha256"],
                        created_by=r["created_by"], created_at=created_at, note=r["note"])


def _plan(r: Any) -> StoredPlan:
    plan = ApprovalPlan.from_dict(json.loads(r["steps"]), policy_version=r["policy_version"],
                                  expires_at=_aware(r["expires_at"]))
    created_at = _aware(r["created_at"])
    assert created_at is not None
    return StoredPlan(order_id=r["order_id"], plan_seq=r["plan_seq"], plan=plan,
                      planned_at_version=r["planned_at_version"], created_at=created_at)


def _approval(r: Any) -> Approval:
    at = _aware(r["at"])
    assert at is not None
    return Approval(step=r["step"], approver_id=r["approver_id"], role=Role(r["role"]), at=at,
                    step_up_at=_aware(r["step_up_at"]), method=r["method"], order_version=r["order_version"])
