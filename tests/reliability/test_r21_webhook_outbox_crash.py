"""R21-lite (RELIABILITY.md): ERP webhooks from the outbox survive crashes of the dispatcher.

100 order events (25 orders × created, validated, pending approval, rejected) go to a real HTTP
receiver on 127.0.0.1 that answers 500 to some deliveries. Each pass arms
`outbox.dispatch.after_send` with `raise` on a random hit (the dispatcher dies after the receiver
got the event and before the row is marked delivered); the next pass runs after the leases and
back-offs ran out, until the outbox is drained. In process, so it is fast; the crash harness with
`exit` and a subprocess is the full R21 (see "what is left" in the webhook notes).

Pass: every event delivered at least once, exactly 100 distinct webhook-ids, nothing dead or
pending, and per order the receiver saw the events in order (a redelivery repeats the latest one,
never an older one after a newer one).
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from tests.support.orders import checker, make_order
from tests.support.vault import TEST_VAULT
from tests.support.webhook_receiver import WebhookReceiver
from yinqi.adapters.db.outbox_store import SqlOutbox
from yinqi.adapters.db.tables.outbox import outbox
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.adapters.webhooks import HttpWebhookSender
from yinqi.application import approvals, webhooks
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.webhooks import encode_secret
from yinqi.testing import failpoints
from yinqi.testing.failpoints import ENV, FailpointTriggered

SEEDS = [1, 2, 3]
ORDERS = 25
SECRET = encode_secret(b"r21-secret-r21-secret-r21-secret")
IBAN = "DE89370400440532013000"


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def make_events(factory, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    for n in range(ORDERS):
        with factory() as uow:
            order = make_order(uow, clock, auto_limit_minor=0, command=CreateOrder(
                company_id="ACME", serial=f"S-{n}", amount="2500.00", currency="EUR",
                requested_execution_date=date(2030, 1, 10),
                payer=PayerInput(name="Acme", account=AccountInput(iban=IBAN), currency="EUR"),
                payee=PayeeInput(name="Payee", account=AccountInput(iban="FR1420041010050500013M02606"),
                                 country="FR")))
        with factory() as uow:
            approvals.reject_order(uow=uow, clock=clock, principal=checker(clock), order_id=order.id, reason="no")


@pytest.mark.parametrize("seed", SEEDS)
def test_crashes_after_send_redeliver_the_same_ids_until_every_event_is_delivered_in_order(
        engine: Engine, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    clock = Clock()
    factory = lambda: SqlUnitOfWork(engine, ledger_key=b"k" * 32, vault=TEST_VAULT)  # noqa: E731
    make_events(factory, clock)
    receiver = WebhookReceiver(secrets=[SECRET], now=lambda: clock.now().timestamp(), fail_rate=0.1,
                               seed=seed).start()
    endpoint = webhooks.Endpoint(url=receiver.url, secrets=(SECRET,))
    sender = HttpWebhookSender()
    crashes = passes = 0
    try:
        while passes < 200:
            passes += 1
            monkeypatch.setattr(failpoints, "_hits", {})
            monkeypatch.setenv(ENV, f"{webhooks.AFTER_SEND_FAILPOINT}=nth:{rng.randint(1, 12)}:raise")
            try:
                webhooks.deliver_due(uow_factory=factory, clock=clock, sender=sender, endpoints=[endpoint],
                                     limit=rng.randint(5, 40))
            except FailpointTriggered:
                crashes += 1
            clock.at += timedelta(seconds=400)  # past every lease (60 s) and back-off (≤ 300 s)
            with engine.connect() as conn:
                if SqlOutbox(conn).counts() == {"delivered": ORDERS * 4}:
                    break
    finally:
        sender.close()
        receiver.stop()
    print(f"seed={seed} passes={passes} crashes={crashes} requests={len(receiver.requests)}")

    with engine.connect() as conn:
        assert SqlOutbox(conn).counts() == {"delivered": 100}
        ids = {f"msg_{r.aggregate_id}_{r.dedupe_key.rsplit(':', 1)[1]}"
               for r in conn.execute(select(outbox.c.aggregate_id, outbox.c.dedupe_key))}
    assert crashes > 0
    assert receiver.distinct_ids() == ids and len(ids) == 100
    assert len(receiver.events) == 100  # each processed once; redeliveries were recognised by id
    per_order: dict[str, list[int]] = defaultdict(list)
    for request in receiver.requests:
        if request.outcome in ("accepted", "replayed"):
            order_id, seq = request.msg_id.removeprefix("msg_").rsplit("_", 1)
            per_order[order_id].append(int(seq))
    assert len(per_order) == ORDERS
    for seqs in per_order.values():
        assert seqs == sorted(seqs) and sorted(set(seqs)) == [1, 2, 3, 4]
    for order_id in per_order:
        first_seen = [e["data"]["seq"] for e in receiver.events if e["data"]["order_id"] == order_id]
        assert first_seen == [1, 2, 3, 4]
