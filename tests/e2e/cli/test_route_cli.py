"""`yinqi route explain` run as the real console script against channels in yinqi.toml, on a fresh
migrated database per backend (SQLite; PostgreSQL when YINQI_TEST_PG_URL is set)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.support.orders import make_order
from yinqi.application.accounts import onboard_account
from yinqi.bootstrap import build_hub
from yinqi.config import load_settings
from yinqi.domain.calendar import next_business_day
from yinqi.domain.identifiers import Iban
from yinqi.domain.money import Money
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.parties import AccountRef

YINQI = Path(sys.executable).with_name("yinqi")
pytestmark = pytest.mark.skipif(not YINQI.exists(), reason="yinqi console script not installed")
IBAN = "DE89370400440532013000"
CONFIG = f"""
[yinqi]
[[yinqi.channels]]
name = "a-batch"
bank_id = "BANK-A"
account = "{IBAN}"
currencies = ["EUR"]
per_payment_limit_minor = 50000
cost_per_payment_minor = 20

[[yinqi.channels]]
name = "b-batch"
bank_id = "BANK-B"
account = "{IBAN}"
currencies = ["EUR"]
cost_per_payment_minor = 80

[[yinqi.channels]]
name = "c-usd"
bank_id = "BANK-C"
currencies = ["USD"]
"""


def run(*args: str, home: Path, db_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "YINQI_HOME": str(home), "YINQI_DB": db_url}
    return subprocess.run([str(YINQI), *args], capture_output=True, text=True, timeout=120, check=False, env=env)


def create_order(home: Path, db_url: str, amount: str, urgency: str = "normal") -> str:
    hub = build_hub(load_settings(db=db_url, home=home))
    with hub.uow() as uow:
        onboard_account(uow=uow, clock=hub.clock, actor="test", account=AccountRef(iban=Iban.parse(IBAN)),
                        currency="EUR", opening_balance=Money.parse("10000.00", "EUR"), name="Acme")
    command = CreateOrder(
        company_id="ACME", serial=f"S-{amount}-{urgency}", amount=amount, currency="EUR", urgency=urgency,
        requested_execution_date=next_business_day(date.today(), "EUR"),
        payer=PayerInput(name="Acme", account=AccountInput(iban=IBAN), currency="EUR"),
        payee=PayeeInput(name="Payee", account=AccountInput(iban="FR1420041010050500013M02606"), country="FR"))
    with hub.uow() as uow:
        order = make_order(uow, hub.clock, command, auto_limit_minor=10_000_000, auto_release=True)
    hub.engine.dispose()
    return order.id


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "yinqi.toml").write_text(CONFIG)
    return tmp_path


def test_explain_json_names_the_chosen_bank_and_why_the_others_lost(home: Path, db_url: str) -> None:
    order_id = create_order(home, db_url, "900.00")
    result = run("route", "explain", order_id, "--json", home=home, db_url=db_url)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["order_id"] == order_id and doc["state"] == "RELEASED" and doc["sent"] is None
    assert (doc["chosen"]["name"], doc["chosen"]["bank_id"]) == ("b-batch", "BANK-B")
    assert {a["name"]: [r["code"] for r in a["reasons"]] for a in doc["alternatives"]} == {
        "a-batch": ["PAYMENT_LIMIT"], "c-usd": ["CURRENCY"]}


def test_explain_text_shows_the_choice_and_exits_1_when_nothing_fits(home: Path, db_url: str) -> None:
    cheap = run("route", "explain", create_order(home, db_url, "100.00"), home=home, db_url=db_url)
    assert cheap.returncode == 0, cheap.stderr
    assert "chosen: a-batch (BANK-A, batch)" in cheap.stdout and "more expensive: 80 > 20" in cheap.stdout
    urgent = run("route", "explain", create_order(home, db_url, "100.00", "urgent"), home=home, db_url=db_url)
    assert urgent.returncode == 1 and "NO ROUTE" in urgent.stdout


def test_explain_of_an_unknown_order_exits_1(home: Path, db_url: str) -> None:
    result = run("route", "explain", "no-such-order", home=home, db_url=db_url)
    assert result.returncode == 1 and "ORDER_NOT_FOUND" in result.stderr
