"""Shared set-up for tests that drive payment orders: a fixed clock, a valid API order body, an
API client, and a unit-of-work factory whose payer account is onboarded with an opening balance
(through the real `onboard_account` use case, not hand-written postings)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application.accounts import onboard_account
from yinqi.config import Settings
from yinqi.domain.identifiers import Iban
from yinqi.domain.money import Money
from yinqi.domain.parties import AccountRef
from yinqi.entrypoints.api.app import create_app

PAYER_IBAN = "DE89370400440532013000"
PAYEE_IBAN = "FR1420041010050500013M02606"
LEDGER_KEY = b"k" * 32


class FixedClock:
    def __init__(self, at: datetime = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def order_body(serial: str, amount: str) -> dict[str, Any]:
    """A valid POST /api/v1/payment-orders body for 2030-01-10."""
    return {"company_id": "ACME", "serial": serial, "amount": amount, "currency": "EUR",
            "requested_execution_date": "2030-01-10",
            "payer": {"name": "Acme", "account": {"iban": PAYER_IBAN}, "currency": "EUR"},
            "payee": {"name": "Fournisseur", "account": {"iban": PAYEE_IBAN}, "country": "FR"}}


def api_client(engine: Engine, home: Path, *, auto_approve_limit_minor: int) -> TestClient:
    settings = Settings(home=home, auto_release=False, auto_approve_limit_minor=auto_approve_limit_minor)
    return TestClient(create_app(engine=engine, settings=settings, clock=FixedClock()),
                      raise_server_exceptions=False)


def funded_uow_factory(engine: Engine, *, opening: str, clock: FixedClock) -> Callable[[], SqlUnitOfWork]:
    """A unit-of-work factory over `engine` with PAYER_IBAN onboarded at `opening` EUR."""
    def new() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, ledger_key=LEDGER_KEY)

    with new() as uow:
        onboard_account(uow=uow, clock=clock, actor="test", account=AccountRef(iban=Iban.parse(PAYER_IBAN)),
                        currency="EUR", opening_balance=Money.parse(opening, "EUR"), name="Acme")
    return new
