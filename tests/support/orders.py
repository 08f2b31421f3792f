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

from tests.support.auth import acting_as
from tests.support.vault import TEST_VAULT
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application.accounts import onboard_account
from yinqi.application.ports import AccountVault
from yinqi.config import Settings
from yinqi.domain.identifiers import Iban
from yinqi.domain.identity.principal import Channel, Principal, Role
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


def api_client(engine: Engine, home: Path, *, auto_limit_minor: int | None = None) -> TestClient:
    """A test client of the API; with `auto_limit_minor`, the approval policy `limit_policy(...)`
    is stored first (else the built-in default policy applies)."""
    settings = Settings(home=home, auto_release=False)
    app = create_app(engine=engine, settings=settings, clock=FixedClock())
    if auto_limit_minor is not None:
        install_policy(app.state.hub.uow, limit_policy(auto_limit_minor), clock=FixedClock())
    acting_as(app, MAKER)  # switch with `acting_as(client.app, checker(clock))` (tests/support/auth.py)
    return TestClient(app, raise_server_exceptions=False)


# --- acting people and approval policies ----------------------------------------------------------
def person(username: str, *roles: Role | str, step_up_at: datetime | None = None,
           approval_limit_minor: int | None = None) -> Principal:
    """A principal on every company (legacy tests use several company ids); default role operator."""
    return Principal(user_id=f"u-{username}", username=username,
                     roles=frozenset(Role(r) for r in roles) or frozenset({Role.OPERATOR}), companies=frozenset(),
                     channel=Channel.API, step_up_at=step_up_at, approval_limit_minor=approval_limit_minor,
                     all_companies=True)


MAKER = person("maker", Role.OPERATOR)
POLICY_ADMIN = person("policy-admin", Role.ADMIN)


def checker(clock: Any, username: str = "checker", *roles: Role | str) -> Principal:
    """An approver (or `roles`) who verified a TOTP code just now (fresh step-up, R14)."""
    return person(username, *(roles or (Role.APPROVER, Role.TREASURER)), step_up_at=clock.now())


def limit_policy(limit_minor: int) -> str:
    """An approval policy in EUR: orders up to `limit_minor` pass with no person (none when it is
    below 1), every other order needs one approver or treasurer. USD, CNY, GBP and CHF count 1:1
    (minor units compare as they did under the old per-order limit setting)."""
    threshold = Money(limit_minor + 1, "EUR").format() if limit_minor >= 0 else "0.01"
    auto = f'[[rules]]\nname = "auto"\namount_below = "{threshold}"\nauto = true\n\n' if limit_minor > 0 else ""
    return ('reporting_currency = "EUR"\n[reference_rates]  # 1:1, as the old per-currency limit was\n'
            'USD = "1"\nCNY = "1"\nGBP = "1"\nCHF = "1"\n\n' + auto +
            f'[[rules]]\nname = "one approver"\namount_at_least = "{threshold if limit_minor > 0 else "0"}"\n'
            'steps = [{ roles = ["approver", "treasurer"], count = 1 }]\n')


def make_order(uow: Any, clock: Any, command: Any, *, auto_limit_minor: int, auto_release: bool = False,
           maker: Principal = MAKER) -> Any:
    """`create_order` by `maker` under `limit_policy(auto_limit_minor)` (stored first, in `uow`)."""
    from yinqi.application.approval_policy import put_policy
    from yinqi.application.orders import create_order

    put_policy(uow=uow, clock=clock, principal=POLICY_ADMIN, document=limit_policy(auto_limit_minor))
    return create_order(uow=uow, clock=clock, principal=maker, command=command, auto_release=auto_release)


def install_policy(new_uow: Callable[[], Any], document: str, *, clock: Any) -> None:
    """Store `document` as the active approval policy (as an administrator would)."""
    from yinqi.application.approval_policy import put_policy

    with new_uow() as uow:
        put_policy(uow=uow, clock=clock, principal=POLICY_ADMIN, document=document, note="test policy")


def funded_uow_factory(engine: Engine, *, opening: str, clock: FixedClock,
                       vault: AccountVault = TEST_VAULT) -> Callable[[], SqlUnitOfWork]:
    """A unit-of-work factory over `engine` with PAYER_IBAN onboarded at `opening` EUR. Pass the
    hub's `vault` when a CLI or API over the same database must read what it writes."""
    def new() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, ledger_key=LEDGER_KEY, vault=vault)

    with new() as uow:
        onboard_account(uow=uow, clock=clock, actor="test", account=AccountRef(iban=Iban.parse(PAYER_IBAN)),
                        currency="EUR", opening_balance=Money.parse(opening, "EUR"), name="Acme")
    return new
