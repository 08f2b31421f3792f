"""R16: Argon2id password storage, and a session lifecycle that rotates at sign-in and dies at
logout, idle timeout, absolute lifetime, account disable and password change."""

from __future__ import annotations

import base64
import re

import pytest
from sqlalchemy import Engine, select

from tests.support.identity import PASSWORD, IdentityWorld
from yinqi.adapters.db.tables.identity import sessions, users
from yinqi.application import identity
from yinqi.application.identity_base import sha256_hex
from yinqi.domain.identity.principal import NotAuthenticated, Role
from yinqi.domain.identity.users import AccountDisabled


@pytest.fixture
def world(engine: Engine, tmp_path: object) -> IdentityWorld:
    return IdentityWorld(engine, tmp_path)  # type: ignore[arg-type]


def _session_ok(world: IdentityWorld, token: str) -> bool:
    try:
        world.run(identity.authenticate_session, session_token=token, source_address="10.0.0.1")
    except NotAuthenticated:
        return False
    return True


def test_the_stored_password_hash_is_argon2id_with_strong_parameters(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    with world.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.id == olivia.user_id)).scalar_one()
    match = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+", stored)
    assert match is not None
    m, t, p = map(int, match.groups())
    assert m >= 19456 and t >= 2 and p >= 1
    assert PASSWORD not in stored


def test_a_new_session_id_at_login_and_again_at_full_authentication(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    world.clock.advance(minutes=1)
    step = world.login("olivia")
    signed = world.run(identity.verify_totp, session_token=step.session_token, code=olivia.code(world.clock.now()))
    assert len({olivia.session_token, step.session_token, signed.session_token}) == 3
    assert signed.principal.session_id == sha256_hex(signed.session_token)
    assert not _session_ok(world, step.session_token)  # the pre-authentication id is worthless afterwards
    assert _session_ok(world, signed.session_token)


def test_a_password_only_session_cannot_act(world: IdentityWorld) -> None:
    world.user("olivia", Role.OPERATOR)
    step = world.login("olivia")
    assert not _session_ok(world, step.session_token)


def test_session_tokens_carry_at_least_128_random_bits_and_only_their_hash_is_stored(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    tokens = [world.login("olivia").session_token for _ in range(3)]
    for token in [*tokens, olivia.session_token]:
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
    with world.engine.connect() as conn:
        rows = conn.execute(select(sessions)).mappings().all()
    stored = " ".join(str(v) for row in rows for v in row.values())
    assert not any(t in stored for t in tokens)
    assert {sha256_hex(t) for t in tokens} <= {r["id"] for r in rows}


def test_the_old_cookie_is_refused_after_logout(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    world.run(identity.logout, session_token=olivia.session_token)
    assert not _session_ok(world, olivia.session_token)
    assert world.audit_actions(prefix="user.logout")[-1][:2] == ("user.logout", "success")


def test_idle_for_fifteen_minutes_ends_the_session(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    world.clock.advance(minutes=14, seconds=59)
    assert _session_ok(world, olivia.session_token)  # use restarts the idle timer
    world.clock.advance(minutes=15, seconds=1)
    assert not _session_ok(world, olivia.session_token)
    world.clock.advance(seconds=1)
    assert not _session_ok(world, olivia.session_token)  # ended for good, not just while idle
    assert ("user.session.end", "success", "idle_timeout") in world.audit_actions(prefix="user.session.end")


def test_eight_hours_after_sign_in_the_session_ends_however_busy(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    for _ in range(47):
        world.clock.advance(minutes=10)
        assert _session_ok(world, olivia.session_token)
    world.clock.advance(minutes=10, seconds=1)  # 8 h 00 min 01 s
    assert not _session_ok(world, olivia.session_token)
    assert world.audit_actions(prefix="user.session.end")[-1][2] == "absolute_lifetime"


def test_disabling_the_user_ends_an_active_session(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    world.run(identity.disable_user, principal=world.root.principal, user_id=olivia.user_id)
    assert not _session_ok(world, olivia.session_token)
    with pytest.raises(AccountDisabled) as refused:
        world.login("olivia")
    assert refused.value.code == "ACCOUNT_DISABLED"
    assert world.audit_actions(prefix="user.disable")[-1][:2] == ("user.disable", "success")


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    world.clock.advance(minutes=1)
    other = world.sign_in(olivia, source="10.9.9.9")
    world.run(identity.change_password, principal=olivia.principal, current_password=PASSWORD,
              new_password="a brand new passphrase")
    assert _session_ok(world, olivia.session_token)
    assert not _session_ok(world, other.session_token)
    with pytest.raises(NotAuthenticated):
        world.login("olivia", PASSWORD)
    assert world.login("olivia", "a brand new passphrase").next == "totp"
    assert world.audit_actions(prefix="user.password.change")[-1][:2] == ("user.password.change", "success")


def test_a_wrong_current_password_is_refused_and_counted(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    with pytest.raises(NotAuthenticated) as refused:
        world.run(identity.change_password, principal=olivia.principal, current_password="guess guess guess",
                  new_password="a brand new passphrase")
    assert refused.value.where == "current_password"
    assert world.audit_actions(prefix="user.password.change")[-1][1] == "failed"
