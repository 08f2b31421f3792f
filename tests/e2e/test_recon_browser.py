"""A treasurer in headless Chromium (Debian's, driven by Playwright) takes one reconciliation
exception through the queue: a bank charge line no order explains is imported, shows up on the
Reconciliation page with its amount and reason, is written off with a reason (the ledger books it),
and is put back by an unmatch."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.harness import provision_users, run_cli, running_stack
from tests.e2e.test_console_browser import CONFIG, PAYER_IBAN, browser, sign_in  # noqa: F401  (fixture)
from yinqi.adapters.iso20022.camt053_writer import write_camt053
from yinqi.adapters.iso20022.model import AccountId, BalanceAmount, Statement, StatementEntry

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def bank_charge_statement(path: Path) -> Path:
    day = date.today()
    charge = StatementEntry(Decimal("-12.50"), "EUR", "BOOK", day, day, "FEE-2030-Q1", (), "Payer Bank",
                            "account maintenance fee")
    statement = Statement(id=f"STMT-FEE-{day:%Y%m%d}", account=AccountId(iban=PAYER_IBAN, currency="EUR"),
                          opening_balance=BalanceAmount(Decimal("2000.00"), "EUR", day, "OPBD"),
                          closing_balance=BalanceAmount(Decimal("1987.50"), "EUR", day, "CLBD"),
                          entries=(charge,), sequence_number="1", created_at=datetime.now(UTC))
    path.write_bytes(write_camt053([statement], message_id="FEE-1", created_at=datetime.now(UTC)))
    return path


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_treasurer_writes_off_an_unexplained_bank_charge_and_takes_it_back(  # type: ignore[no-untyped-def]
        tmp_path: Path, db_url: str, browser) -> None:  # noqa: F811
    with running_stack(tmp_path, db_url, config_toml=CONFIG) as stack:
        assert run_cli(["accounts", "onboard", "--iban", PAYER_IBAN, "--currency", "EUR",
                        "--opening-balance", "2000.00"], env=stack.env).returncode == 0
        imported = run_cli(["statements", "import", str(bank_charge_statement(tmp_path / "fee.xml"))], env=stack.env)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        provision_users(stack, {"tess": ["treasurer"]})
        page = browser.new_page()
        sign_in(page, stack, "tess")
        page.click("nav >> text=Reconciliation")
        page.wait_for_url("**/reconciliation")
        row = page.locator("#unmatched-lines tr[data-entry-id]")
        assert row.count() == 1, page.content()[:2000]
        assert "-12.50 EUR" in row.inner_text() and "NO_CANDIDATE" in row.inner_text()

        row.locator("input[type=checkbox]").check()
        page.click("#write-off-ticked")  # no reason: refused, nothing booked
        assert "RECON_REASON_REQUIRED" in page.inner_text("#recon-error")
        page.locator("#unmatched-lines tr[data-entry-id] input[type=checkbox]").check()
        page.fill("#queue-reason", "account maintenance fee, no order")
        page.click("#write-off-ticked")
        page.wait_for_url("**/reconciliation")
        assert page.locator("#unmatched-lines tr[data-entry-id]").count() == 0
        group = page.locator("#match-groups tr[data-group-id]")
        assert "written_off" in group.inner_text() and "tess" in group.inner_text()
        page.goto(f"{stack.api}/ledger")
        assert "expenses:recon-write-off:EUR" in page.inner_text("main")

        page.goto(f"{stack.api}/reconciliation")
        group = page.locator("#match-groups tr[data-group-id]")
        group.locator("input[name=reason]").fill("booked twice by the bank, refund coming")
        group.locator("button.unmatch-group").click()
        page.wait_for_url("**/reconciliation")
        page.screenshot(path=str(tmp_path / "reconciliation.png"), full_page=True)
        assert page.locator("#unmatched-lines tr[data-entry-id]").count() == 1
        assert page.locator("#match-groups tr[data-group-id]").count() == 0
