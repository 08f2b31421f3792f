"""The console's import page (hub app, real database on both backends): CSRF, upload, the job page
with its live progress line and error table, the dry run."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.auth import acting_as, principal
from tests.support.orders import install_policy, limit_policy
from yinqi.config import Settings
from yinqi.domain.identity.principal import Channel, Role
from yinqi.entrypoints.api.app import create_app
from yinqi.entrypoints.hub_app import build_app

PAYER, PAYEE = "DE89370400440532013000", "FR1420041010050500013M02606"
CSV = ("serial,amount,currency,requested_execution_date,payer_name,payer_iban,payee_name,payee_iban,payee_country\n"
       f"W-1,10.00,EUR,2030-01-15,Acme,{PAYER},Fournisseur,{PAYEE},FR\n"
       f"W-2,10.00,EUR,2030-01-15,Acme,{PAYER},Fournisseur,FR00,FR\n").encode()


class Clock:
    def now(self) -> datetime:
        return datetime(2030, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    app = build_app(create_app(engine=engine, settings=Settings(home=tmp_path, company_id="ACME"),
                               clock=Clock()).state.hub)
    install_policy(app.state.hub.uow, limit_policy(0), clock=Clock())
    acting_as(app, principal("maker", Role.OPERATOR, channel=Channel.CONSOLE))
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)


def token(client: TestClient) -> str:
    page = client.get("/import")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'href="/import"' in page.text  # the nav link
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def test_an_upload_without_the_csrf_token_is_refused(client: TestClient) -> None:
    token(client)
    assert client.post("/import", files={"file": ("o.csv", CSV)}, data={"csrf_token": "x"}).status_code == 403


def test_an_upload_leads_to_the_job_page_with_progress_and_the_error_table(client: TestClient) -> None:
    posted = client.post("/import", files={"file": ("o.csv", CSV)},
                         data={"csrf_token": token(client), "mode": "accept-valid"}, follow_redirects=False)
    assert posted.status_code == 303
    job_url = posted.headers["location"]
    for _ in range(200):
        job = client.get(f"{job_url}.json").json()
        if job["status"] != "running":
            break
        time.sleep(0.05)
    assert (job["status"], job["accepted"], job["rejected"]) == ("completed", 1, 1)
    page = client.get(job_url)
    assert page.status_code == 200 and 'id="import-progress"' in page.text and "setInterval" in page.text
    assert re.search(r"<td class=\"mono\">row 3</td><td class=\"mono\">payee_iban</td>", page.text)
    assert "<script src" not in page.text  # inline only, nothing external


def test_a_dry_run_shows_the_report_and_stores_nothing(client: TestClient) -> None:
    page = client.post("/import", files={"file": ("o.csv", CSV)},
                       data={"csrf_token": token(client), "dry_run": "1"})
    assert page.status_code == 200 and 'id="dry-run-result"' in page.text and "would be refused" in page.text
    with client.app.state.hub.uow() as uow:  # type: ignore[attr-defined]
        assert uow.orders.count(company_id="ACME") == 0 and uow.imports.list() == []
