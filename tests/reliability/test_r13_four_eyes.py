"""R13 — Four-eyes and segregation of duties, through the API (and R14's step-up rule for approvals).

The policy matrix: the maker approves their own order; one user fills two approval levels; an
approver above their limit; an amendment after approval; a payment to a beneficiary whose account
change is still pending. Each is refused with its own code, the order does not advance (same state,
same version, no approval recorded), and each refusal is in the audit trail. Then R14: an approval
without a TOTP verification in the last five minutes is 401 STEP_UP_REQUIRED. And a batch approves
several orders under one step-up, listing each order and the total. Runs on SQLite and PostgreSQL.
(Admin granting themselves the approver role is the identity engineer's GRANT_REQUIRES_SECOND_ADMIN test.)
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.auth import acting_as, principal
from tests.support.orders import FixedClock, funded_uow_factory, install_policy, order_body
from yinqi.application import beneficiaries
from yinqi.config import Settings
from yinqi.domain.identity.principal import Principal, Role
from yinqi.domain.orders.commands import AccountInput
from yinqi.entrypoints.api.app import create_app

URL = "/api/v1/payment-orders"
CLOCK = FixedClock()
POLICY = '''reporting_currency = "EUR"
[role_limits]
approver = "200000.00"
[[rules]]
name = "small"
amount_below = "1000.01"
auto = true
[[rules]]
name = "one approver"
amount_at_least = "1000.01"
steps = [{ roles = ["approver", "treasurer"] }]
[[rules]]
name = "and a treasurer"
amount_at_least = "5000.00"
steps = [{ roles = ["treasurer"] }]
'''
FRESH = CLOCK.now()
MAKER = principal("maker", Role.OPERATOR, Role.APPROVER, step_up_at=FRESH)  # may approve, just not their own
ANN = principal("ann", Role.APPROVER, step_up_at=FRESH)
TOM = principal("tom", Role.TREASURER, step_up_at=FRESH)
_keys = itertools.count()


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    app = create_app(engine=engine, settings=Settings(home=tmp_path, auto_release=False), clock=CLOCK)
    hub = app.state.hub
    funded_uow_factory(engine, opening="1000000.00", clock=CLOCK, vault=hub.vault)
    install_policy(hub.uow, POLICY, clock=CLOCK)
    return TestClient(app, raise_server_exceptions=False)


def post(client: TestClient, who: Principal, path: str, body: dict[str, Any] | None = None) -> Any:
    acting_as(client.app, who)  # type: ignore[arg-type]
    return client.post(path, json=body or {}, headers={"Idempotency-Key": f"k-{next(_keys)}"})


def create(client: TestClient, amount: str, serial: str, **payee: Any) -> dict[str, Any]:
    body = order_body(serial, amount)
    body["payee"].update(payee)
    response = post(client, MAKER, URL, body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def snapshot(client: TestClient, order_id: str) -> tuple[str, int, int]:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with hub.uow() as uow:
        order = uow.orders.get(order_id)
        plan = uow.approvals.current_plan(order_id)
        return order.state.value, order.version, len(uow.approvals.approvals(order_id, plan.plan_seq))


def denied(client: TestClient) -> list[tuple[str, str, str | None]]:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with hub.uow() as uow:
        return [(e.actor_id, e.reason.split(":")[0], e.object_id) for e in uow.audit.iter_all()
                if e.outcome == "denied"]


def refused(client: TestClient, who: Principal, path: str, order_id: str, code: str, status: int,
            body: dict[str, Any] | None = None) -> None:
    before = snapshot(client, order_id)
    response = post(client, who, path, body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    assert snapshot(client, order_id) == before  # the order does not advance
    assert (who.username, code, order_id) in denied(client)  # and the refusal is audited, id unmasked


def test_the_maker_approving_their_own_order_is_refused(client: TestClient) -> None:
    order = create(client, "2000.00", "R13-1")
    refused(client, MAKER, f"{URL}/{order['id']}/approve", order["id"], "SOD_SELF_APPROVAL", 403)


def test_one_user_filling_two_approval_levels_is_refused(client: TestClient) -> None:
    order = create(client, "6000.00", "R13-2")
    assert post(client, TOM, f"{URL}/{order['id']}/approve").json()["state"] == "PENDING_APPROVAL"
    refused(client, TOM, f"{URL}/{order['id']}/approve", order["id"], "SOD_DUPLICATE_APPROVER", 403)


def test_an_approver_above_their_limit_is_refused(client: TestClient) -> None:
    order = create(client, "200000.01", "R13-3")
    refused(client, ANN, f"{URL}/{order['id']}/approve", order["id"], "APPROVAL_LIMIT_EXCEEDED", 403)


def test_an_amendment_after_approval_is_refused(client: TestClient) -> None:
    order = create(client, "2000.00", "R13-4")
    assert post(client, ANN, f"{URL}/{order['id']}/approve").json()["state"] == "APPROVED"
    refused(client, MAKER, f"{URL}/{order['id']}/amend", order["id"], "APPROVALS_INVALIDATED", 409,
            {"amount": "2500.00", "reason": "invoice corrected"})


def test_paying_a_beneficiary_whose_account_change_is_pending_is_refused(client: TestClient) -> None:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with hub.uow() as uow:
        beneficiaries.propose_beneficiary(uow=uow, clock=CLOCK, principal=MAKER, company_id="ACME", name="Nouveau SA",
                                          account=AccountInput(iban="FR7630006000011234567890189"), country="FR")
    order = create(client, "2000.00", "R13-5", name="Nouveau SA", account={"iban": "FR7630006000011234567890189"})
    refused(client, ANN, f"{URL}/{order['id']}/approve", order["id"], "BENEFICIARY_CHANGE_PENDING", 409)


def test_r14_an_approval_without_a_recent_totp_verification_is_401_step_up_required(client: TestClient) -> None:
    order = create(client, "2000.00", "R14-1")
    stale = principal("ann", Role.APPROVER, step_up_at=FRESH - timedelta(minutes=5, seconds=1))
    refused(client, stale, f"{URL}/{order['id']}/approve", order["id"], "STEP_UP_REQUIRED", 401)
    never = principal("bob", Role.APPROVER)
    refused(client, never, f"{URL}/{order['id']}/approve", order["id"], "STEP_UP_REQUIRED", 401)


def test_a_batch_approves_under_one_step_up_and_lists_every_order_with_the_total(client: TestClient) -> None:
    ids = [create(client, amount, f"B-{i}")["id"] for i, amount in enumerate(["2000.00", "3000.25", "4000.00"])]
    acting_as(client.app, ANN)  # type: ignore[arg-type]
    queue = client.get("/api/v1/approvals").json()
    assert queue["count"] == 3 and queue["totals"] == {"EUR": "9000.25"}
    assert all(i["payee"]["account"].startswith("FR14*") for i in queue["items"])
    post(client, MAKER, f"{URL}/{ids[2]}/reject", {"reason": "wrong invoice"})
    response = post(client, ANN, "/api/v1/approvals/batch", {"order_ids": ids})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(i["serial"], i["outcome"], i["error_code"]) for i in body["items"]] == [
        ("B-0", "approved", None), ("B-1", "approved", None), ("B-2", "refused", "ORDER_ILLEGAL_TRANSITION")]
    assert (body["totals"], body["approved"], body["refused"]) == ({"EUR": "5000.25"}, 2, 1)
    stale = principal("ann", Role.APPROVER, step_up_at=FRESH - timedelta(minutes=6))
    again = post(client, stale, "/api/v1/approvals/batch", {"order_ids": ids})
    assert (again.status_code, again.json()["error"]["code"]) == (401, "STEP_UP_REQUIRED")
