"""Ledger tables: accounts, balances, the append-only journal (entries + postings), the chain head.

Amounts are BigInteger minor units. The journal is append-only three times over: no code path
updates or deletes it, database triggers refuse UPDATE/DELETE on both backends, and the HMAC chain
plus signed checkpoints make any edit that bypasses the triggers visible to `yinqi ledger verify`.
On PostgreSQL statement-level triggers with transition tables re-check, once per INSERT statement
and set-based, that every entry touched has at least two postings summing to zero per currency (the
storage-boundary half of STYLE rule 7). A new entry must therefore arrive in the same statement as
its postings, which the store does with one `WITH … INSERT` per batch. SQLite has only row triggers,
so there the store's own check on the rows it writes and verify carry it. `reverses_seq` is UNIQUE: an entry can be
reversed once, even by two racing transactions.

The append-only triggers and, on PostgreSQL, the set-based balance trigger are created by the
Alembic migrations (`migrations/versions/0001_initial_schema.py`), the one source of schema truth.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
)

from yinqi.adapters.db.metadata import metadata

# SQLite: an INTEGER PRIMARY KEY is the rowid itself (no second index); elsewhere a BIGINT.
_Seq = BigInteger().with_variant(Integer(), "sqlite")

ledger_accounts = Table(
    "ledger_accounts", metadata,
    Column("code", String(200), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("allow_overdraft", Boolean, nullable=False),
    Column("name", String(200), nullable=False, server_default=""),
    CheckConstraint("kind IN ('asset','liability','equity','income','expense')", name="kind"),
)

ledger_balances = Table(
    "ledger_balances", metadata,
    Column("account_code", String(200), ForeignKey("ledger_accounts.code"), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("balance_minor", BigInteger, nullable=False),
)

ledger_entries = Table(
    "ledger_entries", metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("memo", Text, nullable=False),
    Column("metadata_json", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at_utc", String(27), nullable=False),
    Column("reverses_seq", BigInteger, ForeignKey("ledger_entries.seq"), nullable=True, unique=True),
    Column("prev_hash", LargeBinary(32), nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    CheckConstraint("seq > 0", name="seq_positive"),
)

ledger_postings = Table(
    "ledger_postings", metadata,
    Column("seq", BigInteger, ForeignKey("ledger_entries.seq"), primary_key=True, autoincrement=False),
    Column("idx", SmallInteger, primary_key=True, autoincrement=False),
    Column("account_code", String(200), ForeignKey("ledger_accounts.code"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    CheckConstraint("amount_minor <> 0", name="amount_nonzero"),
    sqlite_with_rowid=False,  # clustered on (seq, idx): appends and verify scans stay sequential
)
Index("ix_ledger_postings_account_seq", ledger_postings.c.account_code, ledger_postings.c.seq)

ledger_chain_head = Table(
    "ledger_chain_head", metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)
