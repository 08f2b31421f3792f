"""R15, the 429 part, on SQLite and PostgreSQL: above the documented limits a client gets 429
`RATE_LIMITED` with an integer `Retry-After`, and the refusal is audited. Sign-in attempts are
limited per source address (password spraying across many users from one machine) and per
username; API requests per token. The limits are Settings, made small here so tests stay fast.
(Lockout after 10 failures is tests/reliability/test_r15_lockout.py.)"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.auth import PASSWORD, MovableClock, console_client, form_token
from yinqi.application import identity
from yinqi.domain.identity.principal import Channel, Principal, Role
from yinqi.entrypoints.rate_limits import RateLimited, RateLimits

START = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def client(engine: Engine, tmp_path: Path, clock: MovableClock) -> TestClient:
    return console_client(engine, tmp_path, clock, users={"olivia": {Role.OPERATOR}}, rate_limit_login_per_min=3,
                          rate_limit_api_per_s=0.01, rate_limit_api_burst=3)


def attempt(client: TestClient, username: str, password: str = "wrong password 123") -> object:
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": form_token(page.text), "username": username,
                                       "password": password, "next": "/orders"}, follow_redirects=False)


def audit_reasons(client: TestClient, action: str) -> list[str]:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with hub.uow() as uow:
        return [e.reason for e in uow.audit.iter_all() if e.action == action and e.outcome == "denied"]


def test_password_spraying_from_one_address_gets_429_with_retry_after(client: TestClient) -> None:
    statuses = [attempt(client, name).status_code for name in ("alice", "bob", "carol")]  # type: ignore[attr-defined]
    sprayed = attempt(client, "dave")
    assert statuses == [401, 401, 401]
    assert sprayed.status_code == 429  # type: ignore[attr-defined]
    retry_after = sprayed.headers["retry-after"]  # type: ignore[attr-defined]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
    assert "Too many attempts" in sprayed.text  # type: ignore[attr-defined]
    assert any(r.startswith("RATE_LIMITED") for r in audit_reasons(client, "user.login.rate_limited"))


def test_a_rate_limited_attempt_never_reaches_the_password_check(client: TestClient) -> None:
    for _ in range(3):
        attempt(client, "olivia")
    right_password = attempt(client, "olivia", PASSWORD)
    assert right_password.status_code == 429  # type: ignore[attr-defined]


def test_the_per_username_limit_holds_across_addresses() -> None:
    now = [0.0]
    limits = RateLimits(login_per_min=3, api_per_s=1, api_burst=1, monotonic=lambda: now[0])
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        limits.sign_in_attempt(source_address=address, username="Olivia")
    with pytest.raises(RateLimited) as refused:
        limits.sign_in_attempt(source_address="10.0.0.4", username="olivia")
    assert refused.value.code == "RATE_LIMITED" and refused.value.retry_after_s == 20
    now[0] += 20.0  # 3/min refills one attempt every 20 s
    limits.sign_in_attempt(source_address="10.0.0.5", username="olivia")


def test_an_api_token_over_its_budget_gets_429_and_the_refusal_is_audited(client: TestClient,
                                                                         clock: MovableClock) -> None:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with hub.uow() as uow:
        users = {u.username: u for u in identity.list_users(uow=uow, principal=Principal.system("test"))}
    admin = Principal(user_id=users["admin"].id, username="admin", roles=frozenset({Role.ADMIN}),
                      companies=frozenset({"ACME"}), channel=Channel.CLI)
    with hub.uow() as uow:
        issued = identity.issue_token(uow=uow, clock=clock, principal=admin, user_id=users["olivia"].id, name="erp",
                                      scopes={"order.read"}, companies={"ACME"})
    bearer = {"Authorization": f"Bearer {issued.secret}"}
    assert [client.get("/api/v1/payment-orders", headers=bearer).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get("/api/v1/payment-orders", headers=bearer)
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "RATE_LIMITED"
    assert limited.headers["retry-after"].isdigit() and int(limited.headers["retry-after"]) >= 1
    assert any(r.startswith("RATE_LIMITED") for r in audit_reasons(client, "GET /api/v1/payment-orders"))
