"""Audit trail: append-only, hash-chained `audit_events` and the single-row `audit_chain_head`.

Revision ID: 0002_audit
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_audit"
down_revision = "0001"
branch_labels = None
depends_on = None

_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Events are append-only; the head may only move forward and is never deleted.
SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    "CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head WHEN NEW.seq <= OLD.seq "
    "BEGIN SELECT RAISE(ABORT, 'audit_chain_head only moves forward'); END",
    "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head "
    "BEGIN SELECT RAISE(ABORT, 'audit_chain_head only moves forward'); END",
]

POSTGRESQL_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation'; END $$",
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
    "CREATE OR REPLACE FUNCTION audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN IF TG_OP <> 'UPDATE' OR NEW.seq <= OLD.seq THEN "
    "RAISE EXCEPTION 'audit_chain_head only moves forward' USING ERRCODE = 'restrict_violation'; END IF; "
    "RETURN NEW; END $$",
    "CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE OR DELETE ON audit_chain_head "
    "FOR EACH ROW EXECUTE FUNCTION audit_head_forward()",
    "CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
]

POSTGRESQL_DROP = [
    "DROP FUNCTION IF EXISTS audit_head_forward() CASCADE",
    "DROP FUNCTION IF EXISTS audit_append_only() CASCADE",
]


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", _Seq, autoincrement=False, nullable=False),
        sa.Column("at_utc", sa.String(length=27), nullable=False),
        sa.Column("actor_id", sa.String(length=200), nullable=False),
        sa.Column("actor_channel", sa.String(length=16), nullable=False),
        sa.Column("source_address", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("before_json", sa.Text(), nullable=True),
        sa.Column("after_json", sa.Text(), nullable=True),
        sa.Column("company_id", sa.String(length=64), nullable=True),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("seq > 0", name=op.f("ck_audit_events_seq_positive")),
        sa.CheckConstraint("outcome IN ('success','denied','failed')", name=op.f("ck_audit_events_outcome")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_actor_seq", "audit_events", ["actor_id", "seq"])
    op.create_index("ix_audit_events_object_seq", "audit_events", ["object_id", "seq"])
    op.create_index("ix_audit_events_at_utc", "audit_events", ["at_utc"])
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": bytes(32)}])
    dialect = op.get_bind().dialect.name
    for sql in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRESQL_TRIGGERS if dialect == "postgresql" else []:
        op.execute(sql)


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    op.drop_index("ix_audit_events_at_utc", table_name="audit_events")
    op.drop_index("ix_audit_events_object_seq", table_name="audit_events")
    op.drop_index("ix_audit_events_actor_seq", table_name="audit_events")
    op.drop_table("audit_events")
    if op.get_bind().dialect.name == "postgresql":
        for sql in POSTGRESQL_DROP:
            op.execute(sql)
