"""ERP webhooks through the transactional outbox, on SQLite and PostgreSQL: emission in the use
case's transaction, in-order claiming, no-subscriber settling, and delivery over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from tests.support.orders import checker, make_order
from tests.support.vault import TEST_VAULT
from tests.support.webhook_receiver import WebhookReceiver
from yinqi.adapters.db.outbox_store import SqlOutbox, backoff_seconds
from yinqi.adapters.db.tables.orders import payment_order_events as order_events
from yinqi.adapters.db.tables.outbox import outbox
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.adapters.webhooks import HttpWebhookSender, load_or_create_webhook_secret, resolve_endpoints
from yinqi.application import approvals, webhooks
from yinqi.config import WebhookEndpoint
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.webhooks import decode_secret, encode_secret

KEY = b"k" * 32
IBAN = "DE89370400440532013000"
SECRET = encode_secret(b"s" * 32)
T = webhooks.WEBHOOK_TOPIC


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def command(serial: str) -> CreateOrder:
    return CreateOrder(
        company_id="ACME", serial=serial, amount="2500.00", currency="EUR", requested_execution_date=date(2030, 1, 10),
        payer=PayerInput(name="Acme", account=AccountInput(iban=IBAN), currency="EUR"),
        payee=PayeeInput(name="Payee", account=AccountInput(iban="FR1420041010050500013M02606"), country="FR"))


@pytest.fixture
def uow_factory(engine: Engine):  # type: ignore[no-untyped-def]
    return lambda: SqlUnitOfWork(engine, ledger_key=KEY, vault=TEST_VAULT)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    clock_holder: dict[str, Clock] = {}
    r = WebhookReceiver(secrets=[SECRET], now=lambda: clock_holder["clock"].now().timestamp()).start()
    r.clock_holder = clock_holder  # type: ignore[attr-defined]
    yield r
    r.stop()


def pending_order(uow_factory, clock: Clock, serial: str) -> str:  # type: ignore[no-untyped-def]
    """An order above the auto-approval limit: created, validated, pending approval (3 events)."""
    with uow_factory() as uow:
        return make_order(uow, clock, command(serial), auto_limit_minor=0).id


def reject(uow_factory, clock: Clock, order_id: str) -> None:  # type: ignore[no-untyped-def]
    with uow_factory() as uow:
        approvals.reject_order(uow=uow, clock=clock, principal=checker(clock), order_id=order_id, reason="not today")


def webhook_rows(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.topic == T).order_by(outbox.c.id)).mappings().all()
    return [dict(r) for r in rows]


def test_a_state_change_and_its_webhook_row_commit_together(engine: Engine, uow_factory) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    order_id = pending_order(uow_factory, clock, "S-1")
    reject(uow_factory, clock, order_id)
    with engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(order_events)
                              .where(order_events.c.order_id == order_id)).scalar_one()
    rows = webhook_rows(engine)
    assert len(rows) == events == 4
    assert [r["dedupe_key"] for r in rows] == [f"webhook:{order_id}:{n}" for n in (1, 2, 3, 4)]
    assert json.loads(rows[-1]["payload"])["type"] == "payment_order.rejected"


def test_a_rolled_back_use_case_leaves_no_webhook_row(engine: Engine, uow_factory) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    order_id = pending_order(uow_factory, clock, "S-1")
    with uow_factory() as uow, uow.atomic():  # defers the use case's commit; leaving without commit rolls back
        approvals.reject_order(uow=uow, clock=clock, principal=checker(clock), order_id=order_id, reason="no")
    assert len(webhook_rows(engine)) == 3
    with uow_factory() as uow:
        assert uow.orders.get(order_id).state.value == "PENDING_APPROVAL"


def test_with_no_endpoint_rows_are_settled_at_once_and_do_not_pile_up(engine: Engine, uow_factory) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    pending_order(uow_factory, clock, "S-1")
    settled = webhooks.deliver_due(uow_factory=uow_factory, clock=clock, sender=None, endpoints=[])
    assert settled == 3 and {r["status"] for r in webhook_rows(engine)} == {"delivered"}


def test_an_order_waits_behind_its_own_failed_row_but_not_behind_others(engine: Engine) -> None:
    t0 = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        box = SqlOutbox(conn)
        for n in range(3):
            box.add(topic=T, aggregate_id="A", payload={"n": n}, at=t0, dedupe_key=f"A{n}")
            box.add(topic=T, aggregate_id="B", payload={"n": n}, at=t0, dedupe_key=f"B{n}")
    with engine.begin() as conn:
        batches = SqlOutbox(conn).claim_in_order(topics=[T], now=t0)
    assert [[(i.aggregate_id, i.payload["n"]) for i in b] for b in batches] == [
        [("A", 0), ("A", 1), ("A", 2)], [("B", 0), ("B", 1), ("B", 2)]]
    a0, *a_rest = batches[0]
    with engine.begin() as conn:
        box = SqlOutbox(conn)
        box.mark_failed(a0.id, at=t0, error="HTTP 500")  # A's head backs off …
        box.release([i.id for i in a_rest])
        box.mark_delivered(batches[1][0].id, at=t0)
        box.release([i.id for i in batches[1][1:]])
    with engine.begin() as conn:  # … so nothing of A is due, while B goes on
        again = SqlOutbox(conn).claim_in_order(topics=[T], now=t0)
    assert [[(i.aggregate_id, i.payload["n"]) for i in b] for b in again] == [[("B", 1), ("B", 2)]]
    later = t0 + timedelta(seconds=backoff_seconds(1))
    with engine.begin() as conn:
        resumed = SqlOutbox(conn).claim_in_order(topics=[T], now=later)
    assert [[(i.aggregate_id, i.payload["n"]) for i in b] for b in resumed] == [[("A", 0), ("A", 1), ("A", 2)]]


def test_a_row_leased_by_another_worker_blocks_the_rest_of_its_order(engine: Engine) -> None:
    t0 = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for n in range(2):
            SqlOutbox(conn).add(topic=T, aggregate_id="A", payload={"n": n}, at=t0, dedupe_key=f"A{n}")
    with engine.begin() as conn:
        first = SqlOutbox(conn).claim_in_order(topics=[T], now=t0, limit=1)
    with engine.begin() as conn:
        second = SqlOutbox(conn).claim_in_order(topics=[T], now=t0 + timedelta(seconds=1))
    assert [i.payload["n"] for b in first for i in b] == [0] and second == []


def test_deliveries_reach_a_real_receiver_signed_in_order_and_failures_retry(  # type: ignore[no-untyped-def]
        engine: Engine, uow_factory, receiver: WebhookReceiver) -> None:
    clock = Clock()
    receiver.clock_holder["clock"] = clock  # type: ignore[attr-defined]
    order_ids = [pending_order(uow_factory, clock, f"S-{n}") for n in range(3)]
    for order_id in order_ids:
        reject(uow_factory, clock, order_id)
    endpoint = webhooks.Endpoint(url=receiver.url, secrets=(SECRET,))
    sender = HttpWebhookSender()
    receiver.fail_rate = 1.0
    try:
        assert webhooks.deliver_due(uow_factory=uow_factory, clock=clock, sender=sender, endpoints=[endpoint]) == 0
        assert receiver.outcomes() == ["failed"] * 3  # one attempt per order: the head failed, the rest waited
        receiver.fail_rate = 0.0
        assert webhooks.deliver_due(uow_factory=uow_factory, clock=clock, sender=sender, endpoints=[endpoint]) == 0
        clock.advance(backoff_seconds(1))
        assert webhooks.deliver_due(uow_factory=uow_factory, clock=clock, sender=sender, endpoints=[endpoint]) == 12
    finally:
        sender.close()
    assert {r["status"] for r in webhook_rows(engine)} == {"delivered"}
    for order_id in order_ids:
        seen = [e["data"]["seq"] for e in receiver.events if e["data"]["order_id"] == order_id]
        assert seen == [1, 2, 3, 4]
    assert receiver.distinct_ids() == {f"msg_{o}_{n}" for o in order_ids for n in (1, 2, 3, 4)}


def test_an_unreachable_endpoint_is_a_failed_attempt_with_back_off(engine: Engine, uow_factory) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    pending_order(uow_factory, clock, "S-1")
    endpoint = webhooks.Endpoint(url="http://127.0.0.1:9/nowhere", secrets=(SECRET,), timeout_s=2)
    sender = HttpWebhookSender()
    try:
        assert webhooks.deliver_due(uow_factory=uow_factory, clock=clock, sender=sender, endpoints=[endpoint]) == 0
    finally:
        sender.close()
    head, *rest = webhook_rows(engine)
    assert head["attempts"] == 1 and "ConnectError" in head["last_error"]
    assert all(r["attempts"] == 0 and r["status"] == "pending" for r in rest)


def test_an_event_no_endpoint_subscribes_to_is_settled_without_sending(  # type: ignore[no-untyped-def]
        engine: Engine, uow_factory, receiver: WebhookReceiver) -> None:
    clock = Clock()
    receiver.clock_holder["clock"] = clock  # type: ignore[attr-defined]
    order_id = pending_order(uow_factory, clock, "S-1")
    reject(uow_factory, clock, order_id)
    endpoint = webhooks.Endpoint(url=receiver.url, secrets=(SECRET,), event_types=("payment_order.rejected",))
    sender = HttpWebhookSender()
    try:
        assert webhooks.deliver_due(uow_factory=uow_factory, clock=clock, sender=sender, endpoints=[endpoint]) == 4
    finally:
        sender.close()
    assert [e["type"] for e in receiver.events] == ["payment_order.rejected"]


def test_a_secret_file_is_created_on_first_use_and_then_kept(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = load_or_create_webhook_secret(tmp_path / "keys" / "erp.whsec")
    assert first.startswith("whsec_") and len(decode_secret(first)) == 32
    assert load_or_create_webhook_secret(tmp_path / "keys" / "erp.whsec") == first
    [endpoint] = resolve_endpoints([WebhookEndpoint(url="http://erp", secrets=[SECRET], secret_file="keys/erp.whsec")],
                                   home=tmp_path)
    assert endpoint.secrets == (SECRET, first)
    with pytest.raises(ValueError):
        resolve_endpoints([WebhookEndpoint(url="http://erp")], home=tmp_path)
