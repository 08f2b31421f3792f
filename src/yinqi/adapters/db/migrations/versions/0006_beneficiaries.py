"""Beneficiaries as master data: `beneficiaries`, append-only `beneficiary_changes`; and the index
behind duplicate-order detection (same company, currency, amount, execution date window).

Revision ID: 0006_beneficiaries
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_beneficiaries"
down_revision = "0001"
branch_labels = None
depends_on = None

# Who proposed and who approved an account is evidence: the history is append-only.
SQLITE_TRIGGERS = [
    "CREATE TRIGGER beneficiary_changes_no_update BEFORE UPDATE ON beneficiary_changes "
    "BEGIN SELECT RAISE(ABORT, 'beneficiary_changes is append-only'); END",
    "CREATE TRIGGER beneficiary_changes_no_delete BEFORE DELETE ON beneficiary_changes "
    "BEGIN SELECT RAISE(ABORT, 'beneficiary_changes is append-only'); END",
]

POSTGRESQL_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION beneficiary_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'beneficiary_changes is append-only' USING ERRCODE = 'restrict_violation'; END $$",
    "CREATE TRIGGER beneficiary_changes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON beneficiary_changes "
    "FOR EACH STATEMENT EXECUTE FUNCTION beneficiary_changes_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "beneficiaries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=140), nullable=False),
        sa.Column("name_key", sa.String(length=140), nullable=False),
        sa.Column("account_scheme", sa.String(length=8), nullable=False),
        sa.Column("account_number", sa.String(length=34), nullable=False),
        sa.Column("bank_code", sa.String(length=12), nullable=True),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pending_change_id", sa.String(length=36), nullable=True),
        sa.Column("cooling_off_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_beneficiaries")),
    )
    op.create_index("ix_beneficiaries_company_name", "beneficiaries", ["company_id", "name_key"])
    op.create_index("ix_beneficiaries_company_account", "beneficiaries", ["company_id", "account_number"])
    op.create_table(
        "beneficiary_changes",
        sa.Column("change_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("beneficiary_id", sa.String(length=36), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=140), nullable=True),
        sa.Column("new_account_scheme", sa.String(length=8), nullable=True),
        sa.Column("new_account_number", sa.String(length=34), nullable=True),
        sa.Column("new_bank_code", sa.String(length=12), nullable=True),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("old_account_scheme", sa.String(length=8), nullable=True),
        sa.Column("old_account_number", sa.String(length=34), nullable=True),
        sa.Column("old_bank_code", sa.String(length=12), nullable=True),
        sa.Column("cooling_off_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("seq IN (1, 2)", name=op.f("ck_beneficiary_changes_seq_proposal_or_decision")),
        sa.PrimaryKeyConstraint("change_id", "seq", name=op.f("pk_beneficiary_changes")),
    )
    op.create_index("ix_beneficiary_changes_beneficiary", "beneficiary_changes", ["beneficiary_id", "change_id"])
    # Duplicate suspicion looks up a company's orders by currency and amount in a date window; the
    # payee account is compared after reading (it is encrypted at rest, R19).
    op.create_index("ix_payment_orders_duplicate_lookup", "payment_orders",
                    ["company_id", "currency", "amount_minor", "requested_execution_date"])
    dialect = op.get_bind().dialect.name
    for sql in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRESQL_TRIGGERS if dialect == "postgresql" else []:
        op.execute(sql)


def downgrade() -> None:
    op.drop_index("ix_payment_orders_duplicate_lookup", table_name="payment_orders")
    op.drop_index("ix_beneficiary_changes_beneficiary", table_name="beneficiary_changes")
    op.drop_table("beneficiary_changes")
    op.drop_index("ix_beneficiaries_company_account", table_name="beneficiaries")
    op.drop_index("ix_beneficiaries_company_name", table_name="beneficiaries")
    op.drop_table("beneficiaries")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS beneficiary_changes_append_only() CASCADE")
