"""Every order state change queues exactly one ERP webhook row, with a stable id and body."""

from __future__ import annotations

import json
from datetime import date

import pytest
from fakes import FakeClock, FakeUnitOfWork

from tests.support.orders import MAKER, POLICY_ADMIN, checker, limit_policy
from tests.support.vault import funds_codes
from yinqi.application import approvals, webhooks
from yinqi.application import orders as cases
from yinqi.application.approval_policy import put_policy
from yinqi.domain.money import Money
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.problems import DomainError

IBAN = "DE89370400440532013000"


def command(amount: str, serial: str = "S-1") -> CreateOrder:
    return CreateOrder(
        company_id="ACME", serial=serial, amount=amount, currency="EUR", requested_execution_date=date(2030, 1, 10),
        payer=PayerInput(name="Acme", account=AccountInput(iban=IBAN), currency="EUR"),
        payee=PayeeInput(name="Payee", account=AccountInput(iban="FR1420041010050500013M02606"), country="FR"))


@pytest.fixture
def uow() -> FakeUnitOfWork:
    u = FakeUnitOfWork()
    put_policy(uow=u, clock=FakeClock(), principal=POLICY_ADMIN, document=limit_policy(100_000))
    u.ledger.fund(funds_codes(IBAN)[0], Money.parse("10000.00", "EUR"))
    return u


def hooks(uow: FakeUnitOfWork) -> list[dict]:
    return [r for r in uow.outbox.rows if r["topic"] == webhooks.WEBHOOK_TOPIC]


def test_each_transition_of_an_order_queues_exactly_one_webhook_row(uow: FakeUnitOfWork) -> None:
    clock = FakeClock()
    order = cases.create_order(uow=uow, clock=clock, principal=MAKER, command=command("500.00"),
                               auto_release=True)
    cases.apply_bank_status(uow=uow, clock=clock, actor="bank", order_id=order.id, status="RJCT", reason="AC04")
    events = uow.orders.events(order.id)
    rows = hooks(uow)
    assert len(rows) == len(events) == 6  # created, validated, approved, released, sent, rejected
    assert [r["dedupe_key"] for r in rows] == [f"webhook:{order.id}:{e.seq}" for e in events]
    assert [r["payload"]["type"] for r in rows] == [
        "payment_order.draft", "payment_order.validated", "payment_order.approved", "payment_order.released",
        "payment_order.sent", "payment_order.rejected"]
    assert all(r["aggregate_id"] == order.id for r in rows)


def test_the_payload_carries_the_order_the_move_and_the_bank_status(uow: FakeUnitOfWork) -> None:
    clock = FakeClock()
    order = cases.create_order(uow=uow, clock=clock, principal=MAKER, command=command("500.00"),
                               auto_release=True)
    cases.apply_bank_status(uow=uow, clock=clock, actor="bank", order_id=order.id, status="RJCT", reason="AC04")
    first, *_, sent, rejected = [r["payload"] for r in hooks(uow)]
    assert first == {"type": "payment_order.draft", "order_id": order.id, "seq": 1, "serial": "S-1",
                     "company_id": "ACME", "state": "DRAFT", "previous_state": None,
                     "at": "2030-01-10T09:00:00Z", "reason": first["reason"], "bank_status": None}
    assert (sent["previous_state"], sent["state"], sent["bank_status"]) == ("RELEASED", "SENT", None)
    assert (rejected["previous_state"], rejected["state"]) == ("SENT", "REJECTED")
    assert (rejected["reason"], rejected["bank_status"]) == ("AC04", "RJCT")


def test_a_refused_use_case_queues_no_webhook(uow: FakeUnitOfWork) -> None:
    clock = FakeClock()
    order = cases.create_order(uow=uow, clock=clock, principal=MAKER, command=command("2500.00"))
    before = len(hooks(uow))
    with pytest.raises(DomainError) as err:
        approvals.approve_order(uow=uow, clock=clock, principal=checker(clock, "maker"), order_id=order.id)
    assert err.value.code == "SOD_SELF_APPROVAL" and len(hooks(uow)) == before == 3


def test_the_webhook_id_and_body_are_the_same_on_every_attempt(uow: FakeUnitOfWork) -> None:
    clock = FakeClock()
    order = cases.create_order(uow=uow, clock=clock, principal=MAKER, command=command("2500.00"))
    payload = hooks(uow)[-1]["payload"]
    again = json.loads(json.dumps(payload))  # as read back from the outbox
    assert webhooks.webhook_id(payload) == webhooks.webhook_id(again) == f"msg_{order.id}_3"
    assert webhooks.event_body(payload) == webhooks.event_body(again)
    body = json.loads(webhooks.event_body(payload))
    assert body["type"] == "payment_order.pending_approval" and body["timestamp"] == "2030-01-10T09:00:00Z"
    assert body["data"]["order_id"] == order.id and "type" not in body["data"]


def test_an_endpoint_filters_event_types_by_pattern() -> None:
    every = webhooks.Endpoint(url="http://x", secrets=("whsec_AA==",))
    final = webhooks.Endpoint(url="http://x", secrets=("whsec_AA==",),
                              event_types=("payment_order.settled", "payment_order.re*"))
    assert every.wants("payment_order.draft")
    assert final.wants("payment_order.settled") and final.wants("payment_order.rejected")
    assert not final.wants("payment_order.sent")
