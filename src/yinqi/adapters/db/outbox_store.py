"""Outbox rows: add inside a use case's transaction; claim, complete or retry from the dispatcher.

Claiming is safe with several dispatchers: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, on SQLite
because every transaction holds the single write lock (BEGIN IMMEDIATE). A claim is a lease
(`claimed_until`): a dispatcher killed mid-effect leaves a row that becomes due again when the
lease ends, so nothing is lost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, exists, func, insert, or_, select, text, update

from yinqi.adapters.db.bulk_insert import in_chunks, insert_rows
from yinqi.adapters.db.tables.outbox import outbox

MAX_ATTEMPTS = 20
BACKOFF_CAP_S = 300
_PAYLOAD = json.JSONEncoder(sort_keys=True, separators=(",", ":"))  # = json.dumps(payload, sort_keys=..., ...)
_KEY = json.JSONEncoder(sort_keys=True)  # = json.dumps(payload, sort_keys=True): one encoder, not one per row


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    topic: str
    aggregate_id: str
    payload: dict[str, Any]
    attempts: int


def backoff_seconds(attempts: int) -> int:
    """Exponential back-off, capped: 1, 2, 4 … 300 s."""
    return int(min(BACKOFF_CAP_S, 2 ** max(0, attempts - 1)))


def _default_key(topic: str, aggregate_id: str, payload: dict[str, Any]) -> str:
    return f"{topic}:{aggregate_id}:{_KEY.encode(payload)}"


class SqlOutbox:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, *, topic: str, aggregate_id: str, payload: dict[str, Any], at: datetime,
            dedupe_key: str | None = None) -> int | None:
        """Queue an effect. With a `dedupe_key` already queued, nothing is added (returns None)."""
        key = dedupe_key or _default_key(topic, aggregate_id, payload)
        existing = self._conn.execute(select(outbox.c.id).where(outbox.c.dedupe_key == key)).scalar()
        if existing is not None:
            return None
        result = self._conn.execute(insert(outbox).values(
            topic=topic, aggregate_id=aggregate_id, dedupe_key=key,
            payload=json.dumps(payload, sort_keys=True, separators=(",", ":")),
            status="pending", attempts=0, created_at=at, next_attempt_at=at))
        return int(result.inserted_primary_key[0])

    def add_many(self, rows: Sequence[dict[str, Any]]) -> int:
        """`add` for many rows, each the keyword arguments of one `add` call: one query for the
        dedupe keys already queued, one multi-row INSERT for the rest (a key repeated within `rows`
        is queued once, the first). Returns how many rows were added."""
        keyed = [(r.get("dedupe_key") or _default_key(r["topic"], r["aggregate_id"], r["payload"]), r) for r in rows]
        keys = [k for k, _ in keyed]
        queued: set[str] = set()
        for condition in in_chunks(self._conn, outbox.c.dedupe_key, keys):
            queued.update(self._conn.execute(select(outbox.c.dedupe_key).where(condition)).scalars())
        values = []
        for key, r in keyed:
            if key not in queued:
                queued.add(key)
                values.append({"topic": r["topic"], "aggregate_id": r["aggregate_id"], "dedupe_key": key,
                               "payload": _PAYLOAD.encode(r["payload"]),
                               "status": "pending", "attempts": 0, "created_at": r["at"], "next_attempt_at": r["at"]})
        insert_rows(self._conn, outbox, values)
        return len(values)

    def claim_due(self, *, topics: list[str], now: datetime, limit: int = 50,
                  lease_s: int = 60) -> list[OutboxItem]:
        """Lease up to `limit` due rows, oldest first (preserves order per aggregate)."""
        query = (select(outbox).where(and_(
            outbox.c.status == "pending", outbox.c.topic.in_(topics), outbox.c.next_attempt_at <= now,
            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now)))
            .order_by(outbox.c.id).limit(limit))
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = self._conn.execute(query).mappings().all()
        if rows:
            self._conn.execute(update(outbox).where(outbox.c.id.in_([r["id"] for r in rows]))
                               .values(claimed_until=now + timedelta(seconds=lease_s)))
        return [OutboxItem(r["id"], r["topic"], r["aggregate_id"], json.loads(r["payload"]),
                           r["attempts"]) for r in rows]

    def claim_in_order(self, *, topics: list[str], now: datetime, limit: int = 100,
                       lease_s: int = 60) -> list[list[OutboxItem]]:
        """Lease due rows for in-order delivery: per aggregate, its oldest pending rows up to the
        first one that is not due yet (backing off after a failure) or is leased by someone else.
        Returns one list per aggregate, oldest first; deliver each list in order and stop at the
        first failure (`release` the rest), and no row ever overtakes an earlier one.

        Claimers take turns (a transaction-level advisory lock on PostgreSQL, the write lock on
        SQLite), so two workers never split one aggregate's rows between them."""
        if self._conn.dialect.name == "postgresql":
            self._conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                               {"name": "yinqi.outbox.claim_in_order:" + ",".join(sorted(topics))})
        earlier = outbox.alias("earlier")
        blocked = exists().where(and_(
            earlier.c.aggregate_id == outbox.c.aggregate_id, earlier.c.topic.in_(topics),
            earlier.c.status == "pending", earlier.c.id < outbox.c.id,
            or_(earlier.c.next_attempt_at > now, earlier.c.claimed_until > now)))
        query = (select(outbox).where(and_(
            outbox.c.status == "pending", outbox.c.topic.in_(topics), outbox.c.next_attempt_at <= now,
            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now), ~blocked))
            .order_by(outbox.c.id).limit(limit))
        rows = self._conn.execute(query).mappings().all()
        if rows:
            self._conn.execute(update(outbox).where(outbox.c.id.in_([r["id"] for r in rows]))
                               .values(claimed_until=now + timedelta(seconds=lease_s)))
        batches: dict[str, list[OutboxItem]] = {}
        for r in rows:
            batches.setdefault(r["aggregate_id"], []).append(
                OutboxItem(r["id"], r["topic"], r["aggregate_id"], json.loads(r["payload"]), r["attempts"]))
        return list(batches.values())

    def release(self, item_ids: list[int]) -> None:
        """Give back leased rows untouched (due again at once, attempts unchanged)."""
        self._conn.execute(update(outbox).where(and_(outbox.c.id.in_(item_ids), outbox.c.status == "pending"))
                           .values(claimed_until=None))

    def mark_delivered(self, item_id: int, *, at: datetime) -> None:
        self._conn.execute(update(outbox).where(outbox.c.id == item_id).values(
            status="delivered", delivered_at=at, claimed_until=None))

    def mark_failed(self, item_id: int, *, at: datetime, error: str, retry_after_s: int | None = None) -> None:
        """Record a failed attempt; schedule the next one, or give up after MAX_ATTEMPTS."""
        attempts = int(self._conn.execute(select(outbox.c.attempts).where(outbox.c.id == item_id)).scalar_one()) + 1
        delay = retry_after_s if retry_after_s is not None else backoff_seconds(attempts)
        self._conn.execute(update(outbox).where(outbox.c.id == item_id).values(
            attempts=attempts, last_error=error[:2000], claimed_until=None,
            status="dead" if attempts >= MAX_ATTEMPTS else "pending",
            next_attempt_at=at + timedelta(seconds=delay)))

    def counts(self) -> dict[str, int]:
        rows = self._conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all()
        return {status: int(n) for status, n in rows}
