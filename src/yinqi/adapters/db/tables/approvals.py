"""Approval policy versions, each order's approval plan, and the approvals given.

All three are append-only (triggers in revision `0004_approvals` refuse UPDATE and DELETE on both
backends): a policy change is a new version (the newest is active), an amendment re-plans the
order as a new plan (`plan_seq` + 1, the newest counts), and approvals are only ever added — those
of an older plan simply stop counting. Nothing about who approved what can be rewritten in place.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from yinqi.adapters.db.metadata import metadata

_Id = BigInteger().with_variant(Integer(), "sqlite")

approval_policies = Table(
    "approval_policies", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("document", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=False),
    CheckConstraint("version > 0", name="version_positive"),
)

order_approval_plans = Table(
    "order_approval_plans", metadata,
    Column("order_id", String(36), ForeignKey("payment_orders.id"), primary_key=True),
    Column("plan_seq", Integer, primary_key=True, autoincrement=False),
    Column("policy_version", Integer, nullable=False),  # 0: the built-in default policy
    Column("steps", Text, nullable=False),  # JSON: ApprovalPlan.as_dict()
    Column("planned_at_version", Integer, nullable=False),  # the order's version when planned
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("plan_seq > 0", name="plan_seq_positive"),
)

order_approvals = Table(
    "order_approvals", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("order_id", String(36), ForeignKey("payment_orders.id"), nullable=False),
    Column("plan_seq", Integer, nullable=False),
    Column("step", Integer, nullable=False),
    Column("approver_id", String(128), nullable=False),
    Column("role", String(32), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("step_up_at", DateTime(timezone=True), nullable=True),
    Column("method", String(16), nullable=False),
    Column("order_version", Integer, nullable=False),
)
Index("ix_order_approvals_order_plan", order_approvals.c.order_id, order_approvals.c.plan_seq)
# One person fills one place per plan: the database says so too (SOD_DUPLICATE_APPROVER upstream).
Index("uq_order_approvals_order_plan_approver", order_approvals.c.order_id, order_approvals.c.plan_seq,
      order_approvals.c.approver_id, unique=True)
