"""The sandbox bank on each database it may run on (SQLite default, PostgreSQL via --db)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sandbox_bank.bank import SandboxBank
from sandbox_bank.samples import SampleTransfer, sample_pain001
from yinqi.adapters.db.engine import make_engine, normalise_url

DEBTOR = "DE89370400440532013000"
CREDITOR = "GB82WEST12345698765432"


def _pg_admin() -> str:
    url = os.environ.get("YINQI_TEST_PG_URL")
    if not url:
        if os.environ.get("YINQI_REQUIRE_PG") == "1":
            pytest.fail("YINQI_REQUIRE_PG=1 but YINQI_TEST_PG_URL is not set")
        pytest.skip("PostgreSQL not configured (set YINQI_TEST_PG_URL)")
    return normalise_url(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def bank_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sandbox.db'}"
        return
    admin_url = _pg_admin()
    name = f"sandbox_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def bank(bank_db_url: str) -> Iterator[SandboxBank]:
    b = SandboxBank(make_engine(bank_db_url), clock=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    b.open_account(iban=DEBTOR, other_id=None, currency="EUR", balance="100.00", name="Debtor")
    b.open_account(iban=CREDITOR, other_id=None, currency="EUR", balance="0", name="Creditor")
    yield b
    assert b.balance_drift() == []
    b.close()


def test_concurrent_copies_are_booked_once_and_every_copy_is_counted(bank: SandboxBank) -> None:
    payload = sample_pain001(msg_id="DB-1", debtor_iban=DEBTOR,
                             transfers=[SampleTransfer("DB-E1", "30.00", "EUR", CREDITOR)])
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda _: bank.receive_pain001(payload), range(6)))
    assert [r.http_status for r in replies] == [202] * 6
    assert bank.counts() == {"received": {"DB-1": 6}, "booked": {"DB-E1": 1}}
    assert (bank.account(DEBTOR).balance_minor, bank.account(CREDITOR).balance_minor) == (7_000, 3_000)


def test_concurrent_messages_never_overdraw_the_debtor(bank: SandboxBank) -> None:
    payloads = [sample_pain001(msg_id=f"DB-O{i}", debtor_iban=DEBTOR,
                               transfers=[SampleTransfer(f"DB-O{i}", "30.00", "EUR", CREDITOR)]) for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(bank.receive_pain001, payloads))
    assert sum(bank.counts()["booked"].values()) == 3
    assert bank.account(DEBTOR).balance_minor == 1_000


def test_statement_and_status_are_served_from_either_database(bank: SandboxBank) -> None:
    bank.receive_pain001(sample_pain001(msg_id="DB-2", debtor_iban=DEBTOR,
                                        transfers=[SampleTransfer("DB-E2", "1.00", "EUR", CREDITOR)]))
    assert bank.status("DB-2").state == "ready"
    assert b"<EndToEndId>DB-E2</EndToEndId>" in bank.statement(DEBTOR, datetime(2026, 3, 2).date())
