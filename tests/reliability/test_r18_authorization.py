"""R18, the authorisation matrix: every route of the hub app (REST API and console) against every role.

`MATRIX` says, for each (method, path template) the hub serves, which roles may use it (or that
it is public). It is checked three ways:
- its keys are exactly the app's routes (`app_routes`): a new route without a row fails, and so
  does a row whose route is gone;
- every route × every role is requested, with a real id in the path and a valid body, as that role:
  a role outside the row is refused (API: 403 `FORBIDDEN`; console: a 403 page in the app layout,
  never the API's JSON), a role inside it is not (any other answer, a 404 or 409 included, means the
  route let it through to the use case);
- without credentials every non-public route refuses (API 401 `NOT_AUTHENTICATED`, console: the
  sign-in redirect) and every public GET answers.
One app and one SQLite database serve the whole module; the cross-tenant, token and masking parts
run on both backends (test_r18_cross_tenant.py).
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.support.auth import app_routes, signed_out
from tests.support.authz_world import HOME_COMPANY, NEW_IBAN, World, add_company_objects, hub_world, person
from tests.support.orders import order_body
from yinqi.adapters.db.engine import make_engine
from yinqi.application.approval_policy import active_policy
from yinqi.domain.identity.principal import Role

OP, AP, RO, TR, AU, AD = (Role.OPERATOR, Role.APPROVER, Role.RISK_OFFICER, Role.TREASURER, Role.AUDITOR,
                          Role.ADMIN)
ALL = frozenset(Role)
READ = frozenset({OP, AP, RO, TR, AU})          # order.read, beneficiary.read, statement.read
APPROVE = frozenset({AP, RO, TR})               # order.approve, order.reject
BENEFICIARY_APPROVE = frozenset({AP, RO})
POLICY_READ = frozenset({TR, AU, AD})
USER_READ = frozenset({AU, AD})
ONLY_OP, ONLY_TR, ONLY_AD = frozenset({OP}), frozenset({TR}), frozenset({AD})
PUBLIC = "public"

V1 = "/api/v1"
MATRIX: dict[tuple[str, str], frozenset[Role] | str] = {
    # --- REST API: payment orders ---
    ("POST", f"{V1}/payment-orders"): ONLY_OP,
    ("GET", f"{V1}/payment-orders"): READ,
    ("POST", f"{V1}/payment-orders/batch"): ONLY_OP,
    ("GET", f"{V1}/payment-orders/{{order_id}}"): READ,
    ("GET", f"{V1}/payment-orders/{{order_id}}/events"): READ,
    ("GET", f"{V1}/payment-orders/{{order_id}}/route"): READ,
    ("POST", f"{V1}/payment-orders/{{order_id}}/amend"): ONLY_OP,
    ("POST", f"{V1}/payment-orders/{{order_id}}/approve"): APPROVE,
    ("POST", f"{V1}/payment-orders/{{order_id}}/reject"): APPROVE,
    ("POST", f"{V1}/payment-orders/{{order_id}}/release"): ONLY_TR,
    ("POST", f"{V1}/payment-orders/{{order_id}}/cancel"): frozenset({OP, TR}),
    ("GET", f"{V1}/approvals"): APPROVE,
    ("POST", f"{V1}/approvals/batch"): APPROVE,
    ("GET", f"{V1}/approval-policy"): POLICY_READ,
    ("PUT", f"{V1}/approval-policy"): ONLY_AD,
    ("GET", f"{V1}/approval-policy/versions"): POLICY_READ,
    ("POST", f"{V1}/approval-policy/simulate"): POLICY_READ,
    # --- REST API: intake, beneficiaries, audit ---
    ("POST", f"{V1}/imports"): ONLY_OP,
    ("GET", f"{V1}/imports/{{job_id}}"): READ,
    ("GET", f"{V1}/beneficiaries"): READ,
    ("POST", f"{V1}/beneficiaries"): ONLY_OP,
    ("GET", f"{V1}/beneficiaries/{{beneficiary_id}}"): READ,
    ("POST", f"{V1}/beneficiaries/{{beneficiary_id}}/changes"): ONLY_OP,
    ("POST", f"{V1}/beneficiaries/changes/{{change_id}}/approve"): BENEFICIARY_APPROVE,
    ("POST", f"{V1}/beneficiaries/changes/{{change_id}}/reject"): BENEFICIARY_APPROVE,
    ("GET", f"{V1}/audit-events"): USER_READ,  # audit.read: auditor and admin
    # --- REST API: reconciliation (recon.read; recon.resolve: treasurer) ---
    ("GET", f"{V1}/reconciliation/breaks"): READ,
    ("GET", f"{V1}/reconciliation/exceptions"): READ,
    ("POST", f"{V1}/reconciliation/matches"): ONLY_TR,
    ("POST", f"{V1}/reconciliation/matches/{{group_id}}/unmatch"): ONLY_TR,
    ("POST", f"{V1}/reconciliation/suggestions/{{suggestion_id}}/accept"): ONLY_TR,
    ("POST", f"{V1}/reconciliation/suggestions/{{suggestion_id}}/reject"): ONLY_TR,
    ("POST", f"{V1}/reconciliation/write-offs"): ONLY_TR,
    # --- REST API: users, grants, tokens (everyone lists and issues their own tokens) ---
    ("GET", f"{V1}/users"): USER_READ,
    ("POST", f"{V1}/users"): ONLY_AD,
    ("POST", f"{V1}/users/{{user_id}}/disable"): ONLY_AD,
    ("POST", f"{V1}/users/{{user_id}}/reset-lockout"): ONLY_AD,
    ("POST", f"{V1}/users/{{user_id}}/grants"): ONLY_AD,
    ("GET", f"{V1}/role-grants"): USER_READ,
    ("POST", f"{V1}/role-grants/{{request_id}}/approve"): ONLY_AD,
    ("GET", f"{V1}/api-tokens"): ALL,
    ("POST", f"{V1}/api-tokens"): ALL,
    ("DELETE", f"{V1}/api-tokens/{{token_id}}"): ONLY_AD,  # someone else's token: token.manage
    ("GET", f"{V1}/ping"): ALL,
    # --- console ---
    ("GET", "/"): ALL,
    ("GET", "/orders"): READ,
    ("GET", "/orders/new"): ONLY_OP,
    ("POST", "/orders/new"): ONLY_OP,
    ("GET", "/orders/{order_id}"): READ,
    ("POST", "/orders/{order_id}/approve"): APPROVE,
    ("POST", "/orders/{order_id}/reject"): APPROVE,
    ("GET", "/approvals"): APPROVE,
    ("POST", "/approvals/batch"): APPROVE,
    ("POST", "/approvals/{order_id}/reject"): APPROVE,
    ("GET", "/import"): ONLY_OP,
    ("POST", "/import"): ONLY_OP,
    ("GET", "/import/{job_id}"): READ,
    ("GET", "/import/{job_id}.json"): READ,
    ("GET", "/beneficiaries"): READ,
    ("POST", "/beneficiaries"): ONLY_OP,
    ("POST", "/beneficiaries/{beneficiary_id}/changes"): ONLY_OP,
    ("POST", "/beneficiaries/changes/{change_id}/approve"): BENEFICIARY_APPROVE,
    ("POST", "/beneficiaries/changes/{change_id}/reject"): BENEFICIARY_APPROVE,
    ("GET", "/ledger"): frozenset({TR, AU}),  # ledger.read
    ("GET", "/statements"): READ,
    ("GET", "/statements/{statement_pk}"): READ,
    ("GET", "/audit"): USER_READ,
    ("GET", "/reconciliation"): READ,  # recon.read; acting on it: recon.resolve (treasurer)
    ("POST", "/reconciliation/match"): ONLY_TR,
    ("POST", "/reconciliation/write-off"): ONLY_TR,
    ("POST", "/reconciliation/suggestions/{suggestion_id}/accept"): ONLY_TR,
    ("POST", "/reconciliation/suggestions/{suggestion_id}/reject"): ONLY_TR,
    ("POST", "/reconciliation/groups/{group_id}/unmatch"): ONLY_TR,
    ("GET", "/users"): USER_READ,
    ("POST", "/users"): ONLY_AD,
    ("POST", "/users/{user_id}/disable"): ONLY_AD,
    ("POST", "/users/{user_id}/reset-lockout"): ONLY_AD,
    ("POST", "/users/{user_id}/grants"): ONLY_AD,
    ("POST", "/users/grants/{request_id}/approve"): ONLY_AD,
    ("POST", "/users/tokens"): USER_READ,  # the form lives on the users page
    ("POST", "/users/tokens/{token_id}/revoke"): ONLY_AD,
    ("GET", "/step-up"): ALL,
    ("POST", "/step-up"): ALL,
    # --- public: sign-in, health, metrics, API documentation ---
    ("GET", "/login"): PUBLIC, ("POST", "/login"): PUBLIC, ("GET", "/login/totp"): PUBLIC,
    ("POST", "/login/totp"): PUBLIC, ("GET", "/login/enrol"): PUBLIC, ("POST", "/login/enrol"): PUBLIC,
    ("POST", "/login/enrol/start"): PUBLIC, ("POST", "/logout"): PUBLIC, ("GET", "/healthz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC, ("GET", "/docs"): PUBLIC, ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC, ("GET", "/redoc"): PUBLIC,
}

# A valid body per route, so a refusal can only be the role's (a bad body would answer 422 first).
JSON_BODIES: dict[tuple[str, str], Any] = {
    ("POST", f"{V1}/payment-orders"): order_body("MATRIX-NEW", "50.00"),
    ("POST", f"{V1}/payment-orders/batch"): {"orders": []},
    ("POST", f"{V1}/payment-orders/{{order_id}}/amend"): {"reason": "typo", "amount": "260.00"},
    ("POST", f"{V1}/payment-orders/{{order_id}}/approve"): {},
    ("POST", f"{V1}/payment-orders/{{order_id}}/reject"): {"reason": "unknown invoice"},
    ("POST", f"{V1}/payment-orders/{{order_id}}/cancel"): {"reason": "duplicate"},
    ("POST", f"{V1}/approvals/batch"): {"order_ids": ["{order_id}"]},
    ("POST", f"{V1}/approval-policy/simulate"): {"document": "{policy}", "since_days": 30},
    ("PUT", f"{V1}/approval-policy"): {"document": "{policy}", "note": "unchanged"},
    ("POST", f"{V1}/beneficiaries"): {"company_id": HOME_COMPANY, "name": "Matrix SARL",
                                      "account": {"iban": NEW_IBAN}, "country": "FR"},
    ("POST", f"{V1}/beneficiaries/{{beneficiary_id}}/changes"): {"account": {"iban": NEW_IBAN}, "reason": "letter"},
    ("POST", f"{V1}/beneficiaries/changes/{{change_id}}/reject"): {"reason": "not confirmed"},
    ("POST", f"{V1}/users"): {"username": "matrix-user", "password": "a long enough password", "roles": ["operator"],
                              "companies": [HOME_COMPANY]},
    ("POST", f"{V1}/users/{{user_id}}/grants"): {"role": "approver"},
    ("POST", f"{V1}/reconciliation/matches"): {"entry_ids": [1], "order_ids": ["{order_id}"], "reason": "by hand"},
    ("POST", f"{V1}/reconciliation/matches/{{group_id}}/unmatch"): {"reason": "wrong pair"},
    ("POST", f"{V1}/reconciliation/suggestions/{{suggestion_id}}/accept"): {"reason": "checked"},
    ("POST", f"{V1}/reconciliation/suggestions/{{suggestion_id}}/reject"): {"reason": "checked"},
    ("POST", f"{V1}/reconciliation/write-offs"): {"entry_ids": [1], "reason": "bank fee"},
    ("POST", f"{V1}/api-tokens"): {"name": "mine", "scopes": ["order.read"], "companies": [HOME_COMPANY]},
}
FORMS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/orders/new"): {"serial": "WEB-MATRIX", "payee_name": "X", "amount": "10.00", "currency": "EUR"},
    ("POST", "/orders/{order_id}/reject"): {"reason": "unknown invoice"},
    ("POST", "/approvals/batch"): {"order_id": ["{order_id}"]},
    ("POST", "/approvals/{order_id}/reject"): {"reason": "unknown invoice"},
    ("POST", "/beneficiaries"): {"company_id": HOME_COMPANY, "name": "Console SARL", "iban": NEW_IBAN, "country": "FR"},
    ("POST", "/beneficiaries/{beneficiary_id}/changes"): {"iban": NEW_IBAN, "reason": "letter"},
    ("POST", "/beneficiaries/changes/{change_id}/reject"): {"reason": "not confirmed"},
    ("POST", "/users"): {"username": "console-user", "password": "a long enough password", "roles": ["operator"],
                         "companies": [HOME_COMPANY]},
    ("POST", "/users/{user_id}/grants"): {"role": "approver"},
    ("POST", "/users/tokens"): {"name": "mine", "scopes": ["order.read"], "companies": [HOME_COMPANY]},
    ("POST", "/step-up"): {"code": "000000"},
    ("POST", "/reconciliation/match"): {"entry_ids": ["1"], "order_ids": ["{order_id}"], "reason": "by hand"},
    ("POST", "/reconciliation/write-off"): {"entry_ids": ["1"], "reason": "bank fee"},
    ("POST", "/reconciliation/suggestions/{suggestion_id}/reject"): {"reason": "checked"},
    ("POST", "/reconciliation/groups/{group_id}/unmatch"): {"reason": "wrong pair"},
}
CSV = b"serial,amount\n1,oops\n"  # unreadable on purpose: allowed roles get 422, refused ones 403 first
FILES = {("POST", f"{V1}/imports"): {"file": ("orders.csv", CSV, "text/csv")},
         ("POST", "/import"): {"file": ("orders.csv", CSV, "text/csv")}}
FILE_FORMS = {("POST", f"{V1}/imports"): {"dry_run": "true"}, ("POST", "/import"): {"dry_run": "1"}}

GUARDED = sorted((k for k, v in MATRIX.items() if v != PUBLIC), key=lambda k: (k[1], k[0]))
CASES = [pytest.param(method, path, role, id=f"{method} {path} as {role.value}")
         for method, path in GUARDED for role in Role]


@pytest.fixture(scope="module")
def world(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("r18-matrix")
    shutil.copyfile(_sqlite_template, home / "yinqi.db")
    engine = make_engine(f"sqlite:///{home / 'yinqi.db'}")
    world = hub_world(engine, home)
    add_company_objects(world, HOME_COMPANY)
    yield world
    engine.dispose()


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def fill(value: Any, values: dict[str, Any]) -> Any:
    """`value` (a path, a body) with its `{placeholders}` replaced by the world's ids."""
    if isinstance(value, str):
        return value.format(**values) if "{" in value else value
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value


