"""The approval queue as a maker who also approves sees it (hub app, real database on both backends):
their own orders wait for others, with the reason they are not theirs to approve; an attempt is
refused per order with SOD_SELF_APPROVAL; the queue shows its total; a typed TOTP code is checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.e2e.web.test_approvals_console import ANN, CLOCK, create, page
from tests.support.auth import acting_as, principal
from tests.support.orders import funded_uow_factory, install_policy, limit_policy
from yinqi.config import Settings
from yinqi.domain.identity.principal import Channel, Role
from yinqi.entrypoints.api.app import create_app
from yinqi.entrypoints.hub_app import build_app


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    """The hub app as in test_approvals_console: above 1,000.00 EUR one approver, no auto-release."""
    hub = create_app(engine=engine, settings=Settings(home=tmp_path, company_id="ACME", auto_release=False),
                     clock=CLOCK).state.hub
    funded_uow_factory(engine, opening="100000.00", clock=CLOCK, vault=hub.vault)
    install_policy(hub.uow, limit_policy(100_000), clock=CLOCK)
    return TestClient(build_app(hub), base_url="https://testserver", raise_server_exceptions=False)


MIA = principal("maker", Role.OPERATOR, Role.APPROVER, channel=Channel.CONSOLE, step_up_at=CLOCK.now())


def state(client: TestClient, order_id: str) -> str:
    acting_as(client.app, ANN)  # type: ignore[arg-type]
    return str(client.get(f"/api/v1/payment-orders/{order_id}").json()["state"])


def test_a_maker_who_approves_sees_their_orders_waiting_for_others_and_why(client: TestClient) -> None:
    first, second = create(client, "OWN-1", "2000.00"), create(client, "OWN-2", "1500.25")
    html, _ = page(client, MIA)
    mine = html.split('id="my-pending"', 1)[1].split("</table>", 1)[0]
    assert "OWN-1" in mine and "OWN-2" in mine and mine.count("SOD_SELF_APPROVAL") == 2
    assert f'href="/orders/{first}"' in mine and "1 of 1" in mine
    assert html.count('class="pick"') == 0 and "Nothing waits for you." in html
    html, _ = page(client, ANN)
    assert 'id="my-pending"' not in html and html.count('class="pick"') == 2
    assert "2 orders waiting for you:" in html and "3500.25 EUR" in html.split('id="queue-total"', 1)[1]
    assert state(client, second) == "PENDING_APPROVAL"


def test_the_makers_own_batch_is_refused_order_by_order_and_nothing_is_approved(client: TestClient) -> None:
    order = create(client, "OWN-3", "2000.00")
    _, token = page(client, MIA)
    response = client.post("/approvals/batch", data={"csrf_token": token, "order_id": [order]})
    assert response.status_code == 200, response.text
    result = response.text.split('id="batch-result"', 1)[1]
    assert "0 approved, 1 refused" in result and "outcome-refused" in result and "SOD_SELF_APPROVAL" in result
    assert state(client, order) == "PENDING_APPROVAL"


def test_a_typed_totp_code_is_checked_even_while_the_last_one_is_fresh(client: TestClient) -> None:
    order = create(client, "OWN-4", "2000.00")
    html, token = page(client, ANN)
    assert 'id="totp-code"' in html  # offered, optional while fresh
    response = client.post("/approvals/batch", data={"csrf_token": token, "order_id": [order],
                                                     "totp_code": "000000"})
    assert response.status_code == 401 and 'id="approvals-error"' in response.text
    assert state(client, order) == "PENDING_APPROVAL"
