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
    # The first of `seqs` whose postings are fewer than two or do not sum to zero per currency.
    """CREATE OR REPLACE FUNCTION ledger_first_unbalanced(seqs bigint[]) RETURNS bigint
       LANGUAGE sql STABLE AS $$
         SELECT c.seq FROM (SELECT s.seq, count(p.seq) AS n, coalesce(sum(p.amount_minor), 0) AS total
                            FROM unnest(seqs) AS s(seq) LEFT JOIN ledger_postings p ON p.seq = s.seq
                            GROUP BY s.seq, p.currency) AS c
         GROUP BY c.seq HAVING sum(c.n) < 2 OR bool_or(c.total <> 0) ORDER BY c.seq LIMIT 1
       $$""",
    """CREATE OR REPLACE FUNCTION ledger_new_rows_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE bad bigint;
       BEGIN
         SELECT ledger_first_unbalanced(array_agg(DISTINCT seq)) INTO bad FROM new_rows;
         IF bad IS NOT NULL THEN
           RAISE EXCEPTION 'ledger entry % does not balance per currency', bad USING ERRCODE = 'check_violation';
         END IF;
         RETURN NULL;
       END $$""",
    # Set-based, once per statement: a new entry must arrive with its postings in the same
    # statement (the store writes both in one), and postings added to an entry later are
    # re-checked against all of that entry's postings.
    *(f"CREATE TRIGGER {t}_balanced AFTER INSERT ON {t} REFERENCING NEW TABLE AS new_rows "
      f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_new_rows_balanced()" for t in JOURNAL_TABLES),
]


def _attach(table: Table, statements: list[str], dialect: str) -> None:
    for sql in statements:  # DDL() formats with %, so PL/pgSQL's % placeholders are doubled
        event.listen(table, "after_create", DDL(sql.replace("%", "%%")).execute_if(dialect=dialect))


_attach(ledger_postings, APPEND_ONLY_DDL_SQLITE, "sqlite")
_attach(ledger_postings, [*APPEND_ONLY_DDL_PG, *BALANCED_DDL_PG], "postgresql")