def send(world: World, method: str, path: str) -> Response:
    """One request to the route `(method, path)` with its real ids, body and (console) CSRF token."""
    with world.hub.uow() as uow:
        policy = active_policy(uow).document
    values = {**world.ids[HOME_COMPANY], "policy": policy}
    url, key = fill(path, values), (method, path)
    client = world.client
    if is_api(path):
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        if key in FILES:
            return client.request(method, url, files=FILES[key], data=FILE_FORMS[key], headers=headers)
        body = fill(JSON_BODIES.get(key), values)
        return client.request(method, url, json=body if method in ("POST", "PUT") else None, headers=headers)
    if method == "GET":
        return client.get(url, follow_redirects=False)
    form = {"csrf_token": world.csrf, **fill(FORMS.get(key, {}), values), **FILE_FORMS.get(key, {})}
    return client.post(url, data=form, files=FILES.get(key), follow_redirects=False)


def role_refusal(response: Response, *, api: bool) -> bool:
    """Did the route refuse the caller as such (rather than the request's content)?"""
    if not api:  # (the sign-in redirect means "no session", which the last tests cover)
        return response.status_code == 403
    if response.status_code not in (401, 403):
        return False
    return bool(response.json()["error"]["code"] in {"FORBIDDEN", "NOT_AUTHENTICATED"})


