"""GET /api/v1/audit-events: filters and keyset pages, `audit.read` only (403 for an operator, and
that refusal is itself audited), company separation for non-admin auditors, and refusals of any
route recorded centrally with the route template as action (anonymous callers by address)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.auth import acting_as, principal, signed_out
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application import audit
from yinqi.config import Settings
from yinqi.domain.identity.principal import Forbidden, Role
from yinqi.entrypoints.api.app import create_app

URL = "/api/v1/audit-events"
NOW = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
AUDITOR = principal("auditor", Role.AUDITOR, companies={"ACME"})
ADMIN = principal("admin", Role.ADMIN, companies=set())
OPERATOR = principal("op", Role.OPERATOR)
ALICE = principal("alice", Role.APPROVER, companies={"ACME", "BETA"})


class Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    app = create_app(engine=engine, settings=Settings(home=tmp_path), clock=Clock())
    client = TestClient(app, raise_server_exceptions=False)
    hub = app.state.hub
    with hub.uow() as uow:  # 9 events: ACME, BETA and no company; one refusal; spread over 9 days
        for i in range(9):
            audit.record(uow, principal=ALICE if i % 2 else OPERATOR, action=["order.create", "order.approve",
                         "user.login"][i % 3], object_type="order", object_id=f"o{i % 3}",
                         at=NOW - timedelta(days=8 - i), outcome="denied" if i == 4 else "success",
                         company_id=[None, "ACME", "BETA"][i % 3], after={"i": i})
        uow.commit()
    return client


def get(client: TestClient, who: Any, **params: Any) -> Any:
    acting_as(client.app, who)  # type: ignore[arg-type]
    return client.get(URL, params=params)


def seqs(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [e["seq"] for e in response.json()["events"]]


def test_an_admin_sees_every_event_newest_first_with_actor_time_origin_and_outcome(client: TestClient) -> None:
    body = get(client, ADMIN).json()
    assert [e["seq"] for e in body["events"]] == list(range(9, 0, -1)) and body["next_before_seq"] is None
    newest = body["events"][0]
    assert newest["actor_id"] == "op" and newest["actor_channel"] == "api" and newest["source_address"] == "testclient"
    assert newest["at"] == "2030-01-10T09:00:00.000000Z" and newest["outcome"] == "success"
    assert newest["after"] == {"i": 8} and len(newest["hash"]) == 64


def test_filters_narrow_the_list(client: TestClient) -> None:
    assert seqs(get(client, ADMIN, actor="alice")) == [8, 6, 4, 2]
    assert seqs(get(client, ADMIN, action="order.")) == [8, 7, 5, 4, 2, 1]
    assert seqs(get(client, ADMIN, object="o1")) == [8, 5, 2]
    assert seqs(get(client, ADMIN, outcome="denied")) == [5]
    assert seqs(get(client, ADMIN, since="3d")) == [9, 8, 7, 6]
    assert seqs(get(client, ADMIN, since="2030-01-05", until="2030-01-07")) == [5, 4]
    assert seqs(get(client, ADMIN, company="BETA")) == [9, 6, 3]


def test_pages_follow_the_cursor_without_overlap(client: TestClient) -> None:
    first = get(client, ADMIN, limit=4).json()
    second = get(client, ADMIN, limit=4, before_seq=first["next_before_seq"]).json()
    third = get(client, ADMIN, limit=4, before_seq=second["next_before_seq"]).json()
    got = [e["seq"] for page in (first, second, third) for e in page["events"]]
    assert got == list(range(9, 0, -1)) and third["next_before_seq"] is None


def test_a_non_admin_auditor_sees_granted_companies_and_events_of_no_company(client: TestClient) -> None:
    assert seqs(get(client, AUDITOR)) == [8, 7, 5, 4, 2, 1]
    assert seqs(get(client, AUDITOR, company="BETA")) == []


@pytest.mark.parametrize(("params", "where"), [({"since": "last week"}, "since"), ({"until": "2030-99-01"}, "until"),
                                               ({"outcome": "maybe"}, "outcome")])
def test_an_unreadable_filter_is_refused_with_its_field(client: TestClient, params: dict[str, str],
                                                         where: str) -> None:
    response = get(client, ADMIN, **params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["where"]) == ("AUDIT_FILTER_INVALID", where)


@pytest.mark.parametrize("who", [OPERATOR, principal("appr", Role.APPROVER), principal("treas", Role.TREASURER),
                                 principal("risk", Role.RISK_OFFICER)])
def test_roles_without_audit_read_get_403_and_the_refusal_is_audited(client: TestClient, engine: Engine,
                                                                     who: Any) -> None:
    response = get(client, who)
    assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"
    with SqlUnitOfWork(engine, ledger_key=client.app.state.hub.ledger_key) as uow:  # type: ignore[attr-defined]
        newest = uow.audit.query(audit.AuditFilter(), limit=1).events[0]
        assert audit.verify(uow).ok
    assert (newest.seq, newest.actor_id, newest.action, newest.outcome) == (10, who.username,
                                                                           "GET /api/v1/audit-events", "denied")
    assert newest.reason.startswith("FORBIDDEN: ") and newest.object_type == "audit-events"


def test_an_anonymous_request_is_refused_and_recorded_with_the_client_address(client: TestClient) -> None:
    signed_out(client.app)  # type: ignore[arg-type]
    response = client.get(URL)
    assert response.status_code == 401 and response.json()["error"]["code"] == "NOT_AUTHENTICATED"
    events = get(client, ADMIN, outcome="denied").json()["events"]
    newest = events[0]
    assert (newest["actor_id"], newest["source_address"], newest["action"]) == (
        "anonymous", "testclient", "GET /api/v1/audit-events")


def test_a_refusal_already_recorded_by_its_use_case_is_not_recorded_twice(client: TestClient) -> None:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    err = Forbidden("no")
    audit.record_refusal(hub.uow, principal=OPERATOR, action="order.approve", object_type="order", object_id="o1",
                         at=NOW, error=err)
    assert audit.refusal_recorded(err) and not audit.refusal_recorded(Forbidden("other"))
