"""Read-only units of work (`SqlUnitOfWork(read_only=True)`, `Hub.read_uow()`) on SQLite and
PostgreSQL: they read, they refuse to write or commit, on SQLite they do not wait for a writer that
holds the write lock (the API's token check must not queue behind a group-commit batch), and the
pooled connection they used writes again afterwards."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import DBAPIError

from tests.support.orders import LEDGER_KEY
from yinqi.adapters.db.tables.identity import companies
from yinqi.adapters.db.uow import SqlUnitOfWork

AT = datetime(2026, 1, 1, tzinfo=UTC)


def uow(engine: Engine, *, read_only: bool = False) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, ledger_key=LEDGER_KEY, read_only=read_only)


def add_company(u: SqlUnitOfWork, company_id: str) -> None:
    u.conn.execute(insert(companies).values(id=company_id, name=company_id, created_at=AT))


def company_count(u: SqlUnitOfWork) -> int:
    return int(u.conn.execute(select(func.count()).select_from(companies)).scalar_one())


def test_a_read_only_unit_of_work_reads_what_is_committed(engine: Engine) -> None:
    with uow(engine) as w:
        add_company(w, "RO-1")
        w.commit()
    with uow(engine, read_only=True) as r:
        assert company_count(r) == 1


def test_a_read_only_unit_of_work_refuses_to_write_and_to_commit(engine: Engine) -> None:
    with uow(engine, read_only=True) as r, pytest.raises(DBAPIError, match=r"(?i)read.?only"):
        add_company(r, "RO-WRITE")
    with uow(engine, read_only=True) as r, pytest.raises(RuntimeError, match="read-only unit of work cannot commit"):
        r.commit()
    with uow(engine) as w:
        assert company_count(w) == 0


def test_the_connection_of_a_read_only_unit_of_work_writes_again_afterwards(engine: Engine) -> None:
    for _ in range(3):  # the pool hands the same connections around
        with uow(engine, read_only=True) as r:
            company_count(r)
    for n in range(3):
        with uow(engine) as w:
            add_company(w, f"AFTER-{n}")
            w.commit()
    with uow(engine, read_only=True) as r:
        assert company_count(r) == 3


def test_a_read_only_unit_of_work_does_not_wait_for_a_writer_holding_the_lock(engine: Engine) -> None:
    with uow(engine) as committed:
        add_company(committed, "BEFORE")
        committed.commit()
    with uow(engine) as writer:  # on SQLite: BEGIN IMMEDIATE, the write lock held until the block ends
        add_company(writer, "UNCOMMITTED")
        started = time.monotonic()
        with uow(engine, read_only=True) as reader:
            seen = company_count(reader)
        waited = time.monotonic() - started
    assert seen == 1  # the snapshot before the writer's uncommitted row
    assert waited < 2.0  # a BEGIN IMMEDIATE would wait for the writer (busy timeout 30 s)
