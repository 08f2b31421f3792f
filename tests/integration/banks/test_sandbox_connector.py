"""SandboxBankConnector against the real sandbox app over real TLS, served in this process.

The server runs in a thread (uvicorn on a loopback socket), so each test can reach into the bank
to seed accounts and check bookings; the e2e suite does the same through a separate process.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import uvicorn

from sandbox_bank.app import create_app
from sandbox_bank.bank import SandboxBank
from sandbox_bank.config import load_settings
from sandbox_bank.faults import Faults
from sandbox_bank.samples import SampleTransfer, sample_pain001
from sandbox_bank.tls import ensure_certificates
from yinqi.adapters.banks.connector import (
    BankConnector,
    BankRejectedMessage,
    BankTransportError,
    BankUnavailable,
)
from yinqi.adapters.banks.sandbox import SUBMIT_FAILPOINT, SandboxBankConnector
from yinqi.adapters.crypto.tls import ensure_dev_pki
from yinqi.testing.failpoints import ENV, FailpointTriggered

DEBTOR = "DE89370400440532013000"
CREDITOR = "FR1420041010050500013M02606"


@dataclass
class Served:
    bank: SandboxBank
    url: str
    ca: Path

    def connector(self, **kw: object) -> SandboxBankConnector:
        return SandboxBankConnector(self.url, self.ca, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    settings = load_settings(home=tmp_path_factory.mktemp("sandbox-home"))
    pki = ensure_certificates(settings)
    bank = SandboxBank.from_settings(settings)
    bank.open_account(iban=DEBTOR, other_id=None, currency="EUR", balance="1000.00", name="Yinqi Demo Ltd")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(bank), log_level="critical", ssl_certfile=str(pki.server_cert),
                            ssl_keyfile=str(pki.server_key))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield Served(bank, f"https://127.0.0.1:{port}", pki.ca_cert)
    server.should_exit = True
    thread.join(5)
    bank.close()


@pytest.fixture(autouse=True)
def no_faults(served: Served) -> None:
    served.bank.faults.replace(Faults())


def pain001(msg_id: str, e2e: str, amount: str = "1.00") -> bytes:
    return sample_pain001(msg_id=msg_id, debtor_iban=DEBTOR,
                          transfers=[SampleTransfer(e2e, amount, "EUR", CREDITOR, "Supplier B", "inv")])


def test_sandbox_connector_satisfies_the_bank_connector_protocol(served: Served) -> None:
    with served.connector() as conn:
        assert isinstance(conn, BankConnector)
        assert conn.bank_id == "SANDBOX"


def test_submit_returns_a_receipt_and_the_status_report_can_be_fetched(served: Served) -> None:
    with served.connector() as conn:
        receipt = conn.submit(message_id="I-1", payload=pain001("I-1", "IE-1"))
        assert (receipt.message_id, receipt.duplicate, receipt.bank_id) == ("I-1", False, "SANDBOX")
        report = conn.fetch_status(message_id="I-1")
    assert report is not None and b"<OrgnlMsgId>I-1</OrgnlMsgId>" in report


def test_resubmitting_the_same_message_is_acknowledged_as_duplicate_and_booked_once(served: Served) -> None:
    with served.connector() as conn:
        first = conn.submit(message_id="I-2", payload=pain001("I-2", "IE-2"))
        second = conn.submit(message_id="I-2", payload=pain001("I-2", "IE-2"))
    assert second.duplicate and second.received_at == first.received_at
    assert served.bank.counts()["booked"]["IE-2"] == 1


def test_invalid_message_raises_bank_rejected_message_carrying_the_pain002(served: Served) -> None:
    bad = sample_pain001(msg_id="I-3", debtor_iban=DEBTOR, ctrl_sum="5.00",
                         transfers=[SampleTransfer("IE-3", "1.00", "EUR", CREDITOR)])
    with served.connector() as conn, pytest.raises(BankRejectedMessage) as caught:
        conn.submit(message_id="I-3", payload=bad)
    assert not caught.value.retryable and caught.value.http_status == 400
    assert caught.value.report is not None and b"FF01" in caught.value.report


def test_message_id_reused_with_other_content_raises_bank_rejected_message_du01(served: Served) -> None:
    with served.connector() as conn:
        conn.submit(message_id="I-4", payload=pain001("I-4", "IE-4"))
        with pytest.raises(BankRejectedMessage) as caught:
            conn.submit(message_id="I-4", payload=pain001("I-4", "IE-4", amount="2.00"))
    assert caught.value.http_status == 409 and b"DU01" in (caught.value.report or b"")


def test_outage_raises_bank_unavailable_with_retry_after(served: Served) -> None:
    served.bank.faults.replace(Faults(outage=True, outage_retry_after_s=7))
    with served.connector() as conn, pytest.raises(BankUnavailable) as caught:
        conn.fetch_status(message_id="whatever")
    assert caught.value.retryable and caught.value.retry_after_s == 7


def test_dropped_response_raises_transport_error_and_resubmission_books_once(served: Served) -> None:
    served.bank.faults.replace(Faults(drop_response_after_processing=1))
    with served.connector() as conn:
        with pytest.raises(BankTransportError) as caught:
            conn.submit(message_id="I-5", payload=pain001("I-5", "IE-5"))
        assert caught.value.retryable
        assert conn.submit(message_id="I-5", payload=pain001("I-5", "IE-5")).duplicate
    counts = served.bank.counts()
    assert (counts["received"]["I-5"], counts["booked"]["IE-5"]) == (2, 1)


def test_failpoint_after_http_200_fires_after_the_bank_has_booked(served: Served,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, f"{SUBMIT_FAILPOINT}=raise")
    with served.connector() as conn, pytest.raises(FailpointTriggered):
        conn.submit(message_id="I-6", payload=pain001("I-6", "IE-6"))
    monkeypatch.delenv(ENV)
    assert served.bank.counts()["booked"]["IE-6"] == 1


def test_status_of_an_unknown_or_delayed_message_is_none(served: Served) -> None:
    served.bank.faults.replace(Faults(status_delay_ms=60_000))
    with served.connector() as conn:
        conn.submit(message_id="I-7", payload=pain001("I-7", "IE-7"))
        assert conn.fetch_status(message_id="I-7") is None
        assert conn.fetch_status(message_id="never-sent") is None


def test_statement_of_an_unknown_account_is_none(served: Served) -> None:
    with served.connector() as conn:
        assert conn.fetch_statement(account="NL91ABNA0417164300", on=date.today()) is None
        assert conn.fetch_statement(account=DEBTOR, on=served.bank.today()) is not None


def test_a_server_certificate_from_another_ca_is_refused(served: Served, tmp_path: Path) -> None:
    other_ca = ensure_dev_pki(tmp_path / "other").ca_cert
    with SandboxBankConnector(served.url, other_ca) as conn, pytest.raises(BankUnavailable) as caught:
        conn.fetch_status(message_id="x")
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.message


def test_plain_http_urls_are_refused(served: Served) -> None:
    with pytest.raises(ValueError):
        SandboxBankConnector(served.url.replace("https", "http"), served.ca)


def test_a_connector_built_before_the_ca_exists_is_unavailable_until_the_file_appears(
        served: Served, tmp_path: Path) -> None:
    ca = tmp_path / "later" / "ca.pem"
    with SandboxBankConnector(served.url, ca) as conn:
        with pytest.raises(BankUnavailable):
            conn.fetch_status(message_id="x")
        ca.parent.mkdir()
        ca.write_bytes(served.ca.read_bytes())
        assert conn.fetch_status(message_id="x") is None


def test_a_rejection_exposes_the_pain002_as_status_report(served: Served) -> None:
    with served.connector() as conn, pytest.raises(BankRejectedMessage) as caught:
        conn.submit(message_id="I-8", payload=sample_pain001(
            msg_id="I-8", debtor_iban=DEBTOR, ctrl_sum="9.00",
            transfers=[SampleTransfer("IE-8", "1.00", "EUR", CREDITOR)]))
    assert caught.value.status_report is not None and caught.value.status_report == caught.value.report
