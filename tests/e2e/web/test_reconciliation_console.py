"""The console's Reconciliation page in process, on every backend: the queue renders with amounts
and reasons, a form post without its CSRF token is refused, an operator sees the queue without
the decision buttons, and a write-off without a reason re-renders the page with the refusal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.auth import MovableClock, acting_as, console_client, principal
from tests.support.orders import PAYER_IBAN
from tests.support.recon import line, sent_order, store_statement
from yinqi.application.accounts import onboard_account
from yinqi.domain.identifiers import Iban
from yinqi.domain.identity.principal import Role
from yinqi.domain.money import Money
from yinqi.domain.parties import AccountRef


@pytest.fixture
def client(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    client = console_client(engine, tmp_path, MovableClock(datetime(2030, 1, 10, 9, 0, tzinfo=UTC)), users={})
    hub = client.app.state.hub
    with hub.uow() as uow:
        onboard_account(uow=uow, clock=hub.clock, actor="test", account=AccountRef(iban=Iban.parse(PAYER_IBAN)),
                        currency="EUR", opening_balance=Money.parse("1000.00", "EUR"), name="Acme")
    sent_order(hub.uow, hub.clock, "W-1", "40.00", payee="Beta Parts")
    store_statement(hub.uow, hub.clock, [line("BR2", "-12.50", text="account fee", name="BANK")])
    return client


def test_the_page_lists_the_line_with_its_amount_and_reason(client) -> None:  # type: ignore[no-untyped-def]
    acting_as(client.app, principal("tess", Role.TREASURER, companies={"ACME"}))
    page = client.get("/reconciliation")
    assert page.status_code == 200, page.text
    assert "-12.50 EUR" in page.text and "NO_CANDIDATE" in page.text and 'id="write-off-ticked"' in page.text
    assert "W-1" in page.text


def test_an_operator_sees_the_queue_but_no_decision_buttons(client) -> None:  # type: ignore[no-untyped-def]
    acting_as(client.app, principal("olivia", Role.OPERATOR, companies={"ACME"}))
    page = client.get("/reconciliation")
    assert page.status_code == 200 and "-12.50 EUR" in page.text and "write-off-ticked" not in page.text


def test_a_post_without_its_csrf_token_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    acting_as(client.app, principal("tess", Role.TREASURER, companies={"ACME"}))
    refused = client.post("/reconciliation/write-off", data={"entry_ids": "1", "reason": "x"})
    assert refused.status_code == 403
