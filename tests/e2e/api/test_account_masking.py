"""R18, field level: full account numbers only for principals with `account.reveal`, masked for
everyone else, in the API and on the console; idempotent replies are stored masked, so a replay
never shows more than the least privileged caller may see."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.auth import TEST_ACTOR_HEADER, acting_by_header, principal
from tests.support.orders import FixedClock, install_policy, limit_policy, order_body
from tests.support.vault import funds_codes
from yinqi.config import Settings
from yinqi.domain.identity.principal import Role
from yinqi.domain.money import Money
from yinqi.entrypoints.api.app import create_app
from yinqi.entrypoints.hub_app import build_app

URL = "/api/v1/payment-orders"
PAYER, PAYEE = "DE89370400440532013000", "FR1420041010050500013M02606"
PEOPLE = {"clerk": principal("clerk", Role.OPERATOR), "auditor": principal("auditor", Role.AUDITOR),
          "approver": principal("approver", Role.APPROVER), "treasurer": principal("treasurer", Role.TREASURER)}


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    hub = create_app(engine=engine, settings=Settings(home=tmp_path, auto_release=False),
                     clock=FixedClock()).state.hub
    install_policy(hub.uow, limit_policy(100_000), clock=FixedClock())
    with hub.uow() as uow:
        available = funds_codes(PAYER, hub.vault)[0]
        uow.ledger.ensure_account(code=available, currency="EUR", kind="asset", allow_overdraft=False)
        uow.ledger.ensure_account(code="equity:opening:EUR", currency="EUR", kind="equity")
        money = Money.parse("10000.00", "EUR")
        uow.ledger.post(idempotency_key="opening", postings=[(available, money), ("equity:opening:EUR", -money)],
                        memo="opening", actor="test", at=FixedClock().now())
        uow.commit()
    app = build_app(hub)
    acting_by_header(app, PEOPLE, default="clerk")
    return TestClient(app, raise_server_exceptions=False)


def as_(who: str, **headers: str) -> dict[str, str]:
    return {TEST_ACTOR_HEADER: who, **headers}


def created(client: TestClient) -> dict:  # type: ignore[type-arg]
    response = client.post(URL, json=order_body("MASK-1", "100.00"), headers=as_("clerk", **{"Idempotency-Key": "m1"}))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("who", ["clerk", "auditor"])
def test_a_role_without_account_reveal_reads_only_masked_numbers(client: TestClient, who: str) -> None:
    order = created(client)
    one = client.get(f"{URL}/{order['id']}", headers=as_(who)).json()
    listed = client.get(URL, headers=as_(who)).json()["items"][0]
    for shown in (one, listed):
        assert shown["payee"]["account"] == {"scheme": "IBAN", "iban": None, "number": None, "cnaps": None,
                                             "masked": "FR14*******************2606"}
        assert shown["payer"]["account"]["iban"] is None
    assert PAYEE not in str(one) + str(listed) and PAYER not in str(one) + str(listed)


@pytest.mark.parametrize("who", ["approver", "treasurer"])
def test_a_role_with_account_reveal_reads_the_full_number(client: TestClient, who: str) -> None:
    order = created(client)
    shown = client.get(f"{URL}/{order['id']}", headers=as_(who)).json()
    assert shown["payee"]["account"]["iban"] == PAYEE and shown["payer"]["account"]["iban"] == PAYER
    assert client.get(URL, headers=as_(who)).json()["items"][0]["payee"]["account"]["iban"] == PAYEE


def test_the_stored_create_reply_is_masked_and_replays_byte_identical(client: TestClient) -> None:
    first = client.post(URL, json=order_body("MASK-2", "100.00"), headers=as_("clerk", **{"Idempotency-Key": "m2"}))
    again = client.post(URL, json=order_body("MASK-2", "100.00"), headers=as_("clerk", **{"Idempotency-Key": "m2"}))
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotency-Replayed"] == "true" and again.content == first.content
    assert PAYEE not in first.text and "FR14*******************2606" in first.text


@pytest.mark.parametrize(("who", "full"), [("clerk", False), ("auditor", False), ("treasurer", True)])
def test_the_console_order_page_masks_for_low_roles(client: TestClient, who: str, full: bool) -> None:
    order = created(client)
    page = client.get(f"/orders/{order['id']}", headers=as_(who))
    assert page.status_code == 200, page.text
    assert (PAYEE in page.text) is full and (PAYER in page.text) is full
    assert full or "FR14*******************2606" in page.text
