"""Encryption at rest (R19): sealed account numbers, blind indexes, masked display values, and
key rotation requests.

Every column that held an account number, or a document carrying one (pain.001 payload, pain.002
report, idempotent request and response bodies), gets a sealed counterpart; the clear columns
become nullable and are no longer written (pre-0007 rows keep and read their clear values; ADR 0011).
`bank_statements.account` / `bank_statement_entries.account` keep their unique constraints and
hold the blind index from now on. On SQLite the NOT NULL relaxation rebuilds the tables (batch
mode). `payment_orders` and `bank_messages` have child tables, and SQLite's own recipe for
rebuilding a parent table needs foreign keys OFF, which only takes effect outside a transaction:
so on SQLite this revision commits the revisions before it, rebuilds with foreign keys off, checks
`PRAGMA foreign_key_check` is empty, commits, and switches them back on (also when it fails).

Revision ID: 0007_encryption
Revises: 0001
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0007_encryption"
down_revision = "0001"
branch_labels = None
depends_on = None

_SEALED = [  # (table, column, type) added
    ("payment_orders", "payer_account_enc", sa.Text()),
    ("payment_orders", "payer_account_bidx", sa.String(32)),
    ("payment_orders", "payer_account_masked", sa.String(40)),
    ("payment_orders", "payee_account_enc", sa.Text()),
    ("payment_orders", "payee_account_bidx", sa.String(32)),
    ("payment_orders", "payee_account_masked", sa.String(40)),
    ("bank_messages", "debtor_account_enc", sa.Text()),
    ("bank_messages", "debtor_account_bidx", sa.String(32)),
    ("bank_messages", "debtor_account_masked", sa.String(40)),
    ("bank_messages", "payload_enc", sa.Text()),
    ("bank_messages", "status_report_enc", sa.Text()),
    ("idempotency_keys", "response_body_enc", sa.Text()),
    ("bank_statements", "account_enc", sa.Text()),
    ("bank_statements", "account_masked", sa.String(40)),
]
_RELAXED = [  # (table, column, type) no longer NOT NULL
    ("payment_orders", "payer_account_number", sa.String(34)),
    ("payment_orders", "payee_account_number", sa.String(34)),
    ("bank_messages", "debtor_account", sa.String(64)),
    ("bank_messages", "payload", sa.LargeBinary()),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        _alter_columns()
    else:
        _with_foreign_keys_off(_alter_columns)
    _create_rotations()


def _with_foreign_keys_off(work: Callable[[], None]) -> None:
    bind = op.get_bind()
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys = OFF")
    bind.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        work()
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"rebuilding the tables broke foreign keys: {broken[:5]}")
        bind.exec_driver_sql("COMMIT")
    except BaseException:
        bind.exec_driver_sql("ROLLBACK")
        raise
    finally:
        bind.exec_driver_sql("PRAGMA foreign_keys = ON")
        bind.exec_driver_sql("BEGIN IMMEDIATE")  # the transaction the caller commits (or rolls back)


def _alter_columns() -> None:
    for table in dict.fromkeys(t for t, _, _ in _SEALED + _RELAXED):
        with op.batch_alter_table(table) as batch:
            for _, column, type_ in (c for c in _SEALED if c[0] == table):
                batch.add_column(sa.Column(column, type_, nullable=True))
            for _, column, type_ in (c for c in _RELAXED if c[0] == table):
                batch.alter_column(column, existing_type=type_, nullable=True)
    op.create_index("ix_payment_orders_payee_bidx", "payment_orders", ["payee_account_bidx"])


def _create_rotations() -> None:
    op.create_table(
        "field_key_rotations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("from_key_id", sa.String(17), nullable=False),
        sa.Column("to_key_id", sa.String(17), nullable=True),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(128), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resealed", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('requested', 'running', 'completed')",
                           name=op.f("ck_field_key_rotations_status")),
        sa.CheckConstraint("approved_by IS NULL OR approved_by <> requested_by",
                           name=op.f("ck_field_key_rotations_two_admins")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_key_rotations")),
    )


def downgrade() -> None:
    op.drop_table("field_key_rotations")
    op.drop_index("ix_payment_orders_payee_bidx", table_name="payment_orders")

    def drop() -> None:
        for table in dict.fromkeys(t for t, _, _ in _SEALED):
            with op.batch_alter_table(table) as batch:
                for _, column, _type in (c for c in _SEALED if c[0] == table):
                    batch.drop_column(column)

    if op.get_bind().dialect.name == "sqlite":
        _with_foreign_keys_off(drop)
    else:
        drop()
