"""R16 through the web: console sessions as a browser lives them (the cookie), on SQLite and PostgreSQL.

A new session id at sign-in (a cookie planted before sign-in is worthless after it) and again at
full authentication; the old cookie is refused after logout, after 15 idle minutes, after 8 hours
whatever the activity, and once the user is disabled, both by console pages (redirect to sign-in)
and by the API (401). The use-case side of R16 is tests/reliability/test_r16_sessions.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.auth import (
    PASSWORD,
    SESSION_COOKIE,
    MovableClock,
    console_client,
    form_token,
    sign_in,
)
from yinqi.domain.identity.principal import Role

START = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def client(engine: Engine, tmp_path: Path, clock: MovableClock) -> TestClient:
    return console_client(engine, tmp_path, clock, users={"olivia": {Role.OPERATOR}, "arthur": {Role.APPROVER}})


def cookie(client: TestClient) -> str:
    return str(client.cookies.get(SESSION_COOKIE))


def opens(client: TestClient, session: str, path: str = "/orders") -> bool:
    """Whether a console page opens with exactly this session cookie (False: sent to sign in)."""
    client.cookies.set(SESSION_COOKIE, session, domain="testserver.local")
    response = client.get(path, follow_redirects=False)
    if response.status_code == 303 and response.headers["location"].startswith("/login?next="):
        return False
    assert response.status_code == 200, response.text
    return True


def api_with(client: TestClient, session: str) -> int:
    client.cookies.set(SESSION_COOKIE, session, domain="testserver.local")
    return client.get("/api/v1/payment-orders").status_code


def test_a_signed_in_session_opens_pages_and_the_api(client: TestClient, clock: MovableClock) -> None:
    sign_in(client, "olivia", PASSWORD, at=clock.now())
    assert opens(client, cookie(client))
    assert api_with(client, cookie(client)) == 200


def test_without_a_session_a_page_redirects_to_sign_in_and_the_api_answers_401(client: TestClient) -> None:
    response = client.get("/orders/new?x=1", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Forders%2Fnew%3Fx%3D1"
    api = client.get("/api/v1/payment-orders")
    assert api.status_code == 401 and api.headers["www-authenticate"] == "Bearer"
    assert api.json()["error"]["code"] == "NOT_AUTHENTICATED"


def test_a_cookie_planted_before_sign_in_is_replaced_and_worthless(client: TestClient, clock: MovableClock) -> None:
    planted = "attacker-chosen-session-value-0123456789abcdef"
    client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
    page = client.get("/login")
    step = client.post("/login", data={"csrf_token": form_token(page.text), "username": "olivia",
                                       "password": PASSWORD, "next": "/orders"}, follow_redirects=False)
    password_ok = cookie(client)
    assert step.status_code == 303 and password_ok != planted and len(password_ok) >= 22  # ≥ 128 bits base64url
    assert not opens(client, password_ok)  # only the second factor opens the console
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, password_ok, domain="testserver.local")
    sign_in_rest = client.get(step.headers["location"])
    shown = client.post("/login/enrol/start", data={"csrf_token": form_token(sign_in_rest.text), "next": "/orders"})
    secret = re.search(r'id="totp-secret">([^<]+)<', shown.text).group(1).replace(" ", "")  # type: ignore[union-attr]
    client.post("/login/enrol", data={"csrf_token": form_token(shown.text), "next": "/orders",
                                      "code": pyotp.TOTP(secret).at(clock.now())}, follow_redirects=False)
    authenticated = cookie(client)
    assert authenticated not in (planted, password_ok)  # a new id at full authentication too
    assert opens(client, authenticated)
    assert not opens(client, password_ok) and not opens(client, planted)


def test_the_old_cookie_is_refused_after_logout(client: TestClient, clock: MovableClock) -> None:
    sign_in(client, "olivia", PASSWORD, at=clock.now())
    old = cookie(client)
    page = client.get("/orders")
    out = client.post("/logout", data={"csrf_token": form_token(page.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    assert 'Max-Age=0' in out.headers["set-cookie"] or "expires=" in out.headers["set-cookie"].lower()
    assert not opens(client, old)
    assert api_with(client, old) == 401


def test_fifteen_idle_minutes_end_the_session_and_activity_keeps_it(client: TestClient,
                                                                   clock: MovableClock) -> None:
    sign_in(client, "olivia", PASSWORD, at=clock.now())
    session = cookie(client)
    for _ in range(3):  # 3 × 14 min with activity in between: still signed in
        clock.advance(timedelta(minutes=14))
        assert opens(client, session)
    clock.advance(timedelta(minutes=15, seconds=1))
    assert not opens(client, session)
    clock.advance(timedelta(seconds=-30))  # even if the clock went back, an ended session stays ended
    assert api_with(client, session) == 401


def test_eight_hours_after_sign_in_the_session_ends_whatever_the_activity(client: TestClient,
                                                                         clock: MovableClock) -> None:
    sign_in(client, "olivia", PASSWORD, at=clock.now())
    session = cookie(client)
    for _ in range(47):  # every 10 minutes for 7 h 50 min
        clock.advance(timedelta(minutes=10))
        assert opens(client, session)
    clock.advance(timedelta(minutes=10, seconds=1))
    assert not opens(client, session)


def test_disabling_a_user_ends_their_session_at_once(client: TestClient, clock: MovableClock) -> None:
    admin = TestClient(client.app, base_url="https://testserver", raise_server_exceptions=False)
    sign_in(client, "olivia", PASSWORD, at=clock.now())
    sign_in(admin, "admin", PASSWORD, at=clock.now())
    olivia_session = cookie(client)
    users = admin.get("/api/v1/users").json()["items"]
    olivia = next(u for u in users if u["username"] == "olivia")
    disabled = admin.post(f"/api/v1/users/{olivia['id']}/disable", headers={"Origin": "https://testserver"})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert not opens(client, olivia_session)
    assert api_with(client, olivia_session) == 401
