"""Fixtures for the sandbox bank's unit tests: a bank on a temp SQLite file and a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox_bank.bank import SandboxBank
from yinqi.adapters.db.engine import make_engine

DEBTOR = "DE89370400440532013000"
INTERNAL_CREDITOR = "GB82WEST12345698765432"
EXTERNAL_CREDITOR = "FR1420041010050500013M02606"


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def bank(tmp_path: Path, clock: FakeClock) -> Iterator[SandboxBank]:
    b = SandboxBank(make_engine(f"sqlite:///{tmp_path / 'bank.db'}"), clock=clock)
    b.open_account(iban=DEBTOR, other_id=None, currency="EUR", balance="1000.00", name="Yinqi Demo Ltd")
    b.open_account(iban=INTERNAL_CREDITOR, other_id=None, currency="EUR", balance="0.00", name="Supplier A")
    yield b
    assert b.balance_drift() == []
    b.close()
