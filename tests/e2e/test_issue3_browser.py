"""Issue 3's "done when" in a real browser (Debian's Chromium driven by Playwright), SQLite only:
the first admin creates a maker and an approver on the users page; the maker enrols TOTP, uploads
an ERP's pain.001 on the import page and watches its live progress line, then finds the orders
waiting for someone else and the page saying why not for them (SOD_SELF_APPROVAL); the approver
selects them in the queue, sees the total, approves with one TOTP code and sees them RELEASED.

The shared file asks for an execution date that is behind us, so the maker first uploads it as it
is and reads the refusal (EXECUTION_DATE_IN_PAST) in the report, then uploads the ERP's resend with
the next business day (see test_issue3_done_when.py for the whole set of files).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from tests.conftest import TESTDATA
from tests.e2e.harness import E2E_PASSWORD, run_cli, running_stack
from tests.e2e.test_console_browser import CHROMIUM, CHROMIUM_ARGS, sign_in
from tests.e2e.test_issue3_done_when import COMPANY, CONFIG, SUMMARIES, execution_dates, fund_payer, redated
from yinqi.domain.calendar import next_business_day

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

FILE = "pain001/samples/apiome-02-typical-pain001-batch.xml"  # three salaries, 13,350.00 EUR


@pytest.fixture
def chromium():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        if os.environ.get("YINQI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"YINQI_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def upload(page, api: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    """The import page, then the job page's live progress line until the job has finished."""
    page.goto(f"{api}/import")
    page.set_input_files("#file", files=[{"name": Path(FILE).name, "mimeType": "application/xml", "buffer": data}])
    page.click("#submit-import")
    page.wait_for_url("**/import/*")
    assert page.locator("#import-progress").count() == 1
    page.wait_for_function("document.getElementById('import-progress').dataset.status !== 'running'",
                           timeout=30_000)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_issue3_story_in_the_browser(tmp_path: Path, db_url: str, chromium) -> None:  # type: ignore[no-untyped-def]
    shared = (TESTDATA / FILE).read_bytes()
    serials = SUMMARIES[FILE]["end_to_end_ids"]
    with running_stack(tmp_path, db_url, config_toml=CONFIG) as stack:
        fund_payer(stack, "100000.00")
        boot = run_cli(["users", "bootstrap-admin", "ada", "--company", COMPANY, "--company-name", "ACME Ltd",
                        "--password-stdin"], env=stack.env, stdin=E2E_PASSWORD + "\n")
        assert boot.returncode == 0, boot.stdout + boot.stderr

        admin = chromium.new_context().new_page()
        sign_in(admin, stack, "ada")
        admin.click("nav a[href='/users']")
        for username, roles in (("mia", ["operator", "approver"]), ("otto", ["approver"])):
            admin.fill("#new-username", username)
            admin.fill("#new-password", E2E_PASSWORD)
            for role in roles:
                admin.check(f"#create-user input[name=roles][value={role}]")
            admin.click("#create-user-submit")
            admin.wait_for_selector(f"tr[data-username={username}]")
        assert "approver, operator" in admin.inner_text("tr[data-username=mia]")

        maker = chromium.new_context().new_page()
        sign_in(maker, stack, "mia")
        today = datetime.now(UTC).date()
        if max(execution_dates(shared)) < today:  # as shared: refused for its past date, nothing stored
            upload(maker, stack.api, shared)
            assert maker.inner_text("#import-status") == "refused"
            assert "EXECUTION_DATE_IN_PAST" in maker.inner_text("#import-errors")
        upload(maker, stack.api, redated(shared, next_business_day(today + timedelta(days=1), "EUR")))
        assert maker.inner_text("#import-status") == "completed", maker.inner_text("main")
        assert maker.inner_text("#import-accepted") == str(len(serials))
        maker.screenshot(path=str(tmp_path / "import-done.png"), full_page=True)

        maker.goto(f"{stack.api}/approvals")
        mine = maker.inner_text("#my-pending")
        assert all(s in mine for s in serials) and mine.count("SOD_SELF_APPROVAL") == len(serials)
        assert maker.locator("input.pick").count() == 0  # nothing of their own to tick
        maker.click(f"#my-pending a:text('{serials[0]}')")
        maker.wait_for_url("**/orders/*")
        assert "SOD_SELF_APPROVAL" in maker.inner_text("#approval-refusal")
        assert maker.locator("#approve-order").count() == 0

        approver = chromium.new_context().new_page()
        secret = sign_in(approver, stack, "otto")
        approver.click("nav a[href='/approvals']")
        approver.check("#select-all")
        assert approver.inner_text("#selected-count") == str(len(serials))
        assert approver.inner_text("#selected-totals") == "13350.00 EUR"
        approver.fill("#totp-code", pyotp.TOTP(secret).at(time.time() + 30))
        approver.click("#approve-selected")
        approver.wait_for_selector("#batch-result")
        assert approver.locator("#batch-items tr.outcome-approved").count() == len(serials)
        assert "13350.00 EUR" in approver.inner_text("#batch-totals")
        approver.screenshot(path=str(tmp_path / "approved.png"), full_page=True)

        approver.goto(f"{stack.api}/orders")
        approver.click(f"#orders a:text('{serials[0]}')")
        approver.wait_for_url("**/orders/*")
        assert "RELEASED" in approver.inner_text("#events")
        assert approver.inner_text("#order-state") in {"RELEASED", "SENT", "ACCEPTED", "SETTLED"}
        assert "otto (approver)" in approver.inner_text("#approval")
