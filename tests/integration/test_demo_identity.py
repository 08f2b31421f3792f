"""The demo's sign-ins (`make run`): seeded once, the password kept private, the ERP token shown once."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from tests.support.auth import MovableClock
from yinqi.application import identity
from yinqi.bootstrap import build_hub
from yinqi.config import Settings
from yinqi.domain.identity.principal import Principal, Role
from yinqi.entrypoints.demo_identity import PASSWORD_FILE, demo_principal, seed_identity


def test_demo_users_are_seeded_once_and_the_erp_token_is_shown_once(engine: Engine, tmp_path: Path) -> None:
    hub = build_hub(Settings(home=tmp_path), clock=MovableClock(datetime(2030, 1, 10, tzinfo=UTC)), engine=engine)
    first = seed_identity(hub)
    again = seed_identity(hub)
    assert first.usernames == again.usernames == ["admin", "olivia", "arthur", "tess", "audrey"]
    assert first.password == again.password and len(first.password) >= 12
    assert first.erp_token is not None and first.erp_token.startswith("yq_") and again.erp_token is None
    assert stat.S_IMODE((tmp_path / PASSWORD_FILE).stat().st_mode) == 0o600
    with hub.uow() as uow:
        seeded = {u.username: u.roles for u in identity.list_users(uow=uow, principal=Principal.system("t"))}
    assert seeded == {"admin": {Role.ADMIN}, "olivia": {Role.OPERATOR}, "arthur": {Role.APPROVER},
                      "tess": {Role.TREASURER}, "audrey": {Role.AUDITOR}}
    olivia = demo_principal(hub, "olivia")
    assert olivia.companies == {hub.settings.company_id} and olivia.roles == {Role.OPERATOR}
