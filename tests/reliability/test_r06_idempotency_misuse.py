"""R6 — Idempotency misuse: (a) a key reused with another body is refused naming the first
differing field and creates nothing; (b) two requests with one key in flight together give one
201 and one 409 IDEMPOTENCY_IN_PROGRESS (or the same 201 twice), never two orders; (c) a POST
without a key is refused with 400. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from tests.support.auth import acting_as
from tests.support.orders import api_client, person
from tests.support.orders import order_body as shared_order_body
from yinqi.adapters.db.tables.idempotency import idempotency_keys
from yinqi.adapters.db.tables.orders import payment_orders
from yinqi.testing.failpoints import ENV

URL = "/api/v1/payment-orders"



def order_body(serial: str = "R6-1", amount: str = "2500.00") -> dict[str, Any]:
    return shared_order_body(serial, amount)


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    return api_client(engine, tmp_path, auto_limit_minor=0)


def order_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(payment_orders)).scalar_one())


def test_a_reused_key_with_another_amount_is_refused_naming_amount(client: TestClient, engine: Engine) -> None:
    first = client.post(URL, json=order_body(), headers={"Idempotency-Key": "K"})
    reused = client.post(URL, json=order_body(amount="9999.00"), headers={"Idempotency-Key": "K"})
    assert first.status_code == 201
    assert reused.status_code == 422
    error = reused.json()["error"]
    assert error["code"] == "IDEMPOTENCY_KEY_REUSED" and error["where"] == "amount"
    assert order_count(engine) == 1


def test_a_reused_key_names_a_nested_field(client: TestClient) -> None:
    client.post(URL, json=order_body(), headers={"Idempotency-Key": "K"})
    changed = order_body()
    changed["payee"]["account"] = {"iban": "DE89370400440532013000"}
    reused = client.post(URL, json=changed, headers={"Idempotency-Key": "K"})
    assert reused.json()["error"]["where"] == "payee.account.iban"


def test_a_reused_key_on_another_endpoint_is_refused(client: TestClient) -> None:
    order_id = client.post(URL, json=order_body(), headers={"Idempotency-Key": "K"}).json()["id"]
    other = client.post(f"{URL}/{order_id}/release", headers={"Idempotency-Key": "K"})
    assert other.status_code == 422 and other.json()["error"]["where"] == "path"


def test_the_same_key_from_another_user_is_another_key(client: TestClient, engine: Engine) -> None:
    acting_as(client.app, person("alice"))  # type: ignore[arg-type]
    client.post(URL, json=order_body(), headers={"Idempotency-Key": "K"})
    acting_as(client.app, person("bob"))  # type: ignore[arg-type]
    other = client.post(URL, json=order_body(serial="R6-2"), headers={"Idempotency-Key": "K"})
    assert other.status_code == 201 and order_count(engine) == 2


def test_two_requests_in_flight_with_one_key_never_make_two_orders(
        client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "idempotency.claimed=sleep:400")
    barrier = threading.Barrier(2)
    responses: list[Any] = []

    def post() -> None:
        barrier.wait()
        responses.append(client.post(URL, json=order_body(), headers={"Idempotency-Key": "K-flight"}))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in responses)
    assert statuses in ([201, 409], [201, 201])
    if statuses == [201, 409]:
        busy = next(r for r in responses if r.status_code == 409)
        assert busy.json()["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
    else:
        assert responses[0].content == responses[1].content
    assert order_count(engine) == 1
    monkeypatch.delenv(ENV)
    replay = client.post(URL, json=order_body(), headers={"Idempotency-Key": "K-flight"})
    assert replay.status_code == 201 and replay.headers["idempotency-replayed"] == "true"


@pytest.mark.parametrize("path", ["", "/{id}/approve", "/{id}/reject", "/{id}/release", "/{id}/cancel"])
def test_a_post_without_a_key_is_refused_with_400(client: TestClient, engine: Engine, path: str) -> None:
    order_id = client.post(URL, json=order_body(), headers={"Idempotency-Key": "K0"}).json()["id"]
    response = client.post(URL + path.format(id=order_id), json={"reason": "x", **order_body(serial="R6-9")})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    assert order_count(engine) == 1


def test_no_key_is_stored_for_refused_misuse(client: TestClient, engine: Engine) -> None:
    client.post(URL, json=order_body())
    client.post(URL, json=order_body(), headers={"Idempotency-Key": "K"})
    client.post(URL, json=order_body(amount="1.00"), headers={"Idempotency-Key": "K"})
    with engine.connect() as conn:
        rows = conn.execute(select(idempotency_keys.c.key, idempotency_keys.c.state)).all()
    assert [tuple(r) for r in rows] == [("K", "completed")]
