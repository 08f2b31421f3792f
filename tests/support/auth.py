"""Acting as a principal in tests.

API and console tests that are not about sign-in itself skip it: they build a `Principal` with
`principal(...)` and make the app resolve every request to it with `acting_as(app, p)` (a FastAPI
dependency override of both `current_principal` and `console_principal`). Call `acting_as` again
to switch users mid-test; `signed_out(app)` drops the override. Sign-in itself is tested for real
(tests/reliability/test_r16_sessions_web.py, the e2e harness and the browser test).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from yinqi.domain.identity.principal import Channel, Principal, Role
from yinqi.entrypoints.api.deps import current_principal
from yinqi.entrypoints.web.session import console_principal

DEFAULT_COMPANIES = frozenset({"ACME"})


def principal(username: str, *roles: Role | str, companies: set[str] | frozenset[str] | None = None,
              channel: Channel = Channel.API, step_up_at: datetime | None = None,
              approval_limit_minor: int | None = None, scopes: set[str] | None = None) -> Principal:
    """A principal with `roles` (default: operator) on `companies` (default: ACME)."""
    return Principal(user_id=f"u-{username}", username=username,
                     roles=frozenset(Role(r) for r in roles) or frozenset({Role.OPERATOR}),
                     companies=frozenset(DEFAULT_COMPANIES if companies is None else companies), channel=channel,
                     source_address="testclient", session_id=f"s-{username}", step_up_at=step_up_at,
                     approval_limit_minor=approval_limit_minor,
                     scopes=None if scopes is None else frozenset(scopes))


def acting_as(app: FastAPI, who: Principal) -> Principal:
    """Every API and console request of `app` now runs as `who` (returned, for chaining)."""
    def resolve(request: Request) -> Principal:
        request.state.principal = who  # as the real dependencies do (refusal auditing reads it)
        return who

    app.dependency_overrides[current_principal] = resolve
    app.dependency_overrides[console_principal] = resolve
    return who


def signed_out(app: FastAPI) -> None:
    app.dependency_overrides.pop(current_principal, None)
    app.dependency_overrides.pop(console_principal, None)


TEST_ACTOR_HEADER = "X-Test-Actor"


def acting_by_header(app: FastAPI, people: Mapping[str, Principal], *, default: str) -> None:
    """For tests with several actors in one client: each request acts as `people[<X-Test-Actor>]`
    (`default` without the header). A test-only dependency override; the hub has no such header."""
    def resolve(request: Request) -> Principal:
        who = people[request.headers.get(TEST_ACTOR_HEADER, default)]
        request.state.principal = who
        return who

    app.dependency_overrides[current_principal] = resolve
    app.dependency_overrides[console_principal] = resolve


# --- signing in for real through the console pages (TestClient on https://testserver) ------------
SESSION_COOKIE = "__Host-yinqi_session"
CSRF_COOKIE = "__Host-yinqi_csrf"


def form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:1000]
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str, *, at: datetime,
            secret: str | None = None) -> str:
    """Password, then TOTP (enrolling first when `secret` is None, reading it from the page) with
    codes computed for `at`. Returns the TOTP secret. The client must use https://testserver so
    its `Secure` cookies come back."""
    import pyotp

    page = client.get("/login")
    step = client.post("/login", data={"csrf_token": form_token(page.text), "username": username,
                                       "password": password, "next": "/orders"}, follow_redirects=False)
    assert step.status_code == 303, step.text
    if secret is None:
        start = client.get(step.headers["location"])
        shown = client.post("/login/enrol/start", data={"csrf_token": form_token(start.text), "next": "/orders"})
        found = re.search(r'id="totp-secret">([^<]+)<', shown.text)
        assert found, shown.text[:1000]
        secret = found.group(1).replace(" ", "")
        done = client.post("/login/enrol", data={"csrf_token": form_token(shown.text), "next": "/orders",
                                                 "code": pyotp.TOTP(secret).at(at)}, follow_redirects=False)
    else:
        form = client.get(step.headers["location"])
        done = client.post("/login/totp", data={"csrf_token": form_token(form.text), "next": "/orders",
                                                "code": pyotp.TOTP(secret).at(at)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/orders", done.text
    return secret


PASSWORD = "correct horse battery staple"
COMPANY = "ACME"


class MovableClock:
    """A clock a test moves by hand (sessions' idle and absolute timeouts, TOTP steps)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


def console_client(engine: Engine, home: Path, clock: MovableClock, *, users: Mapping[str, set[Role]],
                   **settings: Any) -> TestClient:
    """The whole hub app (API + console) over `engine`, with `admin` bootstrapped and `users`
    created (password PASSWORD, company ACME) through the identity use cases. Nobody is signed in."""
    from yinqi.application import identity
    from yinqi.bootstrap import build_hub
    from yinqi.config import Settings
    from yinqi.entrypoints.hub_app import build_app

    hub = build_hub(Settings(home=home, auto_release=False, company_id=COMPANY, **settings), clock=clock,
                    engine=engine)
    with hub.uow() as uow:
        admin = identity.bootstrap_admin(uow=uow, clock=clock, username="admin", password=PASSWORD,
                                         company_id=COMPANY, company_name="Acme Ltd")
    boss = Principal(user_id=admin.id, username="admin", roles=admin.roles, companies=admin.companies,
                     channel=Channel.CLI)
    for username, roles in users.items():
        with hub.uow() as uow:
            identity.create_user(uow=uow, clock=clock, principal=boss, username=username, password=PASSWORD,
                                 display_name=username, roles=set(roles), companies={COMPANY})
    return TestClient(build_app(hub), base_url="https://testserver", raise_server_exceptions=False)


def app_routes(app: FastAPI) -> list[tuple[str, frozenset[str]]]:
    """Every (path, methods) the app serves, static mounts left out. FastAPI ≥ 0.16x keeps included
    routers as lazy wrappers in `app.routes`, so they are walked through `effective_candidates()`."""
    found: list[tuple[str, frozenset[str]]] = []

    def walk(routes: Any) -> None:
        for route in routes:
            nested = getattr(route, "effective_candidates", None)
            if nested is not None:
                walk(nested())
                continue
            methods = getattr(getattr(route, "original_route", route), "methods", None)
            if methods:
                found.append((str(route.path), frozenset(methods)))

    walk(app.routes)
    return found
