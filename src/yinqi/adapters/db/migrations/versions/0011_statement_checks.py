"""Statement-level checks and their alerts (issue 6 item 4, ADR 0007 "Statement checks").

`statement_checks` keeps what each checked statement version said (sequence number, opening and
closing balances, the ledger balance it met); `statement_breaks` the alerts, unique per (account,
statement id, check) so a re-import raises nothing twice. Both are history: the same triggers as
`payment_order_events` (0001) refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).

Revision ID: 0011_statement_checks
Revises: 0010_seal_beneficiaries
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_statement_checks"
down_revision = "0010_seal_beneficiaries"
branch_labels = None
depends_on = None

_HISTORY = ("statement_checks", "statement_breaks")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER {t}_no_{verb} BEFORE {verb.upper()} ON {t} BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END"
    for t in _HISTORY for verb in ("update", "delete")
]

POSTGRESQL_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION statement_checks_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation'; END $$",
    *[f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {t} "
      "FOR EACH STATEMENT EXECUTE FUNCTION statement_checks_append_only()" for t in _HISTORY],
]


def upgrade() -> None:
    op.create_table(
        "statement_checks",
        sa.Column("statement_pk", _ID, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("statement_id", sa.String(70), nullable=False),
        sa.Column("sequence_number", sa.String(35), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("opening_minor", sa.BigInteger(), nullable=True),
        sa.Column("opening_date", sa.Date(), nullable=True),
        sa.Column("closing_minor", sa.BigInteger(), nullable=True),
        sa.Column("closing_date", sa.Date(), nullable=True),
        sa.Column("ledger_minor", sa.BigInteger(), nullable=True),
        sa.Column("breaks", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["statement_pk"], ["bank_statements.id"],
                                name=op.f("fk_statement_checks_statement_pk_bank_statements")),
        sa.PrimaryKeyConstraint("statement_pk", name=op.f("pk_statement_checks")),
    )
    op.create_index("ix_statement_checks_account", "statement_checks", ["account", "closing_date"])
    op.create_table(
        "statement_breaks",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("statement_pk", _ID, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("statement_id", sa.String(70), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("expected", sa.Text(), nullable=False),
        sa.Column("actual", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["statement_pk"], ["bank_statements.id"],
                                name=op.f("fk_statement_breaks_statement_pk_bank_statements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_breaks")),
        sa.UniqueConstraint("account", "statement_id", "code", name="uq_statement_breaks_account"),
    )
    dialect = op.get_bind().dialect.name
    for sql in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRESQL_TRIGGERS if dialect == "postgresql" else []:
        op.execute(sql)


def downgrade() -> None:
    op.drop_table("statement_breaks")
    op.drop_index("ix_statement_checks_account", table_name="statement_checks")
    op.drop_table("statement_checks")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS statement_checks_append_only() CASCADE")
