"""The transactional outbox: external effects written in the same transaction as the state change.

A row is a promise to do one thing outside (submit a message to a bank, deliver a webhook). The
dispatcher claims due rows, performs the effect, and marks them delivered. Effects must be
idempotent at the receiver (the bank deduplicates on MsgId), because a crash between the effect
and the mark re-delivers: at-least-once here, exactly-once end to end.
"""

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, String, Table, Text

from yinqi.adapters.db.metadata import metadata

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("topic", String(64), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending, delivered, dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("claimed_until", DateTime(timezone=True), nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)
