"""Ledger tables: accounts, balances, the append-only journal (entries + postings), the chain head.

Amounts are BigInteger minor units. The journal is append-only three times over: no code path
updates or deletes it, database triggers refuse UPDATE/DELETE on both backends, and the HMAC chain
plus signed checkpoints make any edit that bypasses the triggers visible to `yinqi ledger verify`.
On PostgreSQL a deferred constraint trigger re-checks at commit that each entry's postings sum to
zero per currency (the storage-boundary half of STYLE rule 7; SQLite has no deferred triggers, so
there the store's own check and verify carry it). `reverses_seq` is UNIQUE: an entry can be
reversed once, even by two racing transactions.

The triggers are DDL events on `create_all`; the Alembic migration must carry the same DDL
(`APPEND_ONLY_DDL`, `BALANCED_DDL_PG`).
"""

from __future__ import annotations

from sqlalchemy import (
    DDL,
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
    event,
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

JOURNAL_TABLES = ("ledger_entries", "ledger_postings")

APPEND_ONLY_DDL_SQLITE = [
    f"CREATE TRIGGER {t}_no_{op.lower()} BEFORE {op} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END"
    for t in JOURNAL_TABLES for op in ("UPDATE", "DELETE")
]

APPEND_ONLY_DDL_PG = [
    """CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
       END $$""",
    *(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
      f"FOR EACH ROW EXECUTE FUNCTION ledger_append_only()" for t in JOURNAL_TABLES),
    *(f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
      f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()" for t in JOURNAL_TABLES),
]

BALANCED_DDL_PG = [
    """CREATE OR REPLACE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF (SELECT count(*) FROM ledger_postings WHERE seq = NEW.seq) < 2
            OR EXISTS (SELECT 1 FROM ledger_postings WHERE seq = NEW.seq
                       GROUP BY currency HAVING sum(amount_minor) <> 0) THEN
           RAISE EXCEPTION 'ledger entry % does not balance per currency', NEW.seq
             USING ERRCODE = 'check_violation';
         END IF;
         RETURN NULL;
       END $$""",
    "CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced()",
]


def _attach(table: Table, statements: list[str], dialect: str) -> None:
    for sql in statements:  # DDL() formats with %, so PL/pgSQL's % placeholders are doubled
        event.listen(table, "after_create", DDL(sql.replace("%", "%%")).execute_if(dialect=dialect))


_attach(ledger_postings, APPEND_ONLY_DDL_SQLITE, "sqlite")
_attach(ledger_postings, [*APPEND_ONLY_DDL_PG, *BALANCED_DDL_PG], "postgresql")
