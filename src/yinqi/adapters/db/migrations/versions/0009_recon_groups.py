"""Reconciliation match groups: append-only groups and members, and the claims they hold.

A group ties statement lines to payment orders (1:1, 1:N, N:1, M:N) or, for a write-off, lines to
none. Groups and members are history (triggers refuse UPDATE, DELETE and TRUNCATE on both
backends); `reconciliation_claims` is the current state, one row per line or order in an active
group. Every `reconciliation_matches` row (the 1:1 matches booked before this revision) becomes one
group `m-<id>` with status 'auto' and its two claims, so groups and claims are the whole truth from
here on; the old table is kept, no longer written.

Revision ID: 0009_recon_groups
Revises: 0008_merge_issue3
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_recon_groups"
down_revision = "0008_merge_issue3"
branch_labels = None
depends_on = None

_HISTORY = ("reconciliation_groups", "reconciliation_group_members")

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER {t}_no_{verb} BEFORE {verb.upper()} ON {t} BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END"
    for t in _HISTORY for verb in ("update", "delete")
]

POSTGRESQL_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION reconciliation_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation'; END $$",
    *[f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {t} "
      "FOR EACH STATEMENT EXECUTE FUNCTION reconciliation_append_only()" for t in _HISTORY],
]

# One group per old match: the entry's currency and account, the order's company, both members.
_COPY = [
    "INSERT INTO reconciliation_groups (id, status, rule, strategy, confidence, reasons, currency, account, "
    "fee_minor, ledger_seq, write_off_account, supersedes, reason, company_id, created_at, created_by) "
    "SELECT 'm-' || CAST(m.id AS VARCHAR(20)), 'auto', m.rule, '1:1', m.confidence, '[]', e.currency, e.account, "
    "0, NULL, NULL, NULL, 'matched before match groups (reconciliation_matches)', o.company_id, m.matched_at, "
    "m.matched_by FROM reconciliation_matches m JOIN bank_statement_entries e ON e.id = m.entry_id "
    "LEFT JOIN payment_orders o ON o.id = m.order_id",
    "INSERT INTO reconciliation_group_members (group_id, kind, ref, amount_minor) "
    "SELECT 'm-' || CAST(m.id AS VARCHAR(20)), 'entry', CAST(m.entry_id AS VARCHAR(36)), "
    "COALESCE(e.amount_minor, 0) FROM reconciliation_matches m JOIN bank_statement_entries e ON e.id = m.entry_id",
    "INSERT INTO reconciliation_group_members (group_id, kind, ref, amount_minor) "
    "SELECT 'm-' || CAST(m.id AS VARCHAR(20)), 'order', m.order_id, -COALESCE(o.amount_minor, 0) "
    "FROM reconciliation_matches m JOIN bank_statement_entries e ON e.id = m.entry_id "
    "LEFT JOIN payment_orders o ON o.id = m.order_id",
    "INSERT INTO reconciliation_claims (kind, ref, group_id) "
    "SELECT kind, ref, group_id FROM reconciliation_group_members",
]


def upgrade() -> None:
    op.create_table(
        "reconciliation_groups",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("strategy", sa.String(8), nullable=False),
        sa.Column("confidence", sa.String(8), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("account", sa.String(64), nullable=True),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger(), nullable=True),
        sa.Column("write_off_account", sa.String(200), nullable=True),
        sa.Column("supersedes", sa.String(36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("company_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.CheckConstraint("status IN ('auto','accepted','manual','written_off','rejected','unmatched')",
                           name=op.f("ck_reconciliation_groups_status")),
        sa.CheckConstraint("fee_minor >= 0", name=op.f("ck_reconciliation_groups_fee")),
        sa.ForeignKeyConstraint(["supersedes"], ["reconciliation_groups.id"],
                                name=op.f("fk_reconciliation_groups_supersedes_reconciliation_groups")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_groups")),
    )
    op.create_index("ix_reconciliation_groups_created", "reconciliation_groups", ["created_at", "id"])
    op.create_index("ix_reconciliation_groups_supersedes", "reconciliation_groups", ["supersedes"])
    op.create_table(
        "reconciliation_group_members",
        sa.Column("group_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("ref", sa.String(36), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("kind IN ('entry','order')", name=op.f("ck_reconciliation_group_members_kind")),
        sa.ForeignKeyConstraint(["group_id"], ["reconciliation_groups.id"],
                                name=op.f("fk_reconciliation_group_members_group_id_reconciliation_groups")),
        sa.PrimaryKeyConstraint("group_id", "kind", "ref", name="pk_reconciliation_group_members"),
    )
    op.create_index("ix_reconciliation_group_members_ref", "reconciliation_group_members", ["kind", "ref"])
    op.create_table(
        "reconciliation_claims",
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("ref", sa.String(36), nullable=False),
        sa.Column("group_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["reconciliation_groups.id"],
                                name=op.f("fk_reconciliation_claims_group_id_reconciliation_groups")),
        sa.PrimaryKeyConstraint("kind", "ref", name="pk_reconciliation_claims"),
    )
    op.create_index("ix_reconciliation_claims_group", "reconciliation_claims", ["group_id"])
    for sql in _COPY:
        op.execute(sql)
    dialect = op.get_bind().dialect.name
    for sql in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRESQL_TRIGGERS if dialect == "postgresql" else []:
        op.execute(sql)


def downgrade() -> None:
    op.drop_table("reconciliation_claims")
    op.drop_table("reconciliation_group_members")
    op.drop_table("reconciliation_groups")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS reconciliation_append_only() CASCADE")
