"""Beneficiary account numbers sealed at rest (R19), like the order accounts in 0007.

`beneficiaries` gets `account_enc` (vault blob), `account_bidx` (HMAC blind index, what lookups
compare) and `account_masked`; `beneficiary_changes` gets sealed and masked copies of the proposed
and the replaced account. The clear columns become nullable and are no longer written; rows older
than this revision keep and read their clear values until they are changed (ADR 0011).

`beneficiary_changes` is append-only, yet a key rotation must re-seal its blobs in place. The
guard now refuses every UPDATE except one that touches only the two sealed columns: on SQLite a
trigger `BEFORE UPDATE OF <every other column>`, on PostgreSQL a row trigger comparing the row
without those columns. DELETE and TRUNCATE stay refused.

Revision ID: 0010_seal_beneficiaries
Revises: 0009_recon_groups
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_seal_beneficiaries"
down_revision = "0009_recon_groups"
branch_labels = None
depends_on = None

_RESEALABLE = ("new_account_enc", "old_account_enc")
_HISTORY_COLUMNS = (
    "change_id", "seq", "beneficiary_id", "company_id", "kind", "action", "actor", "at", "reason", "name",
    "new_account_scheme", "new_account_number", "new_bank_code", "bic", "country", "address",
    "old_account_scheme", "old_account_number", "old_bank_code", "cooling_off_until",
    "new_account_masked", "old_account_masked",
)

SQLITE_TRIGGERS = [
    "DROP TRIGGER beneficiary_changes_no_update",
    f"CREATE TRIGGER beneficiary_changes_no_update BEFORE UPDATE OF {', '.join(_HISTORY_COLUMNS)} "
    "ON beneficiary_changes BEGIN SELECT RAISE(ABORT, 'beneficiary_changes is append-only'); END",
]

_WITHOUT_SEALED = " - ".join(f"'{c}'" for c in _RESEALABLE)
POSTGRESQL_TRIGGERS = [
    "DROP TRIGGER beneficiary_changes_append_only ON beneficiary_changes",
    "CREATE TRIGGER beneficiary_changes_append_only BEFORE DELETE OR TRUNCATE ON beneficiary_changes "
    "FOR EACH STATEMENT EXECUTE FUNCTION beneficiary_changes_append_only()",
    "CREATE OR REPLACE FUNCTION beneficiary_changes_reseal_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN IF (to_jsonb(NEW) - {_WITHOUT_SEALED}) IS DISTINCT FROM (to_jsonb(OLD) - {_WITHOUT_SEALED}) THEN "
    "RAISE EXCEPTION 'beneficiary_changes is append-only' USING ERRCODE = 'restrict_violation'; END IF; "
    "RETURN NEW; END $$",
    "CREATE TRIGGER beneficiary_changes_reseal_only BEFORE UPDATE ON beneficiary_changes "
    "FOR EACH ROW EXECUTE FUNCTION beneficiary_changes_reseal_only()",
]


def upgrade() -> None:
    with op.batch_alter_table("beneficiaries") as batch:
        batch.add_column(sa.Column("account_enc", sa.Text(), nullable=True))
        batch.add_column(sa.Column("account_bidx", sa.String(32), nullable=True))
        batch.add_column(sa.Column("account_masked", sa.String(40), nullable=True))
        batch.alter_column("account_number", existing_type=sa.String(34), nullable=True)
        batch.drop_index("ix_beneficiaries_company_account")
        batch.create_index("ix_beneficiaries_company_account_bidx", ["company_id", "account_bidx"])
    # Plain ADD COLUMN (no table rebuild): the append-only triggers stay in place on SQLite too.
    for column, type_ in (("new_account_enc", sa.Text()), ("new_account_masked", sa.String(40)),
                          ("old_account_enc", sa.Text()), ("old_account_masked", sa.String(40))):
        op.add_column("beneficiary_changes", sa.Column(column, type_, nullable=True))
    dialect = op.get_bind().dialect.name
    for sql in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRESQL_TRIGGERS if dialect == "postgresql" else []:
        op.execute(sql)


def downgrade() -> None:
    """Drops the sealed columns (the clear ones stay nullable: rows written since hold no clear value)."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER beneficiary_changes_reseal_only ON beneficiary_changes")
        op.execute("DROP FUNCTION beneficiary_changes_reseal_only()")
        op.execute("DROP TRIGGER beneficiary_changes_append_only ON beneficiary_changes")
        op.execute("CREATE TRIGGER beneficiary_changes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON "
                   "beneficiary_changes FOR EACH STATEMENT EXECUTE FUNCTION beneficiary_changes_append_only()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER beneficiary_changes_no_update")
        op.execute("CREATE TRIGGER beneficiary_changes_no_update BEFORE UPDATE ON beneficiary_changes "
                   "BEGIN SELECT RAISE(ABORT, 'beneficiary_changes is append-only'); END")
    for column in ("new_account_enc", "new_account_masked", "old_account_enc", "old_account_masked"):
        op.drop_column("beneficiary_changes", column)
    with op.batch_alter_table("beneficiaries") as batch:
        batch.drop_index("ix_beneficiaries_company_account_bidx")
        batch.create_index("ix_beneficiaries_company_account", ["company_id", "account_number"])
        for column in ("account_enc", "account_bidx", "account_masked"):
            batch.drop_column(column)
