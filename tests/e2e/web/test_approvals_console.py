"""The console's approval queue and the order page's Approval card (hub app, real database on both
backends): what waits for me with holds and masked accounts, batch approval with the selected total,
per-order reject, approve from the order page with CSRF, and a refusal shown and audited."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.auth import acting_as, principal
from tests.support.orders import FixedClock, funded_uow_factory, install_policy, limit_policy, order_body
from yinqi.config import Settings
from yinqi.domain.identity.principal import Channel, Principal, Role
from yinqi.entrypoints.api.app import create_app
from yinqi.entrypoints.hub_app import build_app

CLOCK = FixedClock()
MAKER = principal("maker", Role.OPERATOR, channel=Channel.CONSOLE)
ANN = principal("ann", Role.APPROVER, channel=Channel.CONSOLE, step_up_at=CLOCK.now())
STALE = principal("ann", Role.APPROVER, channel=Channel.CONSOLE, step_up_at=CLOCK.now() - timedelta(minutes=9))


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    hub = create_app(engine=engine, settings=Settings(home=tmp_path, company_id="ACME", auto_release=False),
                     clock=CLOCK).state.hub
    funded_uow_factory(engine, opening="100000.00", clock=CLOCK, vault=hub.vault)
    install_policy(hub.uow, limit_policy(100_000), clock=CLOCK)  # above 1,000.00: one approver
    return TestClient(build_app(hub), base_url="https://testserver", raise_server_exceptions=False)


def create(client: TestClient, serial: str, amount: str) -> str:
    acting_as(client.app, MAKER)  # type: ignore[arg-type]
    response = client.post("/api/v1/payment-orders", json=order_body(serial, amount),
                           headers={"Idempotency-Key": serial, "Origin": "https://testserver"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def page(client: TestClient, who: Principal, path: str = "/approvals") -> tuple[str, str]:
    acting_as(client.app, who)  # type: ignore[arg-type]
    response = client.get(path)
    assert response.status_code == 200, response.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    return response.text, token.group(1) if token else ""


def test_the_queue_shows_what_waits_for_me_and_approves_the_selection_with_its_total(client: TestClient) -> None:
    first, second = create(client, "Q-1", "2000.00"), create(client, "Q-2", "3000.50")
    html, token = page(client, ANN)
    assert html.count('class="pick"') == 2 and "FR14*******************2606" in html
    assert 'href="/approvals"' in html  # the nav link for approvers
    response = client.post("/approvals/batch", data={"csrf_token": token, "order_id": [first, second]})
    assert response.status_code == 200, response.text
    assert 'id="batch-result"' in response.text and "5000.50 EUR" in response.text
    assert response.text.count("outcome-approved") == 2 and "Nothing waits for you." in response.text


def test_a_batch_without_a_fresh_totp_is_refused_shown_and_audited(client: TestClient) -> None:
    order = create(client, "Q-3", "2000.00")
    _, token = page(client, STALE)
    response = client.post("/approvals/batch", data={"csrf_token": token, "order_id": [order]})
    assert response.status_code == 401 and "STEP_UP_REQUIRED" in response.text
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with hub.uow() as uow:
        assert any(e.outcome == "denied" and e.reason.startswith("STEP_UP_REQUIRED") for e in uow.audit.iter_all())


def test_an_order_is_rejected_from_the_queue_with_a_reason(client: TestClient) -> None:
    order = create(client, "Q-4", "2000.00")
    _, token = page(client, ANN)
    response = client.post(f"/approvals/{order}/reject", data={"csrf_token": token, "reason": "unknown invoice"},
                           follow_redirects=False)
    assert response.status_code == 303
    html, _ = page(client, ANN, f"/orders/{order}")
    assert "REJECTED" in html and "unknown invoice" in html


def test_the_order_page_shows_the_plan_and_approves_with_csrf(client: TestClient) -> None:
    order = create(client, "Q-5", "2000.00")
    html, token = page(client, MAKER, f"/orders/{order}")
    assert 'id="approval"' in html and "approve-order" not in html  # the maker gets no approve button
    html, token = page(client, ANN, f"/orders/{order}")
    assert 'id="approve-order"' in html and "1 of approver / treasurer" in html
    forged = client.post(f"/orders/{order}/approve", data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    done = client.post(f"/orders/{order}/approve", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    html, _ = page(client, ANN, f"/orders/{order}")
    assert "APPROVED" in html and "ann (approver)" in html and "step-up totp" in html


def test_a_refused_approval_on_the_order_page_shows_its_code(client: TestClient) -> None:
    order = create(client, "Q-6", "2000.00")
    _, token = page(client, STALE, f"/orders/{order}")
    response = client.post(f"/orders/{order}/approve", data={"csrf_token": token}, follow_redirects=True)
    assert 'id="approval-error"' in response.text and "STEP_UP_REQUIRED" in response.text
