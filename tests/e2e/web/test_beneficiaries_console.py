"""The console's beneficiaries page (hub app, real database on both backends): propose, see the
pending change old → new (masked for an operator), approve and reject with CSRF, four eyes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.support.auth import acting_as, principal
from yinqi.config import Settings
from yinqi.domain.identity.principal import Channel, Role
from yinqi.entrypoints.api.app import create_app
from yinqi.entrypoints.hub_app import build_app

IBAN = "FR1420041010050500013M02606"
NEW_IBAN = "FR7630006000011234567890189"
MAKER = principal("maker", Role.OPERATOR, channel=Channel.CONSOLE)
CHECKER = principal("checker", Role.APPROVER, channel=Channel.CONSOLE)


class Clock:
    def now(self) -> datetime:
        return datetime(2030, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    app = build_app(create_app(engine=engine, settings=Settings(home=tmp_path, company_id="ACME"),
                               clock=Clock()).state.hub)
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)


def page(client: TestClient, who: object) -> tuple[str, str]:
    acting_as(client.app, who)  # type: ignore[arg-type]
    response = client.get("/beneficiaries")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    token = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    return response.text, token.group(1) if token else ""


def propose(client: TestClient) -> str:
    _, token = page(client, MAKER)
    response = client.post("/beneficiaries", data={"csrf_token": token, "company_id": "ACME", "name": "Fournisseur",
                                                   "iban": IBAN, "country": "FR", "town": "Paris"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    html, _ = page(client, MAKER)
    found = re.search(r'data-change-id="([^"]+)"', html)
    assert found
    return found.group(1)


def test_a_proposal_shows_as_pending_and_only_another_user_gets_the_approve_button(client: TestClient) -> None:
    change = propose(client)
    html, _ = page(client, MAKER)
    assert "— → FR14*******************2606" in html and IBAN not in html
    assert "approve-change" not in html  # an operator cannot approve, and not their own proposal
    html, token = page(client, CHECKER)
    assert "approve-change" in html and IBAN in html  # approvers may reveal accounts
    response = client.post(f"/beneficiaries/changes/{change}/approve", data={"csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    html, _ = page(client, CHECKER)
    assert "ACTIVE" in html and "data-change-id" not in html


def test_an_account_change_shows_old_and_new_and_can_be_rejected(client: TestClient) -> None:
    change = propose(client)
    _, token = page(client, CHECKER)
    client.post(f"/beneficiaries/changes/{change}/approve", data={"csrf_token": token})
    html, token = page(client, MAKER)
    beneficiary = re.search(r'data-beneficiary-id="([^"]+)"', html)
    assert beneficiary
    response = client.post(f"/beneficiaries/{beneficiary.group(1)}/changes",
                           data={"csrf_token": token, "iban": NEW_IBAN, "reason": "letter"}, follow_redirects=False)
    assert response.status_code == 303
    html, token = page(client, CHECKER)
    assert f"{IBAN} → {NEW_IBAN}" in html
    second = re.findall(r'data-change-id="([^"]+)"', html)[0]
    response = client.post(f"/beneficiaries/changes/{second}/reject", data={"csrf_token": token, "reason": "no"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert NEW_IBAN not in page(client, CHECKER)[0]


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(client: TestClient, engine: Engine) -> None:
    page(client, MAKER)
    response = client.post("/beneficiaries", data={"company_id": "ACME", "name": "X", "iban": IBAN, "country": "FR"})
    assert response.status_code == 403
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM beneficiaries")).scalar_one() == 0


def test_invalid_values_rerender_the_form_with_every_problem(client: TestClient) -> None:
    _, token = page(client, MAKER)
    response = client.post("/beneficiaries", data={"csrf_token": token, "company_id": "ACME", "name": "",
                                                   "iban": "FR00", "country": "FR"})
    assert response.status_code == 422
    assert "<strong>name</strong>" in response.text and "<strong>account.iban</strong>" in response.text


def test_self_approval_is_refused_on_the_page_and_audited(client: TestClient, engine: Engine) -> None:
    change = propose(client)
    both = principal("maker", Role.OPERATOR, Role.APPROVER, channel=Channel.CONSOLE)
    _, token = page(client, both)
    response = client.post(f"/beneficiaries/changes/{change}/approve", data={"csrf_token": token})
    assert response.status_code == 403 and "SOD_SELF_APPROVAL" in response.text
    with engine.connect() as conn:
        outcome = conn.execute(text("SELECT outcome FROM audit_events WHERE action = 'beneficiary.change.approve'"))
        assert outcome.scalar_one() == "denied"