# --- the matrix is the route table -----------------------------------------------------------------
def test_the_matrix_lists_exactly_the_routes_the_hub_serves(world: World) -> None:
    served = {(m, p) for p, methods in app_routes(world.app) for m in methods if m != "HEAD"}
    assert sorted(served - MATRIX.keys()) == [], "routes without a matrix row: add them to MATRIX"
    assert sorted(MATRIX.keys() - served) == [], "matrix rows of routes that are gone: remove them"


def summary() -> dict[str, int]:
    """Routes × roles by part and verdict: what the report states, printed by the test below."""
    cells = [(is_api(p), r in MATRIX[(m, p)]) for m, p in GUARDED for r in Role]
    return {"api routes": sum(1 for _, p in GUARDED if is_api(p)),
            "console routes": sum(1 for _, p in GUARDED if not is_api(p)),
            "public routes": sum(1 for v in MATRIX.values() if v == PUBLIC),
            "api allowed": cells.count((True, True)), "api refused": cells.count((True, False)),
            "console allowed": cells.count((False, True)), "console refused": cells.count((False, False))}


READ_ONLY_POSTS = {("POST", f"{V1}/api-tokens"), ("POST", "/users/tokens"), ("POST", "/step-up"),
                   ("POST", f"{V1}/approval-policy/simulate")}  # one's own token, a TOTP check, a dry run
