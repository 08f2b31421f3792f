"""Statement breaks where people see them: `GET /api/v1/reconciliation/breaks` (recon.read, company
separation as for statement lines) and the console statement page, both with the amounts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.auth import acting_as, principal
from tests.support.orders import PAYER_IBAN
from tests.support.recon import AUDITOR, OUTSIDER
from yinqi.adapters.iso20022.camt053_writer import write_camt053
from yinqi.adapters.iso20022.codec import Iso20022Codec
from yinqi.adapters.iso20022.model import AccountId, BalanceAmount, Statement
from yinqi.application.accounts import onboard_account
from yinqi.application.statements import import_statement_file
from yinqi.config import Settings
from yinqi.domain.identifiers import Iban
from yinqi.domain.identity.principal import Role
from yinqi.domain.money import Money
from yinqi.domain.parties import AccountRef
from yinqi.entrypoints.api.app import create_app
from yinqi.entrypoints.hub_app import build_app

NOW = datetime(2030, 1, 14, 9, 0, tzinfo=UTC)
SIGNER = principal("sam", Role.OPERATOR, channel="console")  # type: ignore[arg-type]


class Clock:
    def now(self) -> datetime:
        return NOW


def camt(sid: str, seq: str, opening: str, closing: str, day: date) -> bytes:
    st = Statement(sid, AccountId(iban=PAYER_IBAN, currency="EUR"), BalanceAmount(Decimal(opening), "EUR", day, "OPBD"),
                   BalanceAmount(Decimal(closing), "EUR", day, "CLBD"), (), sequence_number=seq)
    return write_camt053([st], message_id=f"MSG-{sid}", created_at=NOW)


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    app = build_app(create_app(engine=engine, settings=Settings(home=tmp_path, company_id="ACME"),
                               clock=Clock()).state.hub)
    hub = app.state.hub
    with hub.uow() as uow:
        onboard_account(uow=uow, clock=hub.clock, actor="test", account=AccountRef(iban=Iban.parse(PAYER_IBAN)),
                        currency="EUR", opening_balance=Money.parse("500.00", "EUR"), name="Acme")
    for data in (camt("STMT-1", "1", "500.00", "500.00", date(2030, 1, 10)),
                 camt("STMT-4", "4", "480.00", "480.00", date(2030, 1, 11))):
        import_statement_file(uow_factory=hub.uow, clock=hub.clock, codec=Iso20022Codec(), data=data, source="t")
    return TestClient(app, raise_server_exceptions=False)


def test_the_api_lists_breaks_with_amounts_for_recon_readers(client: TestClient) -> None:
    acting_as(client.app, AUDITOR)  # type: ignore[arg-type]
    got = client.get("/api/v1/reconciliation/breaks")
    assert got.status_code == 200, got.text
    rows = got.json()["breaks"]
    assert sorted((r["code"], r["amount"], r["currency"]) for r in rows) == [
        ("LEDGER_MISMATCH", "-20.00", "EUR"), ("OPENING_MISMATCH", "-20.00", "EUR"), ("SEQUENCE_GAP", None, "EUR")]
    assert {r["statement_id"] for r in rows} == {"STMT-4"} and all(PAYER_IBAN not in r["account"] for r in rows)
    assert client.get("/api/v1/reconciliation/breaks", params={"account": "DE02120300000000202051"}).json() == {
        "breaks": []}


def test_another_companys_treasurer_sees_no_break(client: TestClient) -> None:
    acting_as(client.app, OUTSIDER)  # type: ignore[arg-type]
    got = client.get("/api/v1/reconciliation/breaks")
    assert got.status_code == 200 and got.json() == {"breaks": []}


def test_the_console_statement_page_shows_the_checks_with_amounts(client: TestClient) -> None:
    acting_as(client.app, SIGNER)  # type: ignore[arg-type]
    listing = client.get("/api/v1/reconciliation/breaks")
    pk = listing.json()["breaks"][0]["statement_pk"]
    page = client.get(f"/statements/{pk}")
    assert page.status_code == 200, page.text
    assert 'id="checks"' in page.text and "OPENING_MISMATCH" in page.text and "-20.00 EUR" in page.text
    assert "SEQUENCE_GAP" in page.text and PAYER_IBAN not in page.text
