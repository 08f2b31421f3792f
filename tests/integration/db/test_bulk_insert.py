"""`bulk_insert.insert_rows` stores what `insert(table)` stores (same types, same rendering of
times in any zone), raises IntegrityError on a taken unique key, and refuses ragged rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from yinqi.adapters.db.bulk_insert import insert_rows
from yinqi.adapters.db.tables.audit import audit_events
from yinqi.adapters.db.tables.outbox import outbox

AT = datetime(2030, 1, 10, 9, 0, 0, 123456, tzinfo=UTC)
EAST = timezone(timedelta(hours=8))


def outbox_rows(prefix: str) -> list[dict[str, Any]]:
    times = [AT, AT.astimezone(EAST), AT + timedelta(microseconds=1), AT]  # equal instants in two zones
    return [{"topic": "t", "aggregate_id": f"a{i}", "dedupe_key": f"{prefix}-{i}", "payload": '{"ü":"x\\n"}',
             "status": "pending", "attempts": i, "created_at": at, "next_attempt_at": at} for i, at in enumerate(times)]


def audit_rows(first_seq: int) -> list[dict[str, Any]]:
    return [{"seq": first_seq + i, "at_utc": "2030-01-10T09:00:00.000000Z", "actor_id": "经办", "actor_channel": "cli",
             "source_address": "", "action": "order.create", "object_type": "payment_order", "object_id": None,
             "outcome": "success", "reason": "tab\there", "before_json": None, "after_json": '{"a":1}',
             "company_id": "ACME", "prev_hash": bytes([i]) * 32, "hash": bytes(range(32))} for i in range(3)]


def stored(engine: Engine, query: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]


def test_rows_are_stored_as_an_insert_statement_stores_them(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(outbox), outbox_rows("plain"))
        insert_rows(conn, outbox, outbox_rows("bulk"))
        conn.execute(insert(audit_events), audit_rows(1))
        insert_rows(conn, audit_events, audit_rows(101))
    columns = [c for c in outbox.c if c.name not in ("id", "dedupe_key")]
    plain = stored(engine, select(*columns).where(outbox.c.dedupe_key.like("plain-%")).order_by(outbox.c.id))
    bulk = stored(engine, select(*columns).where(outbox.c.dedupe_key.like("bulk-%")).order_by(outbox.c.id))
    assert bulk == plain and len(bulk) == 4
    audit_columns = [c for c in audit_events.c if c.name != "seq"]
    first = stored(engine, select(*audit_columns).where(audit_events.c.seq < 100).order_by(audit_events.c.seq))
    second = stored(engine, select(*audit_columns).where(audit_events.c.seq > 100).order_by(audit_events.c.seq))
    assert second == first and len(second) == 3


def test_a_taken_unique_key_raises_integrity_error_and_stores_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_rows(conn, outbox, outbox_rows("k")[:1])
    with engine.begin() as conn, pytest.raises(IntegrityError), conn.begin_nested():
        insert_rows(conn, outbox, outbox_rows("k")[1:] + outbox_rows("k")[:1])
    assert len(stored(engine, select(outbox.c.id))) == 1


def test_rows_naming_different_columns_are_refused(engine: Engine) -> None:
    ragged = outbox_rows("r")
    del ragged[1]["attempts"]
    with engine.begin() as conn, pytest.raises(AssertionError):
        insert_rows(conn, outbox, ragged)


def test_a_column_with_a_python_side_default_must_be_given(engine: Engine) -> None:
    rows = outbox_rows("d")
    for row in rows:
        del row["attempts"]  # `attempts` has default=0 in Python only
    with engine.begin() as conn, pytest.raises(AssertionError):
        insert_rows(conn, outbox, rows)
