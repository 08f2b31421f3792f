"""R20 (RELIABILITY.md): order status webhooks signed the Standard Webhooks way, end to end.

The hub's worker step (`application.webhooks.deliver_due` with the httpx sender) delivers a real
order's events to an ERP receiver on 127.0.0.1; then an attacker re-sends captured deliveries with
one body byte changed, signed with the wrong key, six minutes late, and unchanged (a replay). The
receiver verifies with `yinqi.domain.webhooks.verify` and acts on none of them. A rotation sends
both signatures, and receivers that know only the old or only the new secret both accept.
(The official signing vector is in tests/unit/domain/test_webhook_signing.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine

from tests.support.orders import make_order
from tests.support.vault import TEST_VAULT
from tests.support.webhook_receiver import WebhookReceiver
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.adapters.webhooks import HttpWebhookSender
from yinqi.application import webhooks
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.webhooks import encode_secret, signed_headers

OLD = encode_secret(b"o" * 32)
NEW = encode_secret(b"n" * 32)
WRONG = encode_secret(b"w" * 32)
IBAN = "DE89370400440532013000"


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


def start(secrets: list[str], clock: Clock) -> WebhookReceiver:
    return WebhookReceiver(secrets=secrets, now=lambda: clock.now().timestamp()).start()


@pytest.fixture
def receivers(clock: Clock) -> Iterator[dict[str, WebhookReceiver]]:
    made = {"old": start([OLD], clock), "new": start([NEW], clock)}
    yield made
    for r in made.values():
        r.stop()


def deliver_one_order(engine: Engine, clock: Clock, endpoints: list[webhooks.Endpoint]) -> int:
    factory = lambda: SqlUnitOfWork(engine, ledger_key=b"k" * 32, vault=TEST_VAULT)  # noqa: E731
    with factory() as uow:
        make_order(uow, clock, auto_limit_minor=0, command=CreateOrder(
            company_id="ACME", serial="S-1", amount="2500.00", currency="EUR",
            requested_execution_date=date(2030, 1, 10),
            payer=PayerInput(name="Acme", account=AccountInput(iban=IBAN), currency="EUR"),
            payee=PayeeInput(name="Payee", account=AccountInput(iban="FR1420041010050500013M02606"), country="FR")))
    sender = HttpWebhookSender()
    try:
        return webhooks.deliver_due(uow_factory=factory, clock=clock, sender=sender, endpoints=endpoints)
    finally:
        sender.close()


def post(receiver: WebhookReceiver, headers: dict[str, str], body: bytes) -> int:
    return httpx.post(receiver.url, headers=headers, content=body, timeout=5).status_code


def test_the_receiver_accepts_genuine_deliveries_and_refuses_tampered_wrong_key_stale_and_replayed_ones(
        engine: Engine, clock: Clock, receivers: dict[str, WebhookReceiver]) -> None:
    erp = receivers["new"]
    assert deliver_one_order(engine, clock, [webhooks.Endpoint(url=erp.url, secrets=(NEW,))]) == 3
    assert erp.outcomes() == ["accepted"] * 3
    genuine = erp.requests[0]
    assert set(genuine.headers) >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
    msg_id, ts = genuine.headers["webhook-id"], int(genuine.headers["webhook-timestamp"])
    body = genuine.raw

    tampered = bytearray(body)
    tampered[body.index(b"DRAFT")] = ord("X")  # one byte of the body
    assert post(erp, genuine.headers, bytes(tampered)) == 401

    fresh_id = msg_id + "_x"  # so only the key (not the replay check) can refuse it
    assert post(erp, signed_headers([WRONG], msg_id=fresh_id, timestamp=ts, body=body), body) == 401

    clock.at += timedelta(minutes=6)  # the captured delivery, six minutes later
    assert post(erp, genuine.headers, body) == 401
    clock.at -= timedelta(minutes=6)

    assert post(erp, genuine.headers, body) == 200  # acknowledged, not acted on again
    assert erp.outcomes()[3:] == ["no_valid_signature", "no_valid_signature", "stale", "replayed"]
    assert len(erp.events) == 3


def test_during_a_secret_rotation_both_signatures_are_sent_and_either_secret_verifies(
        engine: Engine, clock: Clock, receivers: dict[str, WebhookReceiver]) -> None:
    endpoints = [webhooks.Endpoint(url=r.url, secrets=(NEW, OLD)) for r in receivers.values()]
    assert deliver_one_order(engine, clock, endpoints) == 3
    for receiver in receivers.values():
        assert receiver.outcomes() == ["accepted"] * 3
        assert all(len(r.headers["webhook-signature"].split(" ")) == 2 for r in receiver.requests)
