"""Statement-level checks (revision 0011_statement_checks, ADR 0007 "Statement checks").

`statement_checks`: one row per stored statement version that was checked, with what the checks
read from it (sequence number, opening and closing balances in minor units, the ledger balance it
was compared with) and the checks that could not run. `statement_breaks`: the alerts, one per break
and amount. A break belongs to the statement (account, statement id), not to one file version:
`uq_statement_breaks_account` keeps a re-sent or re-imported statement from raising it twice.
Both tables are history (triggers refuse UPDATE and DELETE on SQLite and PostgreSQL): a check is
what the hub saw when the statement arrived, and an alert is never edited away.
`account` holds the account's blind index, like `bank_statements.account`.
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

_id = BigInteger().with_variant(Integer, "sqlite")

statement_checks = Table(
    "statement_checks",
    metadata,
    Column("statement_pk", _id, ForeignKey("bank_statements.id"), primary_key=True),
    Column("account", String(64), nullable=False),
    Column("statement_id", String(70), nullable=False),
    Column("sequence_number", String(35), nullable=True),
    Column("currency", String(3), nullable=True),
    Column("opening_minor", BigInteger, nullable=True),
    Column("opening_date", Date, nullable=True),
    Column("closing_minor", BigInteger, nullable=True),
    Column("closing_date", Date, nullable=True),
    Column("ledger_minor", BigInteger, nullable=True),
    Column("breaks", Integer, nullable=False),
    Column("skipped", Text, nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    Index("ix_statement_checks_account", "account", "closing_date"),
)

statement_breaks = Table(
    "statement_breaks",
    metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("statement_pk", _id, ForeignKey("bank_statements.id"), nullable=False),
    Column("account", String(64), nullable=False),
    Column("statement_id", String(70), nullable=False),
    Column("code", String(32), nullable=False),
    Column("currency", String(3), nullable=True),
    Column("amount_minor", BigInteger, nullable=True),
    Column("expected", Text, nullable=False),
    Column("actual", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("account", "statement_id", "code", name="uq_statement_breaks_account"),
)