MONEY = ("/payment-orders", "/orders", "/approvals", "/imports", "/import")


def test_the_matrix_keeps_the_separation_of_duties(world: World) -> None:
    """The auditor changes nothing; the admin moves no money; every guarded row names some role."""
    print(summary())
    assert all(MATRIX[k] for k in GUARDED)
    auditor_writes = {(m, p) for m, p in GUARDED if m != "GET" and AU in MATRIX[(m, p)]}
    assert auditor_writes == READ_ONLY_POSTS
    admin_money = [(m, p) for m, p in GUARDED if AD in MATRIX[(m, p)] and p.replace(V1, "").startswith(MONEY)
                   and p != "/"]
    assert admin_money == []


# --- every route × every role -----------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "role"), CASES)
def test_each_role_is_allowed_or_refused_as_the_matrix_says(world: World, method: str, path: str,
                                                            role: Role) -> None:
    world.as_(person(role))
    response = send(world, method, path)
    allowed = role in MATRIX[(method, path)]
    if allowed:
        assert not role_refusal(response, api=is_api(path)), (response.status_code, response.text[:400])
        assert response.status_code < 500, response.text[:400]
    elif is_api(path):
        assert response.status_code == 403, response.text[:400]
        assert response.json()["error"]["code"] == "FORBIDDEN"
    else:
        assert response.status_code == 403, response.text[:400]
        assert response.headers["content-type"].startswith("text/html"), response.text[:200]
        assert "<nav>" in response.text and '"error":' not in response.text  # the app layout, not JSON


