"""The sandbox bank's HTTP surface, in process (no TLS): status codes, admin guard, faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import DEBTOR, EXTERNAL_CREDITOR
from fastapi.testclient import TestClient

from sandbox_bank.app import create_app
from sandbox_bank.bank import SandboxBank
from sandbox_bank.samples import SampleTransfer, sample_pain001

XML = {"Content-Type": "application/xml"}


@pytest.fixture
def client(bank: SandboxBank) -> Iterator[TestClient]:
    with TestClient(create_app(bank), client=("127.0.0.1", 40000)) as c:
        yield c


def doc(msg_id: str) -> bytes:
    return sample_pain001(msg_id=msg_id, debtor_iban=DEBTOR,
                          transfers=[SampleTransfer("E1", "1.00", "EUR", EXTERNAL_CREDITOR)])


def test_pain001_is_accepted_202_and_its_report_served_as_xml(client: TestClient) -> None:
    response = client.post("/h2h/pain001", content=doc("M1"), headers=XML)
    assert response.status_code == 202 and response.json()["duplicate"] is False
    status = client.get("/h2h/status/M1")
    assert status.status_code == 200 and status.headers["content-type"].startswith("application/xml")
    assert client.get("/h2h/status", params={"since": "2026-01-01T00:00:00Z"}).json() == ["M1"]


def test_pain001_sent_as_something_other_than_xml_is_refused_415(client: TestClient) -> None:
    assert client.post("/h2h/pain001", content=doc("M1"), headers={"Content-Type": "text/plain"}).status_code == 415


def test_status_of_an_unknown_message_is_404(client: TestClient) -> None:
    assert client.get("/h2h/status/NOPE").status_code == 404


def test_status_listing_needs_a_timezone(client: TestClient) -> None:
    assert client.get("/h2h/status", params={"since": "2026-01-01T00:00:00"}).status_code == 422


def test_outage_answers_503_with_retry_after_on_every_h2h_route(client: TestClient) -> None:
    client.put("/admin/faults", json={"outage": True, "outage_retry_after_s": 9})
    for response in (client.post("/h2h/pain001", content=doc("M1"), headers=XML), client.get("/h2h/status/M1"),
                     client.get(f"/h2h/statements/{DEBTOR}", params={"date": "2026-03-02"})):
        assert (response.status_code, response.headers["retry-after"]) == (503, "9")
    assert client.get("/admin/health").status_code == 200


def test_statement_endpoint_serves_camt053_and_404_for_unknown_accounts(client: TestClient) -> None:
    ok = client.get(f"/h2h/statements/{DEBTOR}", params={"date": "2026-03-02"})
    assert ok.status_code == 200 and b"camt.053.001.08" in ok.content
    assert client.get("/h2h/statements/NL91ABNA0417164300", params={"date": "2026-03-02"}).status_code == 404


def test_admin_opens_accounts_and_refuses_a_taken_id_or_a_bad_iban(client: TestClient) -> None:
    body = {"iban": "NL91ABNA0417164300", "currency": "EUR", "balance": "12.34", "name": "N"}
    created = client.post("/admin/accounts", json=body)
    assert created.status_code == 201 and created.json()["balance_minor"] == 1234
    assert client.post("/admin/accounts", json=body).status_code == 409
    bad = client.post("/admin/accounts", json={**body, "iban": "NL00ABNA0417164300"})
    assert (bad.status_code, bad.json()["code"]) == (422, "SANDBOX_ACCOUNT_INVALID")
    assert client.get("/admin/accounts/NL91 ABNA 0417 1643 00").json()["balance"] == "12.34"


def test_admin_rejects_unknown_fault_names_and_out_of_range_rates(client: TestClient) -> None:
    assert client.put("/admin/faults", json={"explode": True}).status_code == 422
    assert client.put("/admin/faults", json={"reject_rate": 1.5}).status_code == 422


def test_admin_endpoints_refuse_clients_that_are_not_on_loopback(bank: SandboxBank) -> None:
    with TestClient(create_app(bank), client=("192.0.2.10", 40000)) as remote:
        assert remote.get("/admin/health").status_code == 403
        assert remote.put("/admin/faults", json={"outage": True}).status_code == 403
    assert not bank.faults.current.outage
