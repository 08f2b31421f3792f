"""`yinqi sandbox-bank serve` as a real process, driven over HTTPS by the hub's connector.

The hub writes the pain.001 with its own writer, the bank reads it with the shared reader, and the
answers come back as pain.002 and camt.053 — the same path a real bank integration takes.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from yinqi.adapters.banks.connector import BankTransportError, BankUnavailable
from yinqi.adapters.banks.sandbox import SandboxBankConnector
from yinqi.adapters.iso20022.camt_reader import read_statements
from yinqi.adapters.iso20022.model import AccountId, CreditTransfer, CreditTransferMessage, PaymentInfo
from yinqi.adapters.iso20022.pain001_writer import write_pain001
from yinqi.adapters.iso20022.pain002_reader import read_pain002
from yinqi.domain.money import Money

pytestmark = pytest.mark.e2e

YINQI = Path(sys.executable).with_name("yinqi")
DEBTOR = "DE89370400440532013000"
INTERNAL = "GB82WEST12345698765432"
EXTERNAL = "FR1420041010050500013M02606"
STARTUP_S_MAX = 30


@dataclass
class SandboxProcess:
    url: str
    ca: Path
    admin: httpx.Client

    def connector(self) -> SandboxBankConnector:
        return SandboxBankConnector(self.url, self.ca, timeout_s=5)

    def faults(self, **faults: Any) -> None:
        self.admin.put("/admin/faults", json=faults).raise_for_status()

    def counts(self) -> dict[str, dict[str, int]]:
        return self.admin.get("/admin/counts").json()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, ca: Path) -> httpx.Client:
    deadline = time.monotonic() + STARTUP_S_MAX
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"sandbox bank exited with {proc.returncode}: {proc.stderr.read()!r}")  # type: ignore[union-attr]
        if ca.is_file():
            client = httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=str(ca)), timeout=5)
            try:
                client.get("/admin/health").raise_for_status()
                return client
            except httpx.TransportError:
                client.close()
        time.sleep(0.1)
    raise AssertionError("sandbox bank did not become healthy")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    home = tmp_path_factory.mktemp("sandbox-bank")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "YINQI_FAILPOINTS"}
    proc = subprocess.Popen([str(YINQI), "sandbox-bank", "serve", "--port", str(port), "--home", str(home)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    url = f"https://127.0.0.1:{port}"
    try:
        admin = _wait_healthy(proc, url, home / "certs" / "ca.pem")
        for iban, balance in ((DEBTOR, "1000.00"), (INTERNAL, "0.00")):
            admin.post("/admin/accounts", json={"iban": iban, "currency": "EUR", "balance": balance,
                                                "name": f"Holder {iban[:4]}"}).raise_for_status()
        yield SandboxProcess(url, home / "certs" / "ca.pem", admin)
        admin.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(autouse=True)
def reset_faults(sandbox: SandboxProcess) -> None:
    sandbox.faults()


def order(msg_id: str, *transfers: tuple[str, str, str]) -> bytes:
    msg = CreditTransferMessage(
        message_id=msg_id, created_at=datetime.now(UTC).replace(microsecond=0), initiating_party="Yinqi Demo",
        payment_infos=(PaymentInfo(
            payment_info_id=f"{msg_id}-P", debtor_name="Yinqi Demo Ltd", debtor_account=AccountId(iban=DEBTOR),
            debtor_bic=None, requested_execution_date=date.today(),
            transfers=tuple(CreditTransfer(instruction_id=e2e, end_to_end_id=e2e, amount=Money.parse(amount, "EUR"),
                                           creditor_name="Supplier", creditor_account=AccountId(iban=creditor),
                                           remittance=f"invoice {e2e}")
                            for e2e, amount, creditor in transfers)),))
    return write_pain001(msg, version="pain.001.001.09")


def test_same_message_submitted_twice_is_booked_once_and_reported_and_stated(sandbox: SandboxProcess) -> None:
    payload = order("E2E-1", ("E2E-1-A", "100.00", INTERNAL), ("E2E-1-B", "25.50", EXTERNAL))
    with sandbox.connector() as bank:
        first = bank.submit(message_id="E2E-1", payload=payload)
        second = bank.submit(message_id="E2E-1", payload=payload)
        report = bank.fetch_status(message_id="E2E-1")
        today = date.fromisoformat(sandbox.admin.get("/admin/health").json()["today"])
        statement = bank.fetch_statement(account=DEBTOR, on=today)
    assert not first.duplicate and second.duplicate and second.received_at == first.received_at
    assert sandbox.counts()["received"]["E2E-1"] == 2
    assert {k: v for k, v in sandbox.counts()["booked"].items() if k.startswith("E2E-1")} == \
        {"E2E-1-A": 1, "E2E-1-B": 1}
    assert report is not None
    status = read_pain002(report)
    assert (status.original_message_id, status.group_status) == ("E2E-1", "ACSP")
    assert {t.end_to_end_id: t.status for p in status.payments for t in p.transactions} == \
        {"E2E-1-A": "ACSC", "E2E-1-B": "ACSP"}
    assert statement is not None
    (stmt,) = read_statements(statement).statements
    assert stmt.warnings == () and stmt.opening_balance and stmt.closing_balance
    assert stmt.opening_balance.amount == Decimal("1000.00")
    assert stmt.opening_balance.amount + sum(e.amount for e in stmt.entries) == stmt.closing_balance.amount
    assert {e.end_to_end_ids[0]: e.amount for e in stmt.entries} == \
        {"E2E-1-A": Decimal("-100.00"), "E2E-1-B": Decimal("-25.50")}
    assert Decimal(sandbox.admin.get(f"/admin/accounts/{DEBTOR}").json()["balance"]) == \
        stmt.closing_balance.amount


def test_outage_makes_the_connector_raise_bank_unavailable(sandbox: SandboxProcess) -> None:
    sandbox.faults(outage=True, outage_retry_after_s=3)
    with sandbox.connector() as bank, pytest.raises(BankUnavailable) as caught:
        bank.submit(message_id="E2E-2", payload=order("E2E-2", ("E2E-2-A", "1.00", EXTERNAL)))
    assert caught.value.retry_after_s == 3
    assert "E2E-2" not in sandbox.counts()["received"]


def test_dropped_response_raises_transport_error_and_the_resubmission_is_booked_exactly_once(
        sandbox: SandboxProcess) -> None:
    payload = order("E2E-3", ("E2E-3-A", "10.00", EXTERNAL))
    sandbox.faults(drop_response_after_processing=1)
    with sandbox.connector() as bank:
        with pytest.raises(BankTransportError):
            bank.submit(message_id="E2E-3", payload=payload)
        assert bank.submit(message_id="E2E-3", payload=payload).duplicate
        assert bank.fetch_status(message_id="E2E-3") is not None
    counts = sandbox.counts()
    assert (counts["received"]["E2E-3"], counts["booked"]["E2E-3-A"]) == (2, 1)


def test_hub_killed_right_after_http_200_resubmits_and_the_bank_books_exactly_once(
        sandbox: SandboxProcess, tmp_path: Path) -> None:
    payload_file = tmp_path / "pain001.xml"
    payload_file.write_bytes(order("E2E-4", ("E2E-4-A", "5.00", EXTERNAL)))
    script = ("import sys; from pathlib import Path; from yinqi.adapters.banks.sandbox import SandboxBankConnector;"
              "c = SandboxBankConnector(sys.argv[1], Path(sys.argv[2]));"
              "c.submit(message_id='E2E-4', payload=Path(sys.argv[3]).read_bytes())")
    env = {**os.environ, "YINQI_FAILPOINTS": "bank.submit.after_http_200=exit"}
    crashed = subprocess.run([sys.executable, "-c", script, sandbox.url, str(sandbox.ca), str(payload_file)],
                             env=env, timeout=60)
    assert crashed.returncode == 137
    with sandbox.connector() as bank:
        assert bank.submit(message_id="E2E-4", payload=payload_file.read_bytes()).duplicate
    counts = sandbox.counts()
    assert (counts["received"]["E2E-4"], counts["booked"]["E2E-4-A"]) == (2, 1)
