"""Payment orders and their append-only, hash-chained events.

`payment_orders` holds the current state of each order; `(company_id, serial)` is unique (the
serial number is the company's idempotency key for the order, R8) and `end_to_end_id` is unique
across the hub (banks report statuses by it). `version` is the optimistic lock.
`payment_order_events` is append-only: its primary key `(order_id, seq)` forbids forks and a
trigger on both backends refuses every UPDATE and DELETE, so history changes only by appending
(the same invariant the repository keeps, asserted a second time at the storage boundary).
Account numbers are sealed at rest (R19, revision 0007_encryption): `*_account_enc` holds the
AES-GCM blob, `*_account_bidx` the blind index for lookups, `*_account_masked` the display form.
`*_account_number` is no longer written; rows older than 0007 keep their clear values there and
are read as they are (sealing them is still to be built, ADR 0011).
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from yinqi.adapters.db.metadata import metadata

payment_orders = Table(
    "payment_orders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("company_id", String(64), nullable=False),
    Column("serial", String(35), nullable=False),
    Column("state", String(24), nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_hash", String(64), nullable=False),
    Column("payer_name", String(140), nullable=False),
    Column("payer_account_scheme", String(8), nullable=False),
    Column("payer_account_number", String(34), nullable=True),  # legacy (pre-0007) clear value
    Column("payer_bank_code", String(12), nullable=True),
    Column("payer_bic", String(11), nullable=True),
    Column("payer_currency", String(3), nullable=False),
    Column("payee_name", String(140), nullable=False),
    Column("payee_account_scheme", String(8), nullable=False),
    Column("payee_account_number", String(34), nullable=True),  # legacy (pre-0007) clear value
    Column("payee_bank_code", String(12), nullable=True),
    Column("payee_bic", String(11), nullable=True),
    Column("payee_country", String(2), nullable=False),
    Column("payee_address", Text, nullable=True),  # JSON object of the structured address parts
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("requested_execution_date", Date, nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("purpose_code", String(4), nullable=True),
    Column("remittance_info", String(140), nullable=True),
    Column("end_to_end_id", String(35), nullable=False, unique=True),
    Column("source", String(16), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("reservation_seq", BigInteger, nullable=True),
    Column("settlement_seq", BigInteger, nullable=True),
    Column("bank_message_id", String(35), nullable=True),
    Column("bank_status", String(8), nullable=True),
    Column("bank_reason", String(140), nullable=True),
    Column("payer_account_enc", Text, nullable=True),
    Column("payer_account_bidx", String(32), nullable=True),
    Column("payer_account_masked", String(40), nullable=True),
    Column("payee_account_enc", Text, nullable=True),
    Column("payee_account_bidx", String(32), nullable=True),
    Column("payee_account_masked", String(40), nullable=True),
    UniqueConstraint("company_id", "serial", name="uq_payment_orders_company_serial"),
    Index("ix_payment_orders_company_state", "company_id", "state"),
    Index("ix_payment_orders_created", "created_at", "id"),
    Index("ix_payment_orders_payee_bidx", "payee_account_bidx"),
)

payment_order_events = Table(
    "payment_order_events",
    metadata,
    Column("order_id", String(36), ForeignKey("payment_orders.id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(40), nullable=False),
    Column("from_state", String(24), nullable=True),
    Column("to_state", String(24), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("data", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# Append-only at the database too: the triggers are in migrations/versions/0001_initial_schema.py.