def test_a_console_refusal_is_a_page_in_the_app_layout_and_is_audited(world: World) -> None:
    world.as_(person(AD, username="admin-reader"))
    page = world.client.get(f"/orders/{world.ids[HOME_COMPANY]['order_id']}")
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert 'id="console-error" data-code="FORBIDDEN"' in page.text and "You do not have permission" in page.text
    with world.hub.uow() as uow:
        denied = [e for e in uow.audit.iter_all() if e.actor_id == "admin-reader"]
    assert [(e.action, e.outcome) for e in denied] == [("GET /orders/{order_id}", "denied")]


def test_a_console_form_without_its_csrf_token_gets_the_403_page_not_json(world: World) -> None:
    world.as_(person(OP))
    response = world.client.post("/beneficiaries", data={"name": "x"})
    assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
    assert "CSRF" in response.text and '"error"' not in response.text


# --- without credentials ----------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), [pytest.param(m, p, id=f"{m} {p}") for m, p in GUARDED])
def test_every_guarded_route_refuses_a_caller_without_credentials(world: World, method: str, path: str) -> None:
    signed_out(world.app)
    url = fill(path, {**world.ids[HOME_COMPANY], "policy": ""})
    response = world.client.request(method, url, follow_redirects=False)
    if is_api(path):
        assert response.status_code == 401 and response.json()["error"]["code"] == "NOT_AUTHENTICATED"
    else:
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), response.text


@pytest.mark.parametrize("path", sorted(p for (m, p), v in MATRIX.items() if v == PUBLIC and m == "GET"))
def test_public_pages_answer_without_credentials(world: World, path: str) -> None:
    signed_out(world.app)
    response: Any = TestClient(world.app, base_url="https://testserver").get(path, follow_redirects=False)
    assert response.status_code in (200, 303), response.text[:300]


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_the_console_menu_links_only_pages_the_viewer_may_open(world: World, role: Role) -> None:
    """A link the role would follow into a 403 is not shown; every page the role may open is."""
    world.as_(person(role))
    page = world.client.get("/orders").text  # the menu is on every page, the 403 page too
    nav = page[page.index("<nav>"):page.index("</nav>")]
    public = {p for (m, p), roles in MATRIX.items() if m == "GET" and roles == PUBLIC}
    shown = {href for href in re.findall(r'href="([^"]+)"', nav) if href not in public}
    may_open = {p for (m, p), roles in MATRIX.items()
                if m == "GET" and roles != PUBLIC and role in roles and "{" not in p and not is_api(p)}
    assert shown <= may_open, (sorted(shown - may_open), nav)
    not_menu = {"/", "/step-up"}  # reached from an action, not from the menu
    assert {p for p in may_open if p.count("/") == 1 and p not in not_menu} <= shown
