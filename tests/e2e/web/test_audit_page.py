"""The console's audit page: filters, the chain banner on request (verified, or broken at a seq), `audit.read`
only (an operator gets a 403 page, and that refusal is audited), the "Audit" nav link for auditors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.requests import Request

from tests.support.auth import acting_as, principal
from yinqi.application import audit
from yinqi.config import Settings
from yinqi.domain.identity.principal import Role
from yinqi.entrypoints.api.app import create_app
from yinqi.entrypoints.hub_app import build_app
from yinqi.entrypoints.web.audit import refused_action

NOW = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
AUDITOR = principal("auditor", Role.AUDITOR, channel="console")  # type: ignore[arg-type]
OPERATOR = principal("op", Role.OPERATOR)


class Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    app = build_app(create_app(engine=engine, settings=Settings(home=tmp_path), clock=Clock()).state.hub)
    with app.state.hub.uow() as uow:
        for i, who in enumerate([OPERATOR, AUDITOR, OPERATOR]):
            audit.record(uow, principal=who, action=f"order.{['create', 'approve', 'release'][i]}",
                         object_type="order", object_id=f"o{i}", at=NOW - timedelta(days=2 - i),
                         after={"state": f"S{i}"}, company_id="ACME")
        uow.commit()
    return TestClient(app, raise_server_exceptions=False)


def page(client: TestClient, who: object, query: str = "") -> tuple[int, str]:
    acting_as(client.app, who)  # type: ignore[arg-type]
    r = client.get(f"/audit{query}")
    return r.status_code, r.text


def test_an_auditor_sees_events_the_verified_banner_and_the_nav_link(client: TestClient) -> None:
    status, html = page(client, AUDITOR)
    assert status == 200 and "Chain verified" not in html and 'id="verify-chain"' in html  # verified on request
    status, html = page(client, AUDITOR, "?verify=true")
    assert status == 200 and "Chain verified ✓ (3 events)" in html and 'href="/audit"' in html
    assert html.index("order.release") < html.index("order.approve") < html.index("order.create")


def test_filters_narrow_the_table(client: TestClient) -> None:
    _, html = page(client, AUDITOR, "?actor=op&outcome=success")
    assert "order.create" in html and "order.release" in html and "order.approve" not in html
    _, html = page(client, AUDITOR, "?action=order.appr")
    assert "order.approve" in html and "order.create" not in html
    _, html = page(client, AUDITOR, "?date_from=2030-01-09&date_to=2030-01-09")
    assert "order.approve" in html and "order.create" not in html and "order.release" not in html
    status, html = page(client, AUDITOR, "?date_from=soon")
    assert status == 422 and "date_from" in html


def test_a_broken_chain_shows_where(client: TestClient, engine: Engine) -> None:
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql("UPDATE audit_events SET reason = 'x' WHERE seq = 2")
    _, html = page(client, AUDITOR, "?verify=true")
    assert "Chain broken at seq 2" in html


def test_an_operator_gets_403_and_the_refusal_is_audited(client: TestClient) -> None:
    status, html = page(client, OPERATOR)
    assert status == 403 and "order.create" not in html and 'href="/audit"' not in html
    _, html = page(client, AUDITOR, "?outcome=denied")
    assert "GET /audit" in html and "FORBIDDEN" in html


def _request(template: str, **params: str) -> Request:
    class Route:
        path = template

    return Request({"type": "http", "method": "POST", "path": template, "route": Route(), "path_params": params,
                    "headers": [], "query_string": b""})


def test_a_refused_request_keeps_a_uuid_object_id_whole_and_masks_any_other_path_value() -> None:
    all_digit_group = "74845897-0000-4000-8000-000000000001"  # digit runs, yet an id, not an account
    assert refused_action(_request("/orders/{order_id}/approve", order_id=all_digit_group)) == (
        "POST /orders/{order_id}/approve", "order", all_digit_group)
    _, _, masked = refused_action(_request("/statements/{pk}", pk="NL91ABNA0417164300-2030-01-10"))
    assert masked is not None and "0417164300" not in masked
