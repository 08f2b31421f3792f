"""One payment end to end, every layer real: the hub and the sandbox bank run as processes on
loopback (HTTPS between them), on SQLite and on PostgreSQL.

API order → validated → auto-approved with funds reserved → pain.001 (XSD-valid) to the bank →
pain.002 accepted → camt.053 imported → statement line matched by end-to-end id → SETTLED, with
the ledger balanced and `yinqi ledger verify` clean.
"""

from __future__ import annotations

import ssl
import time
import uuid
from datetime import date
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import (
    SESSION_COOKIE,
    Stack,
    console_session,
    issue_token,
    provision_users,
    run_cli,
    running_stack,
)
from yinqi.domain.calendar import next_business_day

pytestmark = pytest.mark.e2e

PAYER_IBAN = "DE89370400440532013000"
PAYEE_IBAN = "FR7630006000011234567890189"


def bank(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.bank_url, verify=ssl.create_default_context(cafile=str(stack.bank_ca)))


def open_bank_account(stack: Stack, iban: str, balance: str) -> None:
    response = bank(stack).post("/admin/accounts",
                          json={"iban": iban, "currency": "EUR", "balance": balance, "name": "Payer GmbH"})
    assert response.status_code == 201, response.text


def onboard(stack: Stack, iban: str, balance: str) -> None:
    result = run_cli(["accounts", "onboard", "--iban", iban, "--currency", "EUR", "--opening-balance", balance,
                      "--name", "Payer GmbH"], env=stack.env)
    assert result.returncode == 0, result.stdout + result.stderr


def order_body(serial: str, amount: str) -> dict[str, object]:
    return {"company_id": "ACME", "serial": serial,
            "payer": {"name": "Payer GmbH", "account": {"iban": PAYER_IBAN}, "currency": "EUR"},
            "payee": {"name": "Lyon Textiles SARL", "account": {"iban": PAYEE_IBAN}, "country": "FR"},
            "amount": amount, "currency": "EUR",
            "requested_execution_date": next_business_day(date.today(), "EUR").isoformat(),
            "remittance_info": f"Invoice {serial}"}


def erp(stack: Stack) -> dict[str, str]:
    """Signs in the ERP for real: an operator and an API token for it (through the CLI), once per stack."""
    if "erp" not in stack.credentials:
        provision_users(stack, {"olivia": ["operator"]})
        stack.credentials["erp"] = issue_token(stack, "olivia", ["order.create", "order.read"])
    return {"Authorization": f"Bearer {stack.credentials['erp']}"}


def wait_for_state(stack: Stack, order_id: str, wanted: str, *, timeout_s: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    order: dict[str, object] = {}
    while time.monotonic() < deadline:
        order = httpx.get(f"{stack.api}/api/v1/payment-orders/{order_id}", headers=erp(stack)).json()
        if order.get("state") == wanted:
            return order
        time.sleep(0.3)
    raise AssertionError(f"order stayed {order.get('state')}, wanted {wanted}\n{stack.logs()}")


def test_an_api_order_travels_to_the_bank_and_settles_with_a_clean_ledger(tmp_path: Path, db_url: str) -> None:
    with running_stack(tmp_path, db_url) as stack:
        open_bank_account(stack, PAYER_IBAN, "5000.00")
        onboard(stack, PAYER_IBAN, "5000.00")
        created = httpx.post(f"{stack.api}/api/v1/payment-orders", json=order_body("E2E-0001", "1234.56"),
                             headers={"Idempotency-Key": uuid.uuid4().hex, **erp(stack)})
        assert created.status_code == 201, created.text
        order_id = created.json()["id"]

        settled = wait_for_state(stack, order_id, "SETTLED")

        events = httpx.get(f"{stack.api}/api/v1/payment-orders/{order_id}/events", headers=erp(stack)).json()
        assert events["chain_verified"] is True
        assert [e["to_state"] for e in events["items"]] == [
            "DRAFT", "VALIDATED", "APPROVED", "RELEASED", "SENT", "ACCEPTED", "SETTLED"]
        counts = bank(stack).get("/admin/counts").json()
        assert counts["booked"] == {settled["end_to_end_id"]: 1}
        bank_account = bank(stack).get(f"/admin/accounts/{PAYER_IBAN}").json()
        assert bank_account["balance"] == "3765.44"
        verify = run_cli(["ledger", "verify", "--json"], env=stack.env)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        person = {"Cookie": f"{SESSION_COOKIE}={console_session(stack, 'olivia')}"}  # signed in with TOTP
        statements = httpx.get(f"{stack.api}/statements", headers=person).text
        first = statements.split('href="/statements/')[1].split('"')[0]
        viewer = httpx.get(f"{stack.api}/statements/{first}", headers=person).text
        assert f'href="/orders/{order_id}"' in viewer and settled["end_to_end_id"] in viewer


def test_an_order_the_bank_cannot_fund_is_rejected_and_its_reservation_released(tmp_path: Path, db_url: str) -> None:
    """The hub's ledger believes in 5,000.00, the bank holds only 100.00: the bank says AM04."""
    with running_stack(tmp_path, db_url) as stack:
        open_bank_account(stack, PAYER_IBAN, "100.00")
        onboard(stack, PAYER_IBAN, "5000.00")
        created = httpx.post(f"{stack.api}/api/v1/payment-orders", json=order_body("E2E-0002", "900.00"),
                             headers={"Idempotency-Key": uuid.uuid4().hex, **erp(stack)})
        assert created.status_code == 201, created.text

        rejected = wait_for_state(stack, created.json()["id"], "REJECTED")

        assert "AM04" in str(rejected)
        balances = run_cli(["ledger", "balances", "--json"], env=stack.env)
        assert balances.returncode == 0, balances.stderr
        assert '"funds:held:acct_' in balances.stdout and PAYER_IBAN not in balances.stdout  # opaque codes (R19)
        verify = run_cli(["ledger", "verify"], env=stack.env)
        assert verify.returncode == 0, verify.stdout + verify.stderr
