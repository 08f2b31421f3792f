"""A person in headless Chromium (Debian's, driven by Playwright) enters a payment order in the
console and watches it settle: form → order page → SETTLED, with the ledger postings shown."""

from __future__ import annotations

import os
import ssl
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import (
    E2E_PASSWORD,
    SESSION_COOKIE,
    Stack,
    console_session,
    provision_users,
    run_cli,
    running_stack,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = os.environ.get("YINQI_CHROMIUM", "/usr/bin/chromium")
PAYER_IBAN = "DE89370400440532013000"
CONFIG = f"""[yinqi]
company_id = "ACME"
[[yinqi.accounts]]
name = "Payer GmbH"
currency = "EUR"
iban = "{PAYER_IBAN}"
"""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        if os.environ.get("YINQI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"YINQI_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def sign_in(page, stack: Stack, username: str, *, secret: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """Sign in through the pages as a person does: password, then TOTP. Without `secret` this is the
    first sign-in: enrol by reading the secret the page shows (beside its QR code); return it."""
    import pyotp

    page.goto(f"{stack.api}/orders")
    page.wait_for_url("**/login?next=*")
    page.fill("#username", username)
    page.fill("#password", E2E_PASSWORD)
    page.click("#sign-in")
    if secret is None:
        page.wait_for_url("**/login/enrol?*")
        page.click("#start-enrolment")
        assert page.locator("#totp-qr svg").count() == 1  # the QR code, inline SVG
        secret = page.inner_text("#totp-secret").replace(" ", "")
        page.fill("#code", pyotp.TOTP(secret).now())
        page.click("#confirm-enrolment")
    else:  # the code of the next 30-s step: the current one may be spent already (no replay, R14)
        page.wait_for_url("**/login/totp?*")
        page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))
        page.click("#verify-code")
    page.wait_for_url("**/orders")
    assert page.inner_text("#signed-in-user") == username
    return secret


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_new_user_enrols_totp_by_qr_signs_out_and_signs_in_again_with_a_code(
        tmp_path: Path, db_url: str, browser) -> None:  # type: ignore[no-untyped-def]
    with running_stack(tmp_path, db_url, config_toml=CONFIG) as stack:
        provision_users(stack, {"olivia": ["operator"]})
        context = browser.new_context()
        page = context.new_page()
        secret = sign_in(page, stack, "olivia")
        cookie = next(c for c in context.cookies() if c["name"] == SESSION_COOKIE)
        assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        page.click("#sign-out")
        page.wait_for_url("**/login?*")
        page.goto(f"{stack.api}/orders")  # signed out: back to the sign-in page
        page.wait_for_url("**/login?next=*")
        replayed = httpx.get(f"{stack.api}/orders", headers={"Cookie": f"{SESSION_COOKIE}={cookie['value']}"})
        assert replayed.status_code == 303 and replayed.headers["location"].startswith("/login")  # old cookie dead
        sign_in(page, stack, "olivia", secret=secret)
        page.screenshot(path=str(tmp_path / "signed-in-again.png"), full_page=True)
        assert page.inner_text("h1") == "Payment orders"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_operator_enters_an_order_in_the_console_and_sees_it_settle(tmp_path: Path, db_url: str,
                                                                        browser) -> None:  # type: ignore[no-untyped-def]
    with running_stack(tmp_path, db_url, config_toml=CONFIG) as stack:
        tls = ssl.create_default_context(cafile=str(stack.bank_ca))
        httpx.post(f"{stack.bank_url}/admin/accounts", verify=tls,
                   json={"iban": PAYER_IBAN, "currency": "EUR", "balance": "2000.00", "name": "Payer GmbH"})
        assert run_cli(["accounts", "onboard", "--iban", PAYER_IBAN, "--currency", "EUR",
                        "--opening-balance", "2000.00"], env=stack.env).returncode == 0
        provision_users(stack, {"olivia": ["operator"]})
        page = browser.new_page()
        sign_in(page, stack, "olivia")
        page.goto(f"{stack.api}/orders/new")
        page.fill("#serial", "WEB-BROWSER-1")
        page.fill("#payee_name", "Lyon Textiles SARL")
        page.fill("#payee_iban", "FR76 3000 6000 0112 3456 7890 189")
        page.fill("#payee_country", "FR")
        page.fill("#amount", "321.09")
        page.fill("#execution_date", date.today().isoformat())
        page.fill("#remittance", "Invoice 77")
        page.click("#submit-order")
        page.wait_for_url("**/orders/*")
        assert page.inner_text("h1").startswith("Order WEB-BROWSER-1")

        deadline = time.monotonic() + 60
        while page.inner_text("#order-state") != "SETTLED" and time.monotonic() < deadline:
            time.sleep(0.5)
            page.reload()
        page.screenshot(path=str(tmp_path / "order-settled.png"), full_page=True)
        assert page.inner_text("#order-state") == "SETTLED", stack.logs()
        postings = page.inner_text("#postings")
        assert "payments:outgoing:EUR" in postings and "321.09" in postings
        page.goto(f"{stack.api}/orders")
        assert "WEB-BROWSER-1" in page.inner_text("#orders")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_console_refuses_a_form_post_without_its_csrf_token(tmp_path: Path, db_url: str) -> None:
    with running_stack(tmp_path, db_url, config_toml=CONFIG) as stack:
        provision_users(stack, {"olivia": ["operator"]})
        signed_in = {"Cookie": f"{SESSION_COOKIE}={console_session(stack, 'olivia')}"}
        response = httpx.post(f"{stack.api}/orders/new", data={"serial": "X", "amount": "1.00"}, headers=signed_in)
        assert response.status_code == 403
        forged = httpx.post(f"{stack.api}/orders/new", data={"serial": "X", "amount": "1.00", "csrf_token": "f" * 64},
                            headers=signed_in)
        assert forged.status_code == 403


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_console_shows_every_problem_with_a_bad_order_and_creates_nothing(tmp_path: Path, db_url: str,
                                                                              browser) -> None:  # type: ignore[no-untyped-def]
    with running_stack(tmp_path, db_url, config_toml=CONFIG) as stack:
        provision_users(stack, {"olivia": ["operator"], "tess": ["treasurer"]})
        page = browser.new_page()
        sign_in(page, stack, "olivia")
        page.goto(f"{stack.api}/orders/new")
        page.fill("#payee_name", "Somebody")
        page.fill("#payee_iban", "FR7630006000011234567890188")  # checksum broken
        page.fill("#payee_country", "FR")
        page.fill("#amount", "12.345")  # three decimals for EUR
        page.click("#submit-order")
        alert = page.inner_text("[role=alert]")
        assert "iban" in alert.lower() and "amount" in alert.lower()
        signed_in = {"Cookie": f"{SESSION_COOKIE}={console_session(stack, 'tess')}"}  # treasurer: sees all
        assert httpx.get(f"{stack.api}/api/v1/payment-orders", headers=signed_in).json()["items"] == []
