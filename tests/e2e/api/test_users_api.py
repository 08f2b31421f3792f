"""Users, role grants and API tokens over the API and the console's Users page (SQLite and PostgreSQL).

Signed in for real (password + TOTP through the pages) as admins; the API calls ride the console
session like the console's own fetch calls would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.auth import PASSWORD, MovableClock, console_client, form_token, sign_in
from yinqi.domain.identity.principal import Role

START = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
NEW_USER = {"username": "Nina", "password": "a long enough passphrase", "display_name": "Nina Ops",
            "roles": ["operator"], "companies": ["ACME"], "approval_limit_minor": None}


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def admin(engine: Engine, tmp_path: Path, clock: MovableClock) -> TestClient:
    client = console_client(engine, tmp_path, clock, users={"olivia": {Role.OPERATOR}})
    sign_in(client, "admin", PASSWORD, at=clock.now())
    return client


def users(client: TestClient) -> dict[str, dict[str, Any]]:
    return {u["username"]: u for u in client.get("/api/v1/users").json()["items"]}


def test_an_admin_lists_users_with_roles_companies_totp_and_lock_state(admin: TestClient) -> None:
    listed = users(admin)
    assert listed["admin"]["roles"] == ["admin"] and listed["admin"]["totp_enrolled"] is True
    assert listed["olivia"] == {**listed["olivia"], "roles": ["operator"], "companies": ["ACME"],
                                "totp_enrolled": False, "disabled": False, "locked": False}


def test_an_admin_creates_a_user_and_a_duplicate_is_refused(admin: TestClient) -> None:
    created = admin.post("/api/v1/users", json=NEW_USER)
    assert created.status_code == 201 and created.json()["username"] == "nina"
    assert "password" not in created.text and NEW_USER["password"] not in created.text
    again = admin.post("/api/v1/users", json=NEW_USER)
    assert again.status_code == 409 and again.json()["error"]["code"] == "USER_EXISTS"
    weak = admin.post("/api/v1/users", json={**NEW_USER, "username": "weak", "password": "short"})
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "PASSWORD_TOO_WEAK"


def test_an_operator_may_not_list_or_create_users(admin: TestClient, clock: MovableClock) -> None:
    operator = TestClient(admin.app, base_url="https://testserver", raise_server_exceptions=False)
    sign_in(operator, "olivia", PASSWORD, at=clock.now())
    assert operator.get("/api/v1/users").json()["error"]["code"] == "FORBIDDEN"
    assert operator.post("/api/v1/users", json=NEW_USER).status_code == 403
    assert operator.get("/users").status_code == 403


def test_granting_admin_needs_a_second_admin(admin: TestClient, clock: MovableClock) -> None:
    olivia = users(admin)["olivia"]
    request = admin.post(f"/api/v1/users/{olivia['id']}/grants", json={"role": "admin"})
    assert request.status_code == 201 and request.json()["outcome"] == "pending"
    pending = admin.get("/api/v1/role-grants").json()["items"]
    assert [g["id"] for g in pending] == [request.json()["id"]]
    self_approval = admin.post(f"/api/v1/role-grants/{request.json()['id']}/approve")
    assert self_approval.status_code == 403 and self_approval.json()["error"]["code"] == "GRANT_REQUIRES_SECOND_ADMIN"
    assert users(admin)["olivia"]["roles"] == ["operator"]


def test_a_token_secret_is_shown_once_and_works_until_revoked(admin: TestClient) -> None:
    olivia = users(admin)["olivia"]
    issued = admin.post("/api/v1/api-tokens", json={"name": "ERP", "user_id": olivia["id"],
                                                     "scopes": ["order.read"], "companies": ["ACME"]})
    assert issued.status_code == 201
    secret = issued.json()["token"]
    assert secret.startswith(f"yq_{issued.json()['id']}_")
    listed = admin.get("/api/v1/api-tokens").json()["items"]
    assert secret not in str(listed) and [t["id"] for t in listed] == [issued.json()["id"]]
    erp = TestClient(admin.app, base_url="https://testserver", raise_server_exceptions=False)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert erp.get("/api/v1/payment-orders", headers=bearer).status_code == 200
    assert erp.get("/api/v1/users", headers=bearer).status_code == 403  # beyond its scopes
    assert admin.delete(f"/api/v1/api-tokens/{issued.json()['id']}").status_code == 204
    assert erp.get("/api/v1/payment-orders", headers=bearer).status_code == 401


def test_a_token_beyond_its_owners_permissions_is_refused(admin: TestClient) -> None:
    olivia = users(admin)["olivia"]
    refused = admin.post("/api/v1/api-tokens", json={"name": "x", "user_id": olivia["id"],
                                                      "scopes": ["order.approve"], "companies": ["ACME"]})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "TOKEN_SCOPE_INVALID"


def test_the_users_page_creates_a_user_and_shows_a_new_token_once(admin: TestClient) -> None:
    page = admin.get("/users")
    assert page.status_code == 200 and 'id="users"' in page.text and "olivia" in page.text
    made = admin.post("/users", data={"csrf_token": form_token(page.text), "username": "pete",
                                      "password": PASSWORD, "roles": ["approver"], "companies": ["ACME"],
                                      "approval_limit": "50000.00"}, follow_redirects=False)
    assert made.status_code == 303
    assert users(admin)["pete"]["approval_limit_minor"] == 5_000_000
    page, pete = admin.get("/users"), users(admin)["pete"]["id"]
    issued = admin.post("/users/tokens", data={"csrf_token": form_token(page.text), "user_id": pete,
                                               "name": "pete-cli", "scopes": ["order.read"], "companies": ["ACME"]})
    assert issued.status_code == 201 and 'id="issued-token-secret">yq_' in issued.text
    secret = issued.text.split('id="issued-token-secret">')[1].split("<")[0]
    assert secret not in admin.get("/users").text


def test_a_refused_console_action_comes_back_as_the_page_with_the_error(admin: TestClient) -> None:
    page = admin.get("/users")
    me = users(admin)["admin"]
    refused = admin.post(f"/users/{me['id']}/disable", data={"csrf_token": form_token(page.text)})
    assert refused.status_code == 403 and "FORBIDDEN" in refused.text and 'id="users"' in refused.text
