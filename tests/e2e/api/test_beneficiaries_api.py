"""The beneficiaries REST API end to end (FastAPI app, real database on both backends): four eyes,
idempotency, masking, company separation and refusal auditing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.support.auth import acting_as, principal
from yinqi.config import Settings
from yinqi.domain.identity.principal import Role
from yinqi.entrypoints.api.app import create_app

URL = "/api/v1/beneficiaries"
IBAN = "FR1420041010050500013M02606"
NEW_IBAN = "FR7630006000011234567890189"
MAKER = principal("maker", Role.OPERATOR)
CHECKER = principal("checker", Role.APPROVER)
AUDITOR = principal("auditor", Role.AUDITOR)
OUTSIDER = principal("outsider", Role.OPERATOR, Role.APPROVER, companies={"OTHER"})
_keys = itertools.count()


class Clock:
    def now(self) -> datetime:
        return datetime(2030, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    app = create_app(engine=engine, settings=Settings(home=tmp_path, beneficiary_cooling_off_hours=48), clock=Clock())
    return TestClient(app, raise_server_exceptions=False)


def as_(client: TestClient, who: Any) -> TestClient:
    acting_as(client.app, who)  # type: ignore[arg-type]
    return client


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"k-{next(_keys)}"}


def body(**extra: Any) -> dict[str, Any]:
    return {"company_id": "ACME", "name": "Fournisseur SARL", "account": {"iban": IBAN}, "country": "FR",
            "bic": "BNPAFRPPXXX", "address": {"town": "Paris"}, "reason": "new supplier", **extra}


def propose(client: TestClient) -> dict[str, Any]:
    response = as_(client, MAKER).post(URL, json=body(), headers=key())
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def error(response: Any) -> dict[str, Any]:
    return response.json()["error"]  # type: ignore[no-any-return]


def test_a_proposal_is_listed_pending_with_a_masked_account_for_the_maker(client: TestClient) -> None:
    change = propose(client)
    assert change["kind"] == "create" and change["status"] == "PENDING"
    assert change["new_account"]["number"] == "FR14*******************2606"  # operators may not reveal
    [item] = as_(client, MAKER).get(URL).json()["items"]
    assert item["status"] == "PENDING" and item["pending_change"]["id"] == change["id"]
    [item] = as_(client, CHECKER).get(URL).json()["items"]
    assert item["account"]["number"] == IBAN  # approvers may reveal


def test_the_maker_cannot_approve_and_the_refusal_is_audited(client: TestClient, engine: Engine) -> None:
    change = propose(client)
    both = principal("maker", Role.OPERATOR, Role.APPROVER)
    response = as_(client, both).post(f"{URL}/changes/{change['id']}/approve", headers=key())
    assert response.status_code == 403 and error(response)["code"] == "SOD_SELF_APPROVAL"
    with engine.connect() as conn:
        refusal = conn.execute(text("SELECT actor_id, outcome, reason FROM audit_events "
                                    "WHERE action = 'beneficiary.change.approve'")).one()
    assert refusal[0] == "maker" and refusal[1] == "denied" and refusal[2].startswith("SOD_SELF_APPROVAL")
    response = as_(client, CHECKER).post(f"{URL}/changes/{change['id']}/approve", headers=key())
    assert response.status_code == 200 and response.json()["status"] == "ACTIVE"


def test_an_account_change_is_approved_then_cools_off_for_the_configured_hours(client: TestClient) -> None:
    change = propose(client)
    as_(client, CHECKER).post(f"{URL}/changes/{change['id']}/approve", headers=key())
    response = as_(client, MAKER).post(f"{URL}/{change['beneficiary_id']}/changes", headers=key(),
                                      json={"account": {"iban": NEW_IBAN}, "reason": "letter"})
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["old_account"]["number"] == "FR14*******************2606"
    assert new["new_account"]["number"] == "FR76*******************0189"
    again = as_(client, MAKER).post(f"{URL}/{change['beneficiary_id']}/changes", headers=key(),
                                   json={"account": {"iban": "DE89370400440532013000"}})
    assert again.status_code == 409 and error(again)["code"] == "BENEFICIARY_CHANGE_PENDING"
    approved = as_(client, CHECKER).post(f"{URL}/changes/{new['id']}/approve", headers=key()).json()
    assert approved["cooling_off_until"] == "2030-01-12T09:00:00+00:00"  # 48 hours, as configured
    history = as_(client, AUDITOR).get(f"{URL}/{change['beneficiary_id']}").json()["changes"]
    assert [(c["kind"], c["status"], c["decided_by"]) for c in history] == [
        ("create", "APPROVED", "checker"), ("account", "APPROVED", "checker")]


def test_reject_needs_a_reason_and_a_decided_change_stays_decided(client: TestClient) -> None:
    change = propose(client)
    no_reason = as_(client, CHECKER).post(f"{URL}/changes/{change['id']}/reject", headers=key(), json={})
    assert no_reason.status_code == 422 and error(no_reason)["problems"][0]["where"] == "reason"
    rejected = as_(client, CHECKER).post(f"{URL}/changes/{change['id']}/reject", headers=key(),
                                         json={"reason": "unknown supplier"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "REJECTED"
    late = as_(client, CHECKER).post(f"{URL}/changes/{change['id']}/approve", headers=key())
    assert late.status_code == 409 and error(late)["code"] == "BENEFICIARY_CHANGE_DECIDED"


def test_a_retry_with_the_same_key_replays_and_creates_nothing_new(client: TestClient) -> None:
    headers = key()
    first = as_(client, MAKER).post(URL, json=body(), headers=headers)
    second = as_(client, MAKER).post(URL, json=body(), headers=headers)
    assert first.status_code == second.status_code == 201 and first.content == second.content
    assert second.headers["idempotency-replayed"] == "true"
    assert first.headers["location"] == f"{URL}/{first.json()['beneficiary_id']}"
    assert len(as_(client, CHECKER).get(URL).json()["items"]) == 1
    missing = as_(client, MAKER).post(URL, json=body(name="Other"))
    assert missing.status_code == 400 and error(missing)["code"] == "IDEMPOTENCY_KEY_REQUIRED"


def test_invalid_values_come_back_with_every_problem(client: TestClient) -> None:
    response = as_(client, MAKER).post(URL, json=body(name="", account={"iban": "FR00"}, country="ZZ"),
                                       headers=key())
    assert response.status_code == 422
    assert [(p["code"], p["where"]) for p in error(response)["problems"]] == [
        ("FIELD_REQUIRED", "name"), ("IBAN_INVALID", "account.iban"), ("COUNTRY_INVALID", "country")]


@pytest.mark.parametrize(("who", "method", "path", "status"), [
    (AUDITOR, "post", URL, 403),                     # read-only
    (CHECKER, "post", URL, 403),                     # approvers do not propose
    (MAKER, "post", f"{URL}/changes/{{change}}/approve", 403),
    (principal("admin", Role.ADMIN), "get", URL, 403),  # admins never touch payees
    (OUTSIDER, "get", f"{URL}/{{beneficiary}}", 404),
    (OUTSIDER, "post", f"{URL}/changes/{{change}}/approve", 404),
    (OUTSIDER, "post", f"{URL}/{{beneficiary}}/changes", 404),
])
def test_permissions_and_company_separation(client: TestClient, who: Any, method: str, path: str,
                                            status: int) -> None:
    change = propose(client)
    url = path.format(change=change["id"], beneficiary=change["beneficiary_id"])
    kwargs: dict[str, Any] = {"headers": key()}
    if method == "post":
        kwargs["json"] = body() if url == URL else {"account": {"iban": NEW_IBAN}}
    response = getattr(as_(client, who), method)(url, **kwargs)
    assert response.status_code == status, response.text
    assert as_(client, OUTSIDER).get(URL).json()["items"] == []
