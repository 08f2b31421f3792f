"""`GET /api/v1/payment-orders/{id}/route`: the chosen channel and every alternative's reasons."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.auth import acting_as, principal
from tests.support.orders import install_policy, limit_policy
from tests.support.vault import funds_codes
from yinqi.config import ChannelConfig, Settings
from yinqi.domain.identity.principal import Role
from yinqi.domain.money import Money
from yinqi.entrypoints.api.app import create_app
from yinqi.entrypoints.hub_app import build_app

URL = "/api/v1/payment-orders"
IBAN = "DE89370400440532013000"
CHANNELS = [ChannelConfig(name="a-urgent", bank_id="BANK-A", channel_type="urgent", account=IBAN, currencies=["EUR"],
                          cutoff="09:30", timezone="Europe/Berlin", cost_per_payment_minor=150),
            ChannelConfig(name="b-instant", bank_id="BANK-B", channel_type="instant", currencies=["EUR"],
                          per_payment_limit_minor=200_000, cost_per_payment_minor=50),
            ChannelConfig(name="c-batch", bank_id="BANK-C", currencies=["EUR"], available=False)]


class Clock:
    def now(self) -> datetime:
        return datetime(2030, 1, 10, 9, 0, tzinfo=UTC)  # 10:00 in Berlin: a-urgent's cut-off passed


def body(urgency: str, amount: str) -> dict[str, object]:
    return {"company_id": "ACME", "serial": f"R-{urgency}", "amount": amount, "currency": "EUR",
            "requested_execution_date": "2030-01-10", "urgency": urgency,
            "payer": {"name": "Acme", "account": {"iban": IBAN}, "currency": "EUR"},
            "payee": {"name": "Fournisseur", "account": {"iban": "FR1420041010050500013M02606"}, "country": "FR"}}


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    settings = Settings(home=tmp_path, auto_release=False, channels=CHANNELS)
    app = build_app(create_app(engine=engine, settings=settings, clock=Clock()).state.hub)
    install_policy(app.state.hub.uow, limit_policy(100_000_000), clock=Clock())
    with app.state.hub.uow() as uow:
        available = funds_codes(IBAN, app.state.hub.vault)[0]
        uow.ledger.ensure_account(code=available, currency="EUR", kind="asset", allow_overdraft=False)
        uow.ledger.ensure_account(code="equity:opening:EUR", currency="EUR", kind="equity")
        money = Money.parse("10000.00", "EUR")
        uow.ledger.post(idempotency_key="opening", postings=[(available, money), ("equity:opening:EUR", -money)],
                        memo="opening", actor="test", at=Clock().now())
        uow.commit()
    acting_as(app, principal("maker", Role.OPERATOR))
    return TestClient(app, raise_server_exceptions=False)


def create(client: TestClient, urgency: str, amount: str = "1500.00") -> str:
    response = client.post(URL, json=body(urgency, amount), headers={"Idempotency-Key": f"k-{urgency}"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_the_route_names_the_chosen_channel_and_the_reasons_of_the_others(client: TestClient) -> None:
    order_id = create(client, "urgent")
    doc = client.get(f"{URL}/{order_id}/route").json()
    assert doc["order_id"] == order_id and doc["state"] == "APPROVED" and doc["sent"] is None
    assert doc["chosen"]["name"] == "a-urgent" and doc["chosen"]["execution_date"] == "2030-01-11"
    assert [n["code"] for n in doc["chosen"]["notes"]] == ["SHIFTED"]
    reasons = {a["name"]: [r["code"] for r in a["reasons"]] for a in doc["alternatives"]}
    assert reasons == {"b-instant": ["RANKED_LOWER"], "c-batch": ["UNAVAILABLE", "URGENCY"]}


def test_urgency_fit_comes_before_cost_so_a_normal_order_takes_the_urgent_channel(client: TestClient) -> None:
    doc = client.get(f"{URL}/{create(client, 'normal')}/route").json()
    assert doc["chosen"]["name"] == "a-urgent"
    assert "fits this order less well" in doc["alternatives"][0]["reasons"][0]["message"]


def test_an_order_with_no_route_answers_200_with_a_null_choice_and_every_reason(client: TestClient) -> None:
    response = client.get(f"{URL}/{create(client, 'instant', '2500.00')}/route")
    assert response.status_code == 200
    doc = response.json()
    assert doc["chosen"] is None
    assert {a["name"]: [r["code"] for r in a["reasons"]] for a in doc["alternatives"]} == {
        "a-urgent": ["URGENCY", "CUT_OFF"], "b-instant": ["PAYMENT_LIMIT"], "c-batch": ["UNAVAILABLE", "URGENCY"]}


def test_the_route_of_an_unknown_order_is_404(client: TestClient) -> None:
    response = client.get(f"{URL}/no-such-order/route")
    assert response.status_code == 404 and response.json()["error"]["code"] == "ORDER_NOT_FOUND"


def test_the_console_order_page_shows_a_route_card(client: TestClient) -> None:
    page = client.get(f"/orders/{create(client, 'urgent')}")
    assert page.status_code == 200
    assert 'id="route"' in page.text and "a-urgent · BANK-A · urgent" in page.text
    assert "RANKED_LOWER" in page.text and "UNAVAILABLE" in page.text
    assert "executes on the next business day" in page.text
