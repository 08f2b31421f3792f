"""The hub the R18 tests probe: one app over one migrated database, holding one object of every kind
a route takes by id (a pending order, a beneficiary with a pending change, an import job, a user,
a pending role grant, an API token, a bank statement), each made through the real use cases.

`build_world(engine, home, company=...)` makes them for `company`; the cross-tenant tests call it
once more for a second company on the same database.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.conftest import TESTDATA
from tests.support.auth import acting_as, principal
from tests.support.orders import FixedClock, funded_uow_factory, install_policy, order_body
from yinqi.application import beneficiaries, identity, intake, orders
from yinqi.application.import_report import ImportMode
from yinqi.application.statements import import_statement_file
from yinqi.bootstrap import Hub
from yinqi.config import Settings
from yinqi.domain.identity.principal import Channel, Principal, Role
from yinqi.domain.orders.commands import AccountInput
from yinqi.entrypoints.api.app import create_app
from yinqi.entrypoints.api.schemas import CreateOrderRequest
from yinqi.entrypoints.hub_app import build_app

CLOCK = FixedClock()
HOME_COMPANY = "ACME"
PASSWORD = "a long enough password"
STATEMENT = TESTDATA / "camt" / "samples" / "apiome-06-typical-camt053-statement.xml"
# Above 100.00 EUR one person of any approving role fills the single step, so every role allowed to
# approve reaches the approval itself (no APPROVAL_ROLE_REQUIRED standing in for a role refusal).
POLICY = ('reporting_currency = "EUR"\n[reference_rates]\nUSD = "1"\n\n'
          '[[rules]]\nname = "auto"\namount_below = "100.00"\nauto = true\n\n'
          '[[rules]]\nname = "one approver"\namount_at_least = "100.00"\n'
          'steps = [{ roles = ["approver", "treasurer", "risk_officer"], count = 1 }]\n')
NEW_IBAN = "FR7630006000011234567890189"


def person(role: Role, company: str = HOME_COMPANY, *, username: str | None = None) -> Principal:
    """A console/API principal of one role on `company`, with a fresh TOTP step-up (approvals need it)."""
    return principal(username or role.value, role, companies={company}, channel=Channel.CONSOLE,
                     step_up_at=CLOCK.now())


@dataclass
class World:
    hub: Hub
    app: FastAPI
    client: TestClient
    csrf: str
    ids: dict[str, dict[str, Any]] = field(default_factory=dict)  # company → {"order_id": ..., ...}

    def as_(self, who: Principal) -> TestClient:
        acting_as(self.app, who)
        return self.client


def hub_world(engine: Engine, home: Path) -> World:
    hub = create_app(engine=engine, settings=Settings(home=home, company_id=HOME_COMPANY, auto_release=False),
                     clock=CLOCK).state.hub
    funded_uow_factory(engine, opening="1000000.00", clock=CLOCK, vault=hub.vault)
    install_policy(hub.uow, POLICY, clock=CLOCK)
    with hub.uow() as uow:
        identity.bootstrap_admin(uow=uow, clock=CLOCK, username="root", password=PASSWORD + " root",
                                 company_id=HOME_COMPANY, company_name="Acme Ltd")
    app = build_app(hub)
    client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    login = client.get("/login")  # the double-submit CSRF cookie and its form token (no session)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token, login.text[:500]
    world = World(hub=hub, app=app, client=client, csrf=token.group(1))
    if STATEMENT.is_file():
        import_statement_file(uow_factory=hub.uow, clock=CLOCK, codec=hub.codec, data=STATEMENT.read_bytes(),
                              source=STATEMENT.name)
    return world


def add_company_objects(world: World, company: str) -> dict[str, Any]:
    """One object of every kind for `company`, made by its own people; returns their ids."""
    hub = world.hub
    maker, proposer = person(Role.OPERATOR, company), person(Role.OPERATOR, company, username=f"prop-{company}")
    root = root_principal(hub)
    if company != HOME_COMPANY:
        with hub.uow() as uow:
            identity.create_company(uow=uow, clock=CLOCK, principal=root, company_id=company, name=company)
    body = {**order_body(f"R18-{company}", "250.00"), "company_id": company}
    with hub.uow() as uow:
        order = orders.create_order(uow=uow, clock=CLOCK, principal=maker,
                                    command=CreateOrderRequest.model_validate_json(json.dumps(body)).to_command(source="api"))
    with hub.uow() as uow:
        change = beneficiaries.propose_beneficiary(
            uow=uow, clock=CLOCK, principal=proposer, company_id=company, name=f"Supplier {company}",
            account=AccountInput(iban="FR1420041010050500013M02606"), country="FR", reason="new supplier")
    job_id = intake.start_job(new_uow=hub.uow, clock=CLOCK, principal=maker, company_id=company, format="csv",
                              file_name="orders.csv", file_sha256=uuid.uuid4().hex * 2, mode=ImportMode.ACCEPT_VALID)
    with hub.uow() as uow:
        user = identity.create_user(uow=uow, clock=CLOCK, principal=root, username=f"clerk-{company.lower()}",
                                    password=PASSWORD, display_name="Clerk", roles={Role.OPERATOR},
                                    companies={company})
    with hub.uow() as uow:
        grant = identity.request_role_grant(uow=uow, clock=CLOCK, principal=root, user_id=user.id, role=Role.ADMIN)
    with hub.uow() as uow:
        issued = identity.issue_token(uow=uow, clock=CLOCK, principal=root, user_id=user.id, name="ERP",
                                      scopes={"order.read"}, companies={company})
    ids = {"order_id": order.id, "beneficiary_id": change.beneficiary_id, "change_id": change.id, "job_id": job_id,
           "user_id": user.id, "request_id": grant.id, "token_id": issued.token_id, "statement_pk": 1,
           "group_id": "g-none", "suggestion_id": "s-none",  # no such match yet: allowed roles get 404
           "order_serial": order.serial.value}
    world.ids[company] = ids
    return ids


def root_principal(hub: Hub) -> Principal:
    with hub.uow() as uow:
        user = next(u for u in identity.list_users(uow=uow, principal=Principal.system("r18")) if u.username == "root")
    return Principal(user_id=user.id, username="root", roles=user.roles, companies=frozenset({HOME_COMPANY}),
                     channel=Channel.CLI)
