"""R18 across companies, for tokens, and field by field, on SQLite and PostgreSQL.

Company BETA's objects (an order pending approval, a beneficiary and its pending change, an import
job) are made through the real use cases. A person of ACME holding every role then reads, amends,
approves, rejects, releases, cancels and opens them by id, through the API and the console. Each
answer must be the answer for an id that never existed (same status, same body once the id is
blanked out: no existence leak), and leave the same trace as that probe: per table, the rows the
BETA probe adds equal the rows the random-id probe adds (the caller's own idempotency record and
refusal audit event, never of company BETA), and BETA's objects are unchanged.
Then: API tokens act only within their scopes and companies; account numbers are masked for roles
without `account.reveal` in order, beneficiary and statement JSON and HTML, and clear with it.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import func, select

from tests.conftest import _drop_pg_database, _fresh_pg_database, pg_admin_url
from tests.support.auth import principal, signed_out
from tests.support.authz_world import (
    CLOCK,
    HOME_COMPANY,
    NEW_IBAN,
    PASSWORD,
    STATEMENT,
    World,
    add_company_objects,
    hub_world,
    person,
    root_principal,
)
from tests.support.orders import PAYEE_IBAN, PAYER_IBAN, order_body
from yinqi.adapters.db.engine import make_engine
from yinqi.adapters.db.metadata import metadata
from yinqi.application import identity
from yinqi.domain.identity.principal import Channel, Role

OTHER = "BETA"
# Someone of ACME who holds every role and has just verified a TOTP code.
MALLORY = principal("mallory", *Role, companies={HOME_COMPANY}, channel=Channel.CONSOLE,
                    step_up_at=person(Role.OPERATOR).step_up_at)
V1 = "/api/v1"
PROBES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", f"{V1}/payment-orders/{{order_id}}", None),
    ("GET", f"{V1}/payment-orders/{{order_id}}/events", None),
    ("GET", f"{V1}/payment-orders/{{order_id}}/route", None),
    ("POST", f"{V1}/payment-orders/{{order_id}}/amend", {"reason": "typo", "amount": "999.00"}),
    ("POST", f"{V1}/payment-orders/{{order_id}}/approve", {}),
    ("POST", f"{V1}/payment-orders/{{order_id}}/reject", {"reason": "no"}),
    ("POST", f"{V1}/payment-orders/{{order_id}}/release", {}),
    ("POST", f"{V1}/payment-orders/{{order_id}}/cancel", {"reason": "no"}),
    ("POST", f"{V1}/approvals/batch", {"order_ids": ["{order_id}"]}),
    ("GET", f"{V1}/beneficiaries/{{beneficiary_id}}", None),
    ("POST", f"{V1}/beneficiaries/{{beneficiary_id}}/changes", {"account": {"iban": NEW_IBAN}, "reason": "letter"}),
    ("POST", f"{V1}/beneficiaries/changes/{{change_id}}/approve", {}),
    ("POST", f"{V1}/beneficiaries/changes/{{change_id}}/reject", {"reason": "no"}),
    ("GET", f"{V1}/imports/{{job_id}}", None),
    ("GET", "/orders/{order_id}", None),
    ("POST", "/orders/{order_id}/approve", {}),
    ("POST", "/orders/{order_id}/reject", {"reason": "no"}),
    ("POST", "/approvals/{order_id}/reject", {"reason": "no"}),
    ("POST", "/beneficiaries/{beneficiary_id}/changes", {"iban": NEW_IBAN, "reason": "letter"}),
    ("POST", "/beneficiaries/changes/{change_id}/approve", {}),
    ("POST", "/beneficiaries/changes/{change_id}/reject", {"reason": "no"}),
    ("GET", "/import/{job_id}", None),
    ("GET", "/import/{job_id}.json", None),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp(f"r18-{request.param}")
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), home / "yinqi.db")
        url, name = f"sqlite:///{home / 'yinqi.db'}", None
    else:
        if not pg_admin_url():
            pytest.skip("PostgreSQL not configured (set YINQI_TEST_PG_URL)")
        url, name = _fresh_pg_database(request.getfixturevalue("_pg_template"))
    engine = make_engine(url)
    world = hub_world(engine, home)
    add_company_objects(world, HOME_COMPANY)
    add_company_objects(world, OTHER)
    yield world
    engine.dispose()
    if name:
        _drop_pg_database(name)


def counts(world: World) -> dict[str, int]:
    with world.hub.engine.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in metadata.sorted_tables}


def send(world: World, method: str, path: str, body: dict[str, Any] | None, ids: dict[str, Any]) -> Response:
    world.as_(MALLORY)
    url = path.format(**ids)
    filled = {k: ([v.format(**ids) for v in val] if isinstance(val, list) else val) for k, val in (body or {}).items()}
    if path.startswith("/api/"):
        return world.client.request(method, url, json=filled if method == "POST" else None,
                                    headers={"Idempotency-Key": uuid.uuid4().hex})
    if method == "GET":
        return world.client.get(url, follow_redirects=False)
    return world.client.post(url, data={"csrf_token": world.csrf, **filled}, follow_redirects=False)


def blank(text: str, ids: dict[str, Any]) -> str:
    for value in ids.values():
        text = text.replace(str(value), "<id>")
    return re.sub(r'name="csrf_token" value="[^"]+"', "", text)


def beta_state(world: World) -> tuple[Any, ...]:
    ids = world.ids[OTHER]
    with world.hub.uow() as uow:
        order = uow.orders.get(ids["order_id"])
        b = uow.beneficiaries.get(ids["beneficiary_id"])
        events = [e for e in uow.audit.iter_all() if e.company_id == OTHER]
        return order.state, order.version, b.status, uow.imports.get(ids["job_id"]).status, len(events)


@pytest.mark.parametrize(("method", "path", "body"), [pytest.param(*p, id=f"{p[0]} {p[1]}") for p in PROBES])
def test_another_company_s_object_answers_as_a_missing_one_and_changes_nothing(
        world: World, method: str, path: str, body: dict[str, Any] | None) -> None:
    beta = world.ids[OTHER]
    random = {k: (str(uuid.uuid4()) if isinstance(v, str) else v) for k, v in beta.items()}
    before_state, before = beta_state(world), counts(world)
    theirs = send(world, method, path, body, beta)
    middle = counts(world)
    missing = send(world, method, path, body, random)
    after = counts(world)

    assert theirs.status_code == missing.status_code and theirs.status_code in (200, 303, 404), theirs.text[:300]
    assert blank(theirs.text, beta) == blank(missing.text, random)
    trace_theirs = {t: middle[t] - before[t] for t in before if middle[t] != before[t]}
    trace_missing = {t: after[t] - middle[t] for t in after if after[t] != middle[t]}
    assert trace_theirs == trace_missing
    assert set(trace_theirs) <= {"idempotency_keys", "audit_events"}
    assert beta_state(world) == before_state


def test_lists_and_queues_show_only_the_granted_companies(world: World) -> None:
    beta, acme = world.ids[OTHER], world.ids[HOME_COMPANY]
    world.as_(MALLORY)
    listed = world.client.get(f"{V1}/payment-orders").json()["items"]
    assert acme["order_id"] in {o["id"] for o in listed} and beta["order_id"] not in {o["id"] for o in listed}
    assert world.client.get(f"{V1}/payment-orders", params={"company_id": OTHER}).json()["items"] == []
    queue = world.client.get(f"{V1}/approvals").json()["items"]
    assert beta["order_id"] not in str(queue) and world.ids[OTHER]["order_serial"] not in str(queue)
    names = [b["name"] for b in world.client.get(f"{V1}/beneficiaries").json()["items"]]
    assert f"Supplier {HOME_COMPANY}" in names and f"Supplier {OTHER}" not in names
    page = world.client.get("/orders").text
    assert acme["order_serial"] in page and beta["order_serial"] not in page


def test_an_auditor_reads_no_audit_event_of_another_company(world: World) -> None:
    """By the other company's object id: only refusals of this company's own people who typed that id
    (the probes above), never an event of the other company."""
    world.as_(principal("acme-auditor", Role.AUDITOR, companies={HOME_COMPANY}))
    beta_order = world.ids[OTHER]["order_id"]
    found = world.client.get(f"{V1}/audit-events", params={"object": beta_order}).json()["events"]
    assert {(e["actor_id"], e["outcome"], e["company_id"]) for e in found} <= {("mallory", "denied", None)}
    assert world.client.get(f"{V1}/audit-events", params={"company": OTHER}).json()["events"] == []
    with world.hub.uow() as uow:
        theirs = [e for e in uow.audit.iter_all() if e.company_id == OTHER]
    page = world.client.get("/audit").text
    assert theirs and all(f'<td class="num">{e.seq}</td>' not in page for e in theirs)


def test_a_token_acts_only_within_its_scopes_and_companies(world: World) -> None:
    root = root_principal(world.hub)
    with world.hub.uow() as uow:
        user = identity.create_user(uow=uow, clock=CLOCK, principal=root, username=f"erp-{uuid.uuid4().hex[:6]}",
                                    password=PASSWORD, display_name="ERP", roles={Role.OPERATOR},
                                    companies={HOME_COMPANY, OTHER})
    with world.hub.uow() as uow:
        issued = identity.issue_token(uow=uow, clock=CLOCK, principal=root, user_id=user.id, name="ERP",
                                      scopes={"order.read"}, companies={HOME_COMPANY})
    signed_out(world.app)
    bearer = {"Authorization": f"Bearer {issued.secret}"}
    acme, beta = world.ids[HOME_COMPANY]["order_id"], world.ids[OTHER]["order_id"]
    assert world.client.get(f"{V1}/payment-orders/{acme}", headers=bearer).status_code == 200
    theirs = world.client.get(f"{V1}/payment-orders/{beta}", headers=bearer)
    missing_id = str(uuid.uuid4())
    missing = world.client.get(f"{V1}/payment-orders/{missing_id}", headers=bearer)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text.replace(beta, "<id>") == missing.text.replace(missing_id, "<id>")
    created = world.client.post(f"{V1}/payment-orders", json=order_body("TOKEN-1", "10.00"),
                                headers={**bearer, "Idempotency-Key": "t-1"})
    assert created.status_code == 403 and created.json()["error"]["code"] == "FORBIDDEN"
    assert created.json()["error"]["value"] == "order.create"  # the user's role has it; the token's scopes do not
    assert world.client.get(f"{V1}/beneficiaries", headers=bearer).json()["error"]["code"] == "FORBIDDEN"


# --- field level: masked numbers for roles without account.reveal ----------------------------------
LOW = [Role.OPERATOR, Role.AUDITOR]     # no account.reveal
HIGH = [Role.APPROVER, Role.TREASURER]  # account.reveal


@pytest.mark.parametrize("role", LOW + HIGH)
def test_account_numbers_are_clear_only_for_roles_with_reveal(world: World, role: Role) -> None:
    ids = world.ids[HOME_COMPANY]
    world.as_(person(role))
    reveal = role in HIGH
    texts = [world.client.get(f"{V1}/payment-orders/{ids['order_id']}").text,
             world.client.get(f"{V1}/payment-orders").text, world.client.get(f"/orders/{ids['order_id']}").text,
             world.client.get(f"{V1}/beneficiaries/{ids['beneficiary_id']}").text,
             world.client.get(f"{V1}/beneficiaries").text, world.client.get("/beneficiaries").text]
    for text in texts:
        assert "FR14*******************2606" in text or PAYEE_IBAN in text, text[:300]
    assert [PAYEE_IBAN in t for t in texts] == [reveal] * len(texts)
    assert (PAYER_IBAN in texts[0]) is reveal
    if STATEMENT.is_file():
        with world.hub.uow() as uow:
            stored = uow.statements.list_statements()[0]
        page = world.client.get(f"/statements/{stored['id']}").text
        assert (str(stored["account_number"]) in page) is reveal and (str(stored["account"]) in page) is not reveal
