"""Demo data for `make run`: bank accounts at the sandbox bank, matching ledger funds, and a few
payment orders that travel the whole way while you watch. Safe to run again: every step is
idempotent (account opening is skipped when the account exists, ledger postings and orders carry
stable idempotency keys and serial numbers)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from yinqi.application import orders as order_cases
from yinqi.application.accounts import onboard_account
from yinqi.bootstrap import Hub
from yinqi.config import CompanyAccount, Settings
from yinqi.domain.identifiers import Iban
from yinqi.domain.money import Money
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.parties import AccountRef
from yinqi.domain.problems import DomainError
from yinqi.entrypoints.demo_identity import ERP_TOKEN_OWNER, demo_principal

COMPANY = CompanyAccount(name="Yinqi Demo Trading GmbH", currency="EUR", iban="DE89370400440532013000",
                         bic="COBADEFFXXX")
OPENING_BALANCE = "1000000.00"
PAYEES = [
    ("DEMO-0001", "Lyon Textiles SARL", "FR7630006000011234567890189", "FR", "1250.00", "Invoice 2026-118"),
    ("DEMO-0002", "Hamburg Logistik AG", "DE02120300000000202051", "DE", "8400.50", "Freight October"),
    ("DEMO-0003", "Madrid Componentes SL", "ES9121000418450200051332", "ES", "25000.00", "Machine parts PO 7781"),
]


def wait_for_bank(settings: Settings, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if settings.bank_ca_file.exists():
            try:
                httpx.get(f"{settings.sandbox_bank_url}/admin/health", verify=str(settings.bank_ca_file), timeout=2)
                return
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    raise TimeoutError(f"the sandbox bank did not start at {settings.sandbox_bank_url}")


def seed_demo(hub: Hub, *, bank_home: Path) -> list[str]:
    settings = hub.settings
    if not any(a.key == COMPANY.key for a in settings.accounts):
        settings.accounts.append(COMPANY)
    _write_config(settings)
    _open_bank_accounts(settings)
    _fund_ledger(hub)
    return _create_orders(hub)


def _write_config(settings: Settings) -> None:
    path = settings.home / "yinqi.toml"
    if path.exists():
        return
    path.write_text(
        "# Yinqi demo configuration (written by `yinqi demo`).\n[yinqi]\n"
        "[[yinqi.accounts]]\n"
        f'name = "{COMPANY.name}"\ncurrency = "{COMPANY.currency}"\niban = "{COMPANY.iban}"\nbic = "{COMPANY.bic}"\n')


def _open_bank_accounts(settings: Settings) -> None:
    wanted = [(COMPANY.iban, COMPANY.name, OPENING_BALANCE), (PAYEES[1][2], PAYEES[1][1], "0")]
    with httpx.Client(base_url=settings.sandbox_bank_url, verify=str(settings.bank_ca_file), timeout=10) as bank:
        for iban, name, balance in wanted:
            if bank.get(f"/admin/accounts/{iban}").status_code == 200:
                continue
            bank.post("/admin/accounts", json={"iban": iban, "currency": "EUR", "balance": balance,
                                               "name": name}).raise_for_status()


def _fund_ledger(hub: Hub) -> None:
    with hub.uow() as uow:
        onboard_account(uow=uow, clock=hub.clock, actor="demo", account=AccountRef(iban=Iban.parse(COMPANY.iban)),
                        currency="EUR", opening_balance=Money.parse(OPENING_BALANCE, "EUR"), name=COMPANY.name)


def _create_orders(hub: Hub) -> list[str]:
    """The demo orders, entered as the demo operator; the approval policy decides which pass at once."""
    operator = demo_principal(hub, ERP_TOKEN_OWNER)  # olivia, the demo maker (seeded by demo_identity)
    created = []
    execution = hub.clock.now().date()
    for serial, name, iban, country, amount, remittance in PAYEES:
        command = CreateOrder(
            company_id=hub.settings.company_id, serial=serial,
            payer=PayerInput(name=COMPANY.name, account=AccountInput(iban=COMPANY.iban), currency="EUR",
                             bic=COMPANY.bic),
            payee=PayeeInput(name=name, account=AccountInput(iban=iban), country=country),
            amount=amount, currency="EUR", requested_execution_date=execution, remittance_info=remittance,
            source="console")
        try:
            with hub.uow() as uow:
                order_cases.create_order(uow=uow, clock=hub.clock, principal=operator, command=command,
                                         auto_release=hub.settings.auto_release)
        except DomainError as exc:
            if exc.code != "DUPLICATE_SERIAL":
                raise
        created.append(serial)
    return created
