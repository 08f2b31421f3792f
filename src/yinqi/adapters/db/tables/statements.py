"""Imported bank statements, their entries, and reconciliation matches.

Each distinct file version of a statement is stored once ((account, statement id, file hash) is
unique): re-importing the same bytes is a no-op. Banks re-send a day's statement as it grows
(intraday), so entries are deduplicated on their own: (account, bank reference), or the line
position when the bank gives no reference. Entries keep the amount as the bank wrote it (text)
and, where it fits the currency exponent, in minor units.
Matches live in their own append-only table; `entry_id` is unique so one bank line can never pay
two orders.
`account` (both tables) holds the account's blind index, not its number (R19, revision
0007_encryption): dedupe and lookups compare it; `bank_statements.account_enc` keeps the sealed
number and `account_masked` its display form. Rows older than 0007 keep the clear number there.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from yinqi.adapters.db.metadata import metadata

_id = BigInteger().with_variant(Integer, "sqlite")

bank_statements = Table(
    "bank_statements",
    metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("account", String(64), nullable=False),
    Column("statement_id", String(70), nullable=False),
    Column("format", String(32), nullable=False),
    Column("currency", String(3), nullable=True),
    Column("opening_amount", String(40), nullable=True),
    Column("closing_amount", String(40), nullable=True),
    Column("closing_date", Date, nullable=True),
    Column("source_sha256", String(64), nullable=False),
    Column("warnings", Text, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("account_enc", Text, nullable=True),
    Column("account_masked", String(40), nullable=True),
    UniqueConstraint("account", "statement_id", "source_sha256", name="uq_bank_statements_version"),
)

bank_statement_entries = Table(
    "bank_statement_entries",
    metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("statement_pk", _id, ForeignKey("bank_statements.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("account", String(64), nullable=False),
    Column("dedupe_key", String(120), nullable=False),
    Column("amount", String(40), nullable=False),
    Column("amount_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=False),
    Column("status", String(8), nullable=False),
    Column("booking_date", Date, nullable=True),
    Column("value_date", Date, nullable=True),
    Column("bank_reference", String(70), nullable=True),
    Column("end_to_end_ids", Text, nullable=False),
    Column("counterparty_name", Text, nullable=True),
    Column("remittance", Text, nullable=True),
    UniqueConstraint("statement_pk", "line_no", name="uq_bank_statement_entries_line"),
    UniqueConstraint("account", "dedupe_key", name="uq_bank_statement_entries_dedupe"),
)

reconciliation_matches = Table(
    "reconciliation_matches",
    metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("entry_id", _id, ForeignKey("bank_statement_entries.id"), nullable=False, unique=True),
    Column("order_id", String(36), nullable=False, unique=True),
    Column("rule", String(32), nullable=False),
    Column("confidence", String(8), nullable=False),
    Column("matched_at", DateTime(timezone=True), nullable=False),
    Column("matched_by", String(64), nullable=False),
)
