"""R7 — A transient failure stays failed: a request refused (insufficient funds, validation) under
an Idempotency-Key keeps that answer; after the cause is gone a retry with the same key still gets
the original failure, byte for byte (TigerBeetle's id_already_failed). Only a new key succeeds.
The refused work leaves nothing half-stored. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from tests.support.auth import acting_as
from tests.support.orders import FixedClock, api_client, checker
from tests.support.orders import order_body as shared_order_body
from tests.support.vault import funds_codes
from yinqi.adapters.db.tables.orders import payment_orders
from yinqi.domain.money import Money

URL = "/api/v1/payment-orders"
IBAN = "DE89370400440532013000"


Clock = FixedClock


def order_body(serial: str = "R7-1", amount: str = "500.00") -> dict[str, Any]:
    return shared_order_body(serial, amount)


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    return api_client(engine, tmp_path, auto_limit_minor=100_000)


def top_up(client: TestClient, amount: str) -> None:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    available = funds_codes(IBAN, hub.vault)[0]
    with hub.uow() as uow:
        uow.ledger.ensure_account(code=available, currency="EUR", kind="asset", allow_overdraft=False)
        uow.ledger.ensure_account(code="equity:opening:EUR", currency="EUR", kind="equity")
        money = Money.parse(amount, "EUR")
        uow.ledger.post(idempotency_key=f"top-up:{amount}", postings=[(available, money),
                        ("equity:opening:EUR", -money)], memo="top-up", actor="test", at=Clock().now())
        uow.commit()


def order_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(payment_orders)).scalar_one())


def test_insufficient_funds_stays_the_answer_for_its_key_after_a_top_up(client: TestClient, engine: Engine) -> None:
    top_up(client, "100.00")
    refused = client.post(URL, json=order_body(), headers={"Idempotency-Key": "K7"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "INSUFFICIENT_FUNDS"
    assert order_count(engine) == 0  # nothing half-stored
    top_up(client, "1000.00")
    retry = client.post(URL, json=order_body(), headers={"Idempotency-Key": "K7"})
    assert retry.status_code == 422 and retry.content == refused.content
    assert retry.headers["idempotency-replayed"] == "true"
    assert order_count(engine) == 0
    fresh = client.post(URL, json=order_body(), headers={"Idempotency-Key": "K7-new"})
    assert fresh.status_code == 201 and fresh.json()["state"] == "APPROVED"
    assert order_count(engine) == 1


def test_a_validation_failure_stays_the_answer_for_its_key(client: TestClient) -> None:
    bad = order_body()
    bad["payee"]["account"]["iban"] = "FR1420041010050500013M02607"
    refused = client.post(URL, json=bad, headers={"Idempotency-Key": "Kv"})
    assert refused.status_code == 422
    problems = refused.json()["error"]["problems"]
    assert [(p["code"], p["where"], p["rule"]) for p in problems] == [
        ("IBAN_INVALID", "payee.account.iban", "checksum")]
    retry = client.post(URL, json=bad, headers={"Idempotency-Key": "Kv"})
    assert retry.content == refused.content and retry.headers["idempotency-replayed"] == "true"


def test_a_refused_approval_stays_refused_for_its_key(client: TestClient, engine: Engine) -> None:
    order = client.post(URL, json=order_body(amount="5000.00"), headers={"Idempotency-Key": "K-big"}).json()
    assert order["state"] == "PENDING_APPROVAL"
    approve = f"{URL}/{order['id']}/approve"
    acting_as(client.app, checker(Clock()))  # type: ignore[arg-type]
    refused = client.post(approve, headers={"Idempotency-Key": "K-ap"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "INSUFFICIENT_FUNDS"
    top_up(client, "6000.00")
    retry = client.post(approve, headers={"Idempotency-Key": "K-ap"})
    assert retry.content == refused.content
    approved = client.post(approve, headers={"Idempotency-Key": "K-ap2"})
    assert approved.status_code == 200 and approved.json()["state"] == "APPROVED"
