"""Approvals: `approval_policies` (versions), `order_approval_plans`, `order_approvals`; all append-only.

Revision ID: 0004_approvals
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_approvals"
down_revision = "0001"
branch_labels = None
depends_on = None

_TABLES = ("approval_policies", "order_approval_plans", "order_approvals")

SQLITE_TRIGGERS = [
    sql
    for table in _TABLES
    for sql in (
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
    )
]

POSTGRESQL_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION approvals_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation'; END $$",
    *[f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION approvals_append_only()" for table in _TABLES],
]


def upgrade() -> None:
    op.create_table(
        "approval_policies",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint("version > 0", name=op.f("ck_approval_policies_version_positive")),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_approval_policies")),
    )
    op.create_table(
        "order_approval_plans",
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("plan_seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.Column("planned_at_version", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("plan_seq > 0", name=op.f("ck_order_approval_plans_plan_seq_positive")),
        sa.ForeignKeyConstraint(["order_id"], ["payment_orders.id"],
                                name=op.f("fk_order_approval_plans_order_id_payment_orders")),
        sa.PrimaryKeyConstraint("order_id", "plan_seq", name=op.f("pk_order_approval_plans")),
    )
    op.create_table(
        "order_approvals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("plan_seq", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("approver_id", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("order_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["payment_orders.id"],
                                name=op.f("fk_order_approvals_order_id_payment_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_approvals")),
    )
    op.create_index("ix_order_approvals_order_plan", "order_approvals", ["order_id", "plan_seq"])
    op.create_index("uq_order_approvals_order_plan_approver", "order_approvals",
                    ["order_id", "plan_seq", "approver_id"], unique=True)
    dialect = op.get_bind().dialect.name
    for sql in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRESQL_TRIGGERS if dialect == "postgresql" else []:
        op.execute(sql)


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS approvals_append_only() CASCADE")
