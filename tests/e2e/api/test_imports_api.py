"""Order intake over REST (real database on both backends): the batch endpoint with its per-row
report, refusals and idempotent replay; file upload as a background job with progress; dry run."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.auth import acting_as, principal
from tests.support.orders import install_policy, limit_policy
from yinqi.config import Settings
from yinqi.domain.identity.principal import Role
from yinqi.entrypoints.api.app import create_app

PAYER, PAYEE = "DE89370400440532013000", "FR1420041010050500013M02606"
MAKER = principal("maker", Role.OPERATOR)


class Clock:
    def now(self) -> datetime:
        return datetime(2030, 1, 10, 9, 0, tzinfo=UTC)


def order(serial: str, iban: str = PAYEE) -> dict[str, Any]:
    return {"company_id": "ACME", "serial": serial, "amount": "10.00", "currency": "EUR",
            "requested_execution_date": "2030-01-15",
            "payer": {"name": "Acme", "account": {"iban": PAYER}, "currency": "EUR"},
            "payee": {"name": "Fournisseur", "account": {"iban": iban}, "country": "FR"}}


CSV = ("serial,amount,currency,requested_execution_date,payer_name,payer_iban,payee_name,payee_iban,payee_country\n"
       f"F-1,10.00,EUR,2030-01-15,Acme,{PAYER},Fournisseur,{PAYEE},FR\n"
       f"F-2,10.00,EUR,2030-01-15,Acme,{PAYER},Fournisseur,FR00,FR\n").encode()


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    app = create_app(engine=engine, settings=Settings(home=tmp_path, company_id="ACME"), clock=Clock())
    install_policy(app.state.hub.uow, limit_policy(0), clock=Clock())
    acting_as(app, MAKER)
    return TestClient(app, raise_server_exceptions=False)


def finished(client: TestClient, job_id: str) -> dict[str, Any]:
    for _ in range(200):
        job: dict[str, Any] = client.get(f"/api/v1/imports/{job_id}").json()
        if job["status"] != "running":
            return job
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


def test_a_batch_creates_every_order_and_a_retry_replays_the_report(client: TestClient) -> None:
    payload = {"orders": [order("B-1"), order("B-2")]}
    created = client.post("/api/v1/payment-orders/batch", json=payload, headers={"Idempotency-Key": "b1"})
    assert created.status_code == 201, created.text
    report = created.json()
    assert (report["accepted"], report["rejected"], [o["serial"] for o in report["orders"]]) == (2, 0, ["B-1", "B-2"])
    assert all(o["id"] for o in report["orders"])
    replay = client.post("/api/v1/payment-orders/batch", json=payload, headers={"Idempotency-Key": "b1"})
    assert replay.headers["Idempotency-Replayed"] == "true" and replay.content == created.content


def test_a_batch_with_a_bad_order_is_refused_whole_or_partly_accepted(client: TestClient) -> None:
    payload = {"orders": [order("B-1"), order("B-2", "FR00")]}
    refused = client.post("/api/v1/payment-orders/batch", json=payload, headers={"Idempotency-Key": "b2"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "IMPORT_REFUSED"
    assert [p["where"] for p in refused.json()["error"]["problems"]] == ["orders[1] payee.account.iban"]
    partial = client.post("/api/v1/payment-orders/batch", json={**payload, "mode": "accept-valid"},
                          headers={"Idempotency-Key": "b3"})
    assert partial.status_code == 201 and (partial.json()["accepted"], partial.json()["rejected"]) == (1, 1)
    missing_key = client.post("/api/v1/payment-orders/batch", json=payload)
    assert missing_key.status_code == 400


def test_an_upload_returns_a_job_that_reports_progress_and_its_errors(client: TestClient) -> None:
    started = client.post("/api/v1/imports", files={"file": ("o.csv", CSV, "text/csv")}, data={"mode": "accept-valid"})
    assert started.status_code == 202 and started.headers["Location"].endswith(started.json()["job_id"])
    job = finished(client, started.json()["job_id"])
    assert (job["status"], job["format"], job["total"], job["processed"], job["accepted"], job["rejected"]) == (
        "completed", "csv", 2, 2, 1, 1)
    assert [(e["where"], e["field"]) for e in job["errors"]] == [("row 3", "payee_iban")]


def test_a_dry_run_upload_answers_with_the_report_and_stores_nothing(client: TestClient) -> None:
    dry = client.post("/api/v1/imports", files={"file": ("o.csv", CSV)}, data={"dry_run": "true"})
    assert dry.status_code == 200 and dry.json()["status"] == "refused" and dry.json()["job_id"] is None
    assert client.get("/api/v1/payment-orders").json()["items"] == []


def test_another_companys_job_is_not_found(client: TestClient) -> None:
    job_id = client.post("/api/v1/imports", files={"file": ("o.csv", CSV)}).json()["job_id"]
    finished(client, job_id)
    acting_as(client.app, principal("stranger", Role.OPERATOR, companies={"OTHER"}))  # type: ignore[arg-type]
    assert client.get(f"/api/v1/imports/{job_id}").status_code == 404
