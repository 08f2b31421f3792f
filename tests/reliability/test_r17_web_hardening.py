"""R17 web hardening, on SQLite and PostgreSQL: CSRF refused (missing, wrong, another session's,
cross-site), no state change via GET on any route (generated from `app.routes`, so a new route is
covered without editing this test), cookie attributes, and the security headers on every response.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, select

from tests.support.auth import (
    CSRF_COOKIE,
    PASSWORD,
    SESSION_COOKIE,
    MovableClock,
    acting_as,
    app_routes,
    console_client,
    form_token,
    principal,
    sign_in,
    signed_out,
)
from yinqi.domain.identity.principal import Role

START = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
# Bookkeeping of who is signed in, not business state: reading a page marks the session as used.
BOOKKEEPING_TABLES = {"sessions", "api_tokens"}


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def client(engine: Engine, tmp_path: Path, clock: MovableClock) -> TestClient:
    return console_client(engine, tmp_path, clock, users={"olivia": {Role.OPERATOR}})


def signed_in(client: TestClient, clock: MovableClock, username: str = "olivia") -> str:
    sign_in(client, username, PASSWORD, at=clock.now())
    return form_token(client.get("/orders/new").text)


def new_order_form(token: str | None) -> dict[str, str]:
    form = {"serial": "CSRF-1", "payee_name": "X", "payee_iban": "FR7630006000011234567890189", "amount": "1.00",
            "currency": "EUR", "execution_date": "2030-01-10", "payer_account": ""}
    return form if token is None else {**form, "csrf_token": token}


# --- CSRF ------------------------------------------------------------------------------------------
def test_a_console_post_without_a_csrf_token_is_refused(client: TestClient, clock: MovableClock) -> None:
    signed_in(client, clock)
    assert client.post("/orders/new", data=new_order_form(None)).status_code == 403


def test_a_console_post_with_a_wrong_csrf_token_is_refused(client: TestClient, clock: MovableClock) -> None:
    token = signed_in(client, clock)
    wrong = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert client.post("/orders/new", data=new_order_form(wrong)).status_code == 403


def test_the_token_of_another_session_is_refused(client: TestClient, clock: MovableClock) -> None:
    other = TestClient(client.app, base_url="https://testserver", raise_server_exceptions=False)
    theirs = signed_in(other, clock, "admin")
    mine = signed_in(client, clock)
    assert mine != theirs
    assert client.post("/orders/new", data=new_order_form(theirs)).status_code == 403


def test_the_right_token_passes_the_csrf_check(client: TestClient, clock: MovableClock) -> None:
    token = signed_in(client, clock)
    response = client.post("/orders/new", data=new_order_form(token), follow_redirects=False)
    assert response.status_code != 403  # 422 (no payer account configured) or 303: past the check


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                     {"Origin": "https://evil.example"}, {"Origin": "null"}])
def test_a_cross_origin_post_with_a_valid_token_is_refused(client: TestClient, clock: MovableClock,
                                                         headers: dict[str, str]) -> None:
    token = signed_in(client, clock)
    response = client.post("/orders/new", data=new_order_form(token), headers=headers)
    assert response.status_code == 403


def test_a_cross_origin_api_call_riding_the_session_cookie_is_refused(client: TestClient,
                                                                      clock: MovableClock) -> None:
    sign_in(client, "admin", PASSWORD, at=clock.now())
    body = {"username": "mallory", "password": PASSWORD, "roles": ["operator"], "companies": ["ACME"]}
    refused = client.post("/api/v1/users", json=body, headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403
    assert "mallory" not in client.get("/api/v1/users").text


def test_the_login_form_is_protected_before_any_session(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "olivia", "password": PASSWORD, "csrf_token": "x" * 43})
    assert response.status_code == 403
    assert SESSION_COOKIE not in client.cookies


# --- no state change via GET -------------------------------------------------------------------------
def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table in the database (reflected: nothing can hide from it)."""
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(select(t)).all()), key=repr)
                for t in tables.sorted_tables if t.name not in BOOKKEEPING_TABLES}


def get_paths(app: Any, order_id: str) -> list[str]:
    """Every route's path (GET routes and, tried with GET, the POST/DELETE-only ones) with its
    parameters filled in: the order id for {order_id}, "1" for anything else."""
    paths = {re.sub(r"\{order_id\}", order_id, path) for path, _ in app_routes(app)}
    return sorted(re.sub(r"\{[^}]+\}", "1", path) for path in paths)


def test_no_route_changes_state_on_get(client: TestClient, engine: Engine, clock: MovableClock) -> None:
    acting_as(client.app, principal("olivia", *Role, companies={"ACME"}, step_up_at=clock.now()))  # type: ignore[arg-type]
    order = client.post("/api/v1/payment-orders", headers={"Idempotency-Key": "r17"}, json={
        "company_id": "ACME", "serial": "R17-1", "amount": "20000.00", "currency": "EUR",
        "requested_execution_date": "2030-01-10",
        "payer": {"name": "Acme", "account": {"iban": "DE89370400440532013000"}, "currency": "EUR"},
        "payee": {"name": "Lyon", "account": {"iban": "FR7630006000011234567890189"}, "country": "FR"}})
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]
    paths = get_paths(client.app, order_id)
    assert "/orders" in paths and "/api/v1/users" in paths and "/logout" in paths and "/login/enrol/start" in paths
    before = snapshot(engine)
    statuses = {path: client.get(path, follow_redirects=False).status_code for path in paths}
    assert snapshot(engine) == before, statuses
    assert all(status < 500 for status in statuses.values()), statuses
    for post_only in ("/logout", "/login/enrol/start", "/api/v1/users/1/disable", "/api/v1/api-tokens/1"):
        assert statuses[post_only] == 405, (post_only, statuses[post_only])


# --- cookies and headers -----------------------------------------------------------------------------
def set_cookies(response: Any) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def test_session_and_csrf_cookies_are_host_only_secure_httponly_samesite_strict(client: TestClient) -> None:
    page = client.get("/login")
    step = client.post("/login", data={"csrf_token": form_token(page.text), "username": "olivia",
                                       "password": PASSWORD, "next": "/orders"}, follow_redirects=False)
    cookies = {**set_cookies(page), **set_cookies(step)}
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        assert name.startswith("__Host-")
        attributes = [a.strip().lower() for a in cookies[name].split(";")[1:]]
        assert "secure" in attributes and "httponly" in attributes and "samesite=strict" in attributes
        assert "path=/" in attributes and not any(a.startswith("domain") for a in attributes)


def test_every_response_says_nosniff_and_pages_and_api_bodies_are_not_stored(client: TestClient,
                                                                             clock: MovableClock) -> None:
    sign_in(client, "admin", PASSWORD, at=clock.now())
    responses = {path: client.get(path, follow_redirects=False) for path in get_paths(client.app, "1")}
    responses["404"] = client.get("/no/such/page")
    signed_out(client.app)  # type: ignore[arg-type]
    client.cookies.clear()
    responses["401"] = client.get("/api/v1/users")
    responses["303"] = client.get("/orders", follow_redirects=False)
    for name, response in responses.items():
        assert response.headers.get("x-content-type-options") == "nosniff", name
        assert response.headers.get("x-frame-options") == "DENY", name
        assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", ""), name
        assert response.headers.get("referrer-policy") == "no-referrer", name
        assert "no-store" in response.headers.get("cache-control", ""), name
    static = client.get("/static/console.css")
    assert static.headers["x-content-type-options"] == "nosniff" and "no-store" not in static.headers.get(
        "cache-control", "")
