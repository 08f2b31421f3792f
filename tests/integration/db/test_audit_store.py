"""SqlAuditStore on real SQLite and PostgreSQL: events chain across transactions, the storage
refuses UPDATE/DELETE of events and a backwards head, filters and keyset pages agree with a plain
scan, two threads appending at once still form one chain, and a refusal survives its rollback."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application import audit
from yinqi.application.audit import AuditFilter
from yinqi.domain.identity.principal import Channel, Forbidden, Principal, Role

KEY = b"k" * 32
AT = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
ALICE = Principal(user_id="u-alice", username="alice", roles=frozenset({Role.OPERATOR}),
                  companies=frozenset({"ACME"}), channel=Channel.CONSOLE, source_address="10.1.2.3")
BOB = Principal(user_id="u-bob", username="bob", roles=frozenset({Role.APPROVER}),
                companies=frozenset({"ACME", "BETA"}), channel=Channel.API, source_address="10.9.9.9")


def new_uow(engine: Engine) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, ledger_key=KEY)


def seed(engine: Engine) -> None:
    """12 events: alternating actors, actions, companies and outcomes, one minute apart."""
    with new_uow(engine) as uow:
        for i in range(12):
            who = ALICE if i % 2 == 0 else BOB
            audit.record(uow, principal=who, action="order.create" if i % 3 else "order.approve", object_type="order",
                         object_id=f"o{i % 4}", at=AT + timedelta(minutes=i), outcome="denied" if i == 5 else "success",
                         before=None if i % 2 else {"state": "NEW"}, after={"state": "PENDING", "n": i},
                         company_id=None if i % 4 == 3 else ("ACME" if i % 4 else "BETA"))
        uow.commit()


def test_events_chain_across_transactions_and_verify(engine: Engine) -> None:
    seed(engine)
    with new_uow(engine) as uow:
        audit.record(uow, principal=ALICE, action="user.login", object_type="user", object_id="u-alice", at=AT)
        uow.commit()
    with new_uow(engine) as uow:
        result = audit.verify(uow)
        head = uow.audit.head()
        first = uow.audit.get(1)
    assert result.ok and result.count == 13 and result.first_problem is None
    assert head.seq == 13 and head.hash.hex() == result.head
    assert first.actor_id == "alice" and first.actor_channel == "console" and first.source_address == "10.1.2.3"
    assert first.before == {"state": "NEW"} and first.at == AT


def test_uncommitted_event_leaves_no_trace(engine: Engine) -> None:
    with new_uow(engine) as uow:
        audit.record(uow, principal=ALICE, action="order.create", object_type="order", object_id="o1", at=AT)
    with new_uow(engine) as uow:
        assert audit.verify(uow).count == 0 and uow.audit.head().seq == 0


@pytest.mark.parametrize("sql", ["UPDATE audit_events SET reason = 'x' WHERE seq = 1",
                                 "DELETE FROM audit_events WHERE seq = 12",
                                 "UPDATE audit_chain_head SET seq = 3 WHERE id = 1",
                                 "DELETE FROM audit_chain_head"])
def test_storage_refuses_rewriting_history(engine: Engine, sql: str) -> None:
    seed(engine)
    with engine.connect() as conn, conn.begin(), pytest.raises(DBAPIError) as exc:
        conn.exec_driver_sql(sql)
    assert "append-only" in str(exc.value) or "only moves forward" in str(exc.value)


def test_filters_match_a_plain_scan(engine: Engine) -> None:
    seed(engine)
    with new_uow(engine) as uow:
        every = list(uow.audit.iter_all())
        cases = [
            (AuditFilter(actor_id="bob"), lambda e: e.actor_id == "bob"),
            (AuditFilter(action_prefix="order.appr"), lambda e: e.action.startswith("order.appr")),
            (AuditFilter(action_prefix="order_"), lambda e: False),  # "_" is literal, not a wildcard
            (AuditFilter(object_id="o2"), lambda e: e.object_id == "o2"),
            (AuditFilter(outcome="denied"), lambda e: e.outcome == "denied"),
            (AuditFilter(since=AT + timedelta(minutes=3), until=AT + timedelta(minutes=7)),
             lambda e: AT + timedelta(minutes=3) <= e.at < AT + timedelta(minutes=7)),
            (AuditFilter(company_id="BETA"), lambda e: e.company_id == "BETA"),
            (AuditFilter(company_ids=frozenset({"ACME"})), lambda e: e.company_id in ("ACME", None)),
            (AuditFilter(company_ids=frozenset(), include_no_company=False), lambda e: False),
        ]
        for flt, want in cases:
            got = [e.seq for e in uow.audit.query(flt, limit=100).events]
            assert got == [e.seq for e in reversed(every) if want(e)], flt


def test_keyset_pages_cover_everything_once_newest_first(engine: Engine) -> None:
    seed(engine)
    seen: list[int] = []
    cursor: int | None = None
    with new_uow(engine) as uow:
        while True:
            page = uow.audit.query(AuditFilter(), limit=5, before_seq=cursor)
            seen += [e.seq for e in page.events]
            if page.next_before_seq is None:
                break
            cursor = page.next_before_seq
    assert seen == list(range(12, 0, -1))


def test_concurrent_appends_from_two_threads_keep_one_chain(engine: Engine) -> None:
    errors: list[BaseException] = []

    def writer(who: Principal) -> None:
        try:
            for i in range(15):
                with new_uow(engine) as uow:
                    audit.record(uow, principal=who, action="order.create", object_type="order",
                                 object_id=f"{who.username}-{i}", at=AT)
                    uow.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in (ALICE, BOB)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with new_uow(engine) as uow:
        result = audit.verify(uow)
        ids = {e.object_id for e in uow.audit.iter_all()}
    assert result.ok and result.count == 30 and len(ids) == 30


def test_a_refusal_is_recorded_although_the_action_rolls_back(engine: Engine) -> None:
    try:
        with new_uow(engine) as uow:
            audit.record(uow, principal=ALICE, action="order.approve", object_type="order", object_id="o1", at=AT)
            raise Forbidden("not for DE89370400440532013000")
    except Forbidden as refused:
        audit.record_refusal(lambda: new_uow(engine), principal=ALICE, action="order.approve", object_type="order",
                             object_id="o1", at=AT, error=refused)
    with new_uow(engine) as uow:
        events = list(uow.audit.iter_all())
        assert audit.verify(uow).ok
    assert [(e.seq, e.outcome) for e in events] == [(1, "denied")]
    assert events[0].reason == "FORBIDDEN: not for DE89**************3000"
