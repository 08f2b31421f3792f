"""`recon run` on SQLite and PostgreSQL: stored entries against open orders through the engine.
Every automatic match settles as a match group; a fee drift books the fee (Dr bank charges / Cr
available funds); a dry run commits nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from tests.support.orders import checker, funded_uow_factory, make_order
from yinqi.adapters.crypto.field_encryption import FieldKeyring
from yinqi.adapters.db.ledger_verify import verify
from yinqi.adapters.db.tables.reconciliation import reconciliation_claims
from yinqi.adapters.iso20022.model import AccountId, Statement, StatementEntry
from yinqi.application import orders as cases
from yinqi.application.reconciliation import run_reconciliation
from yinqi.application.statements import reconcile
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.orders.order import PaymentOrder
from yinqi.entrypoints.cli.main import app

KEY = b"k" * 32
IBAN = "DE89370400440532013000"
DAY = date(2030, 1, 10)


class Clock:
    def now(self) -> datetime:
        return datetime(2030, 1, 10, 18, 0, tzinfo=UTC)


CLOCK = Clock()


@pytest.fixture
def new_uow(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    # the CLI tests run with YINQI_HOME=tmp_path: the same field keys read what these orders wrote
    return funded_uow_factory(engine, opening="10000.00", clock=CLOCK, vault=FieldKeyring.at_home(tmp_path))


def sent_order(new_uow, serial: str, amount: str, remittance: str | None = None) -> PaymentOrder:  # type: ignore[no-untyped-def]
    command = CreateOrder(
        company_id="ACME", serial=serial, amount=amount, currency="EUR", requested_execution_date=DAY,
        remittance_info=remittance, payer=PayerInput(name="Acme", account=AccountInput(iban=IBAN), currency="EUR"),
        payee=PayeeInput(name="Kalo Trading GmbH", account=AccountInput(iban="FR1420041010050500013M02606"),
                         country="FR"))
    with new_uow() as u:
        order = make_order(u, CLOCK, command, auto_limit_minor=10_000_000)
        cases.release_order(uow=u, clock=CLOCK, principal=checker(CLOCK, "ops", "treasurer"), order_id=order.id)
        return cases.mark_sent(uow=u, clock=CLOCK, actor="worker", order_id=order.id, message_id=f"MSG-{serial}")


def store_statement(new_uow, entries: list[StatementEntry]) -> None:  # type: ignore[no-untyped-def]
    statement = Statement("STMT-1", AccountId(iban=IBAN, currency="EUR"), None, None, tuple(entries))
    with new_uow() as u:
        u.statements.import_statement(statement, fmt="camt.053.001.08", source_sha256="a" * 64, at=CLOCK.now())
        u.commit()


def entry(ref: str, amount: str, *, e2e: str | None = None, text: str | None = None) -> StatementEntry:
    return StatementEntry(Decimal(amount), "EUR", "BOOK", DAY, DAY, bank_reference=ref,
                          end_to_end_ids=(e2e,) if e2e else (), counterparty_name="KALO TRADING", remittance=text)


@pytest.fixture
def scenario(new_uow):  # type: ignore[no-untyped-def]
    exact = sent_order(new_uow, "S-1", "100.00")
    by_text = sent_order(new_uow, "S-2", "250.00", remittance="INV-2030-000042")
    with_fee = sent_order(new_uow, "S-3", "1000.00")
    store_statement(new_uow, [entry("BR1", "-100.00", e2e=exact.end_to_end_id.value),
                              entry("BR2", "-250.00", text="Payment INV-2030-000042"),
                              entry("BR3", "-1002.50", e2e=with_fee.end_to_end_id.value),
                              entry("BR4", "-77.00", text="unrelated")])
    return exact, by_text, with_fee


def states(new_uow, *orders: PaymentOrder) -> list[OrderState]:  # type: ignore[no-untyped-def]
    with new_uow() as u:
        return [u.orders.get(o.id).state for o in orders]


def match_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(reconciliation_claims)
                                .where(reconciliation_claims.c.kind == "entry")).scalar_one())


def test_a_dry_run_shows_what_would_be_matched_and_commits_nothing(new_uow, scenario, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    exact, by_text, with_fee = scenario
    run = run_reconciliation(uow_factory=new_uow, clock=CLOCK, dry_run=True)
    assert run.dry_run and run.settled == [] and run.entries == 4 and run.open_orders == 3
    assert next(m.item_ids for m in run.booked) == (exact.id,)
    assert states(new_uow, exact, by_text, with_fee) == [OrderState.SENT] * 3 and match_rows(engine) == 0


def test_automatic_matches_settle_and_a_fee_drift_books_the_fee_the_bank_kept(  # type: ignore[no-untyped-def]
        new_uow, scenario, engine: Engine) -> None:
    exact, by_text, with_fee = scenario
    run = run_reconciliation(uow_factory=new_uow, clock=CLOCK)
    fee = next(m for m in run.booked if m.item_ids == (with_fee.id,))
    assert fee.fee_minor == 250 and "FEE_DRIFT:250" in [str(r) for r in fee.reasons]
    assert set(run.settled) == {exact.id, by_text.id, with_fee.id}
    assert states(new_uow, exact, by_text, with_fee) == [OrderState.SETTLED] * 3
    assert match_rows(engine) == 3 and run.unmatched_entries >= 1
    with new_uow() as u:
        charges = u.ledger.balance("expenses:bank-charges:EUR")
        entry = u.ledger.find_by_key(f"recon:{u.recon.claims('order', [with_fee.id])[with_fee.id]}:fee")
    assert charges.minor == 250 and entry is not None
    assert verify(engine, hash_key=b"k" * 32).ok
    again = run_reconciliation(uow_factory=new_uow, clock=CLOCK)
    assert again.settled == [] and match_rows(engine) == 3


def test_the_statement_import_step_settles_through_the_engine_fee_drift_included(new_uow, scenario) -> None:  # type: ignore[no-untyped-def]
    exact, by_text, with_fee = scenario
    with new_uow() as u:
        settled, problems = reconcile(u, clock=CLOCK)
        u.commit()
    assert sorted(settled) == sorted([exact.id, by_text.id, with_fee.id])
    assert not [p for p in problems if p.order_id in settled]


def test_the_cli_dry_run_prints_matches_suggestions_and_unmatched_counts_as_json(  # type: ignore[no-untyped-def]
        new_uow, scenario, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    monkeypatch.setenv("YINQI_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["recon", "run", "--dry-run", "--json", "--db", db_url,
                                      "--account", IBAN])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["dry_run"] and out["matches"][0]["orders"] == [scenario[0].id]
    assert {"entries", "orders", "rule", "confidence", "reasons"} <= set(out["matches"][0])
    assert out["unmatched"]["entries"] >= 1 and match_rows(engine) == 0
    assert [m["fee_minor"] for m in out["matches"] if m["orders"] == [scenario[2].id]] == [250]


def test_the_cli_text_report_says_what_would_be_settled_and_why(  # type: ignore[no-untyped-def]
        new_uow, scenario, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YINQI_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["recon", "run", "--dry-run", "--db", db_url], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "dry run: nothing committed" in result.output and "would settle" in result.output
    assert "END_TO_END_ID; AMOUNT_EXACT" in result.output and "FEE_DRIFT:250" in result.output
