"""R8 duplicate business identifiers: the same order serial through the API (one and batch), a file
import and the console makes exactly one order, and every other attempt is DUPLICATE_SERIAL
citing the existing order's id; re-importing an identical pain.001 (same MsgId) is a "duplicate
file" no-op (the camt.053 half of R8 is in tests/integration/db/test_statement_store.py)."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.auth import acting_as, principal
from tests.support.orders import install_policy, limit_policy
from yinqi.config import CompanyAccount, Settings
from yinqi.domain.identity.principal import Channel, Role
from yinqi.entrypoints.api.app import create_app
from yinqi.entrypoints.hub_app import build_app

PAYER, PAYEE = "DE89370400440532013000", "FR1420041010050500013M02606"
API_MAKER = principal("maker", Role.OPERATOR)
CONSOLE_MAKER = principal("maker", Role.OPERATOR, channel=Channel.CONSOLE)
SERIAL = "R8-0001"


class Clock:
    def now(self) -> datetime:
        return datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def body(serial: str = SERIAL) -> dict[str, object]:
    return {"company_id": "ACME", "serial": serial, "amount": "120.00", "currency": "EUR",
            "requested_execution_date": "2026-01-15",
            "payer": {"name": "Acme", "account": {"iban": PAYER}, "currency": "EUR"},
            "payee": {"name": "Fournisseur", "account": {"iban": PAYEE}, "country": "FR"}}


def csv_file(*serials: str) -> bytes:
    rows = "".join(f"{s},120.00,EUR,2026-01-15,Acme,{PAYER},Fournisseur,{PAYEE},FR\n" for s in serials)
    return ("serial,amount,currency,requested_execution_date,payer_name,payer_iban,payee_name,payee_iban,"
            "payee_country\n" + rows).encode()


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    settings = Settings(home=tmp_path, company_id="ACME", auto_release=False,
                        accounts=[CompanyAccount(name="Acme", currency="EUR", iban=PAYER)])
    app = build_app(create_app(engine=engine, settings=settings, clock=Clock()).state.hub)
    install_policy(app.state.hub.uow, limit_policy(0), clock=Clock())  # every order waits for an approver
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)


def orders_with_serial(client: TestClient, serial: str = SERIAL) -> list[str]:
    with client.app.state.hub.uow() as uow:  # type: ignore[attr-defined]
        return [o.id for o in uow.orders.list(company_id="ACME", limit=500) if o.serial.value == serial]


def wait_for(client: TestClient, job_id: str) -> dict[str, object]:
    for _ in range(200):
        job = client.get(f"/api/v1/imports/{job_id}").json()
        if job["status"] != "running":
            return job  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("the import job did not finish")


def test_one_serial_through_every_channel_makes_one_order_and_each_duplicate_cites_it(client: TestClient) -> None:
    acting_as(client.app, API_MAKER)  # type: ignore[arg-type]
    created = client.post("/api/v1/payment-orders", json=body(), headers={"Idempotency-Key": "r8-a"})
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]

    again = client.post("/api/v1/payment-orders", json=body(), headers={"Idempotency-Key": "r8-b"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "DUPLICATE_SERIAL"
    assert again.json()["error"]["details"]["existing_order_id"] == order_id

    batch = client.post("/api/v1/payment-orders/batch", json={"orders": [body("R8-0002"), body()]},
                        headers={"Idempotency-Key": "r8-c"})
    assert batch.status_code == 422 and batch.json()["error"]["code"] == "IMPORT_REFUSED"
    [problem] = batch.json()["error"]["problems"]
    assert problem["code"] == "DUPLICATE_SERIAL" and order_id in problem["message"]
    assert problem["where"].startswith("orders[1]")

    upload = client.post("/api/v1/imports", files={"file": ("r8.csv", io.BytesIO(csv_file(SERIAL)), "text/csv")},
                         data={"mode": "accept-valid"})
    assert upload.status_code == 202, upload.text
    job = wait_for(client, upload.json()["job_id"])
    assert (job["status"], job["accepted"], job["rejected"]) == ("completed", 0, 1)
    [error] = job["errors"]  # type: ignore[misc]
    assert (error["where"], error["code"], error["existing_order_id"]) == ("row 2", "DUPLICATE_SERIAL", order_id)

    acting_as(client.app, CONSOLE_MAKER)  # type: ignore[arg-type]
    form = client.get("/orders/new")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    console = client.post("/orders/new", data={
        "csrf_token": token.group(1), "serial": SERIAL, "payer_account": PAYER, "payee_name": "Fournisseur",
        "payee_iban": PAYEE, "payee_country": "FR", "amount": "120.00", "currency": "EUR",
        "execution_date": "2026-01-15", "remittance": ""}, follow_redirects=False)
    assert console.status_code == 422 and order_id in console.text

    assert orders_with_serial(client) == [order_id]


def test_reimporting_an_identical_pain001_is_a_duplicate_file_no_op(client: TestClient, testdata: Path) -> None:
    acting_as(client.app, API_MAKER)  # type: ignore[arg-type]
    data = (testdata / "pain001/samples/apiome-02-typical-pain001-batch.xml").read_bytes()
    first = wait_for(client, client.post("/api/v1/imports", files={"file": ("erp.xml", data)}).json()["job_id"])
    assert (first["status"], first["accepted"]) == ("completed", 3)
    with client.app.state.hub.uow() as uow:  # type: ignore[attr-defined]
        before = uow.orders.count(company_id="ACME")
    second = wait_for(client, client.post("/api/v1/imports", files={"file": ("again.xml", data)}).json()["job_id"])
    assert (second["status"], second["accepted"], second["duplicate_of_job"]) == ("refused", 0, first["id"])
    assert second["errors"][0]["rule"] == "duplicate_file"  # type: ignore[index]
    with client.app.state.hub.uow() as uow:  # type: ignore[attr-defined]
        assert uow.orders.count(company_id="ACME") == before == 3
