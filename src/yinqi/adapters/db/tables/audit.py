"""The audit trail: `audit_events` (append-only, hash-chained) and `audit_chain_head` (one row).

`audit_events` is append-only at the storage boundary too: triggers on both backends refuse every
UPDATE and DELETE (and TRUNCATE on PostgreSQL), created by the Alembic revision `0002_audit`. The
head row holds the number of events and the last hash so a removed tail is caught by
`yinqi audit verify`; a trigger lets its `seq` only grow and refuses deleting it. The timestamp is
stored in the chain's canonical text form (`2024-01-02T03:04:05.000000Z`), which sorts like the instant, so range
filters compare strings and the verifier rebuilds exactly the hashed bytes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
)

from yinqi.adapters.db.metadata import metadata

_Seq = BigInteger().with_variant(Integer(), "sqlite")

audit_events = Table(
    "audit_events", metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=False),
    Column("at_utc", String(27), nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("actor_channel", String(16), nullable=False),
    Column("source_address", String(64), nullable=False),
    Column("action", String(100), nullable=False),
    Column("object_type", String(64), nullable=False),
    Column("object_id", String(200), nullable=True),
    Column("outcome", String(8), nullable=False),
    Column("reason", Text, nullable=False),
    Column("before_json", Text, nullable=True),
    Column("after_json", Text, nullable=True),
    Column("company_id", String(64), nullable=True),
    Column("prev_hash", LargeBinary(32), nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    CheckConstraint("seq > 0", name="seq_positive"),
    CheckConstraint("outcome IN ('success','denied','failed')", name="outcome"),
)
Index("ix_audit_events_actor_seq", audit_events.c.actor_id, audit_events.c.seq)
Index("ix_audit_events_object_seq", audit_events.c.object_id, audit_events.c.seq)
Index("ix_audit_events_at_utc", audit_events.c.at_utc)

audit_chain_head = Table(
    "audit_chain_head", metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)
