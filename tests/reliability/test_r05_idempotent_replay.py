"""R5 — Idempotent replay: a POST replayed with the same Idempotency-Key, sequentially and
concurrently, returns the same status and byte-identical body, marked `Idempotency-Replayed: true`,
and the database holds exactly 1 order and 1 "created" event. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from tests.support.orders import api_client
from tests.support.orders import order_body as shared_order_body
from yinqi.adapters.db.tables.orders import payment_order_events, payment_orders

URL = "/api/v1/payment-orders"



def order_body(serial: str = "R5-1", amount: str = "2500.00") -> dict[str, Any]:
    return shared_order_body(serial, amount)


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    return api_client(engine, tmp_path, auto_limit_minor=0)


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        orders = conn.execute(select(func.count()).select_from(payment_orders)).scalar_one()
        created = conn.execute(select(func.count()).select_from(payment_order_events)
                               .where(payment_order_events.c.kind == "OrderCreated")).scalar_one()
    return orders, created


def test_sequential_replays_return_the_same_bytes_and_create_one_order(client: TestClient, engine: Engine) -> None:
    first = client.post(URL, json=order_body(), headers={"Idempotency-Key": "K-r5"})
    assert first.status_code == 201 and "idempotency-replayed" not in first.headers
    for _ in range(5):
        replay = client.post(URL, json=order_body(), headers={"Idempotency-Key": "K-r5"})
        assert replay.status_code == 201
        assert replay.content == first.content
        assert replay.headers["idempotency-replayed"] == "true"
    assert counts(engine) == (1, 1)


def test_concurrent_replays_return_the_same_bytes_and_create_one_order(client: TestClient, engine: Engine) -> None:
    first = client.post(URL, json=order_body(), headers={"Idempotency-Key": "K-r5c"})
    with ThreadPoolExecutor(max_workers=5) as pool:
        replays = list(pool.map(lambda _: client.post(URL, json=order_body(), headers={"Idempotency-Key": "K-r5c"}),
                                range(5)))
    assert {r.status_code for r in replays} == {201}
    assert {r.content for r in replays} == {first.content}
    assert all(r.headers["idempotency-replayed"] == "true" for r in replays)
    assert counts(engine) == (1, 1)


def test_a_replay_of_the_same_body_written_differently_is_still_a_replay(client: TestClient) -> None:
    body = order_body()
    first = client.post(URL, json=body, headers={"Idempotency-Key": "K-order"})
    shuffled = dict(reversed(list(body.items())))
    replay = client.post(URL, json=shuffled, headers={"Idempotency-Key": "K-order"})
    assert replay.content == first.content and replay.headers["idempotency-replayed"] == "true"


def test_an_action_endpoint_replays_too(client: TestClient, engine: Engine) -> None:
    order_id = client.post(URL, json=order_body(), headers={"Idempotency-Key": "K-c"}).json()["id"]
    first = client.post(f"{URL}/{order_id}/cancel", json={"reason": "dup"}, headers={"Idempotency-Key": "K-x"})
    again = client.post(f"{URL}/{order_id}/cancel", json={"reason": "dup"}, headers={"Idempotency-Key": "K-x"})
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and again.json()["state"] == "CANCELLED"
    with engine.connect() as conn:
        cancels = conn.execute(select(func.count()).select_from(payment_order_events)
                               .where(payment_order_events.c.kind == "OrderCancelled")).scalar_one()
    assert cancels == 1
