"""Demo sign-ins for `make run`: the demo company, an admin and one user per role, and an API token
for the demo ERP. Safe to run again: nothing that exists is created twice.

One demo password, random on the first run, is kept in `YINQI_HOME/demo-password` (mode 0600) and
printed at every start; every demo user has it. TOTP is not pre-enrolled: the first sign-in of each
user shows the QR code to scan (that is the point of the demo). The ERP token's secret is printed
once, when it is issued; a later run only names it.

| user | role |
| --- | --- |
| admin | admin (users, roles, policy, keys) |
| olivia | operator (maker) |
| arthur | approver (checker) |
| tess | treasurer |
| audrey | auditor (read-only) |
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from yinqi.application import identity
from yinqi.bootstrap import Hub
from yinqi.domain.identity.permissions import Permission
from yinqi.domain.identity.principal import Principal, Role
from yinqi.domain.problems import DomainError

ADMIN = "admin"
USERS: list[tuple[str, str, Role]] = [
    ("olivia", "Olivia Maker (operator)", Role.OPERATOR),
    ("arthur", "Arthur Checker (approver)", Role.APPROVER),
    ("tess", "Tess Treasurer", Role.TREASURER),
    ("audrey", "Audrey Auditor", Role.AUDITOR),
]
ERP_TOKEN_NAME = "demo-erp"
ERP_TOKEN_OWNER = "olivia"
ERP_SCOPES = {Permission.ORDER_CREATE.value, Permission.ORDER_READ.value, Permission.ORDER_IMPORT.value}
PASSWORD_FILE = "demo-password"


@dataclass(frozen=True)
class DemoLogins:
    password: str = field(repr=False)
    usernames: list[str]
    erp_token: str | None = field(default=None, repr=False)  # None: issued on an earlier run


def demo_password(home: Path) -> str:
    """The demo password, created (0600) on the first run."""
    path = home / PASSWORD_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"demo-{secrets.token_urlsafe(12)}\n")
    return path.read_text().strip()


def demo_principal(hub: Hub, username: str) -> Principal:
    """A demo user acting over the CLI channel (password checked, as `yinqi users … --as` does)."""
    with hub.uow() as uow:
        return identity.authenticate_cli(uow=uow, clock=hub.clock, username=username,
                                         password=demo_password(hub.settings.home))


def seed_identity(hub: Hub) -> DemoLogins:
    settings = hub.settings
    password = demo_password(settings.home)
    try:
        with hub.uow() as uow:
            identity.bootstrap_admin(uow=uow, clock=hub.clock, username=ADMIN, password=password,
                                     company_id=settings.company_id, company_name=settings.company_name)
    except DomainError as exc:
        if exc.code != "CONFLICT":  # users exist already: an earlier run
            raise
    admin = demo_principal(hub, ADMIN)
    with hub.uow() as uow:
        existing = {u.username: u for u in identity.list_users(uow=uow, principal=admin)}
    for username, display_name, role in USERS:
        if username not in existing:
            with hub.uow() as uow:
                existing[username] = identity.create_user(
                    uow=uow, clock=hub.clock, principal=admin, username=username, password=password,
                    display_name=display_name, roles={role}, companies={settings.company_id})
    return DemoLogins(password=password, usernames=[ADMIN, *[u for u, _, _ in USERS]],
                      erp_token=_erp_token(hub, admin, existing[ERP_TOKEN_OWNER].id))


def _erp_token(hub: Hub, admin: Principal, owner_id: str) -> str | None:
    with hub.uow() as uow:
        tokens = identity.list_tokens(uow=uow, principal=admin, user_id=owner_id)
        if any(t.name == ERP_TOKEN_NAME and t.revoked_at is None for t in tokens):
            return None
        issued = identity.issue_token(uow=uow, clock=hub.clock, principal=admin, user_id=owner_id,
                                      name=ERP_TOKEN_NAME, scopes=set(ERP_SCOPES),
                                      companies={hub.settings.company_id})
    return issued.secret
