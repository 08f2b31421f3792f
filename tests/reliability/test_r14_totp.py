"""R14: TOTP as RFC 6238 says, single use, at most ±1 step of skew, and step-up for approvals."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from tests.support.identity import IdentityWorld, totp_code
from yinqi.adapters.crypto.totp import Totp
from yinqi.adapters.db.tables.identity import users
from yinqi.application import identity
from yinqi.domain.identity.principal import Forbidden, Role
from yinqi.domain.identity.totp import TotpInvalid, TotpReplayed, time_step

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.fixture
def world(engine: Engine, tmp_path: object) -> IdentityWorld:
    return IdentityWorld(engine, tmp_path)  # type: ignore[arg-type]


@pytest.mark.parametrize(("unix_time", "expected"), [
    (59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
    (1234567890, "89005924"), (2000000000, "69279037"),
])
def test_rfc_6238_sha1_vectors_are_computed(unix_time: int, expected: str) -> None:
    step = time_step(datetime.fromtimestamp(unix_time, UTC))
    assert Totp(digits=8).code_at(RFC_SECRET, step) == expected


def test_a_code_used_to_sign_in_is_refused_when_replayed_for_step_up(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.APPROVER)
    world.clock.advance(minutes=2)
    code = olivia.code(world.clock.now())
    signed = world.sign_in(olivia)  # uses the same current code
    with pytest.raises(TotpReplayed) as refused:
        world.run(identity.step_up, principal=signed.principal, code=code)
    assert refused.value.code == "TOTP_REPLAYED"
    assert ("user.totp.failed", "failed") in [(a, o) for a, o, _ in world.audit_actions()]
    assert any("TOTP_REPLAYED" in reason for _, _, reason in world.audit_actions(prefix="user.totp.failed"))


def test_an_older_code_is_refused_after_a_newer_one_was_accepted(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.APPROVER)
    world.clock.advance(minutes=2)
    signed = world.sign_in(olivia)
    previous = olivia.code(world.clock.now(), steps=-1)  # inside the ±1 window, but older than the last used
    with pytest.raises(TotpReplayed):
        world.run(identity.step_up, principal=signed.principal, code=previous)


@pytest.mark.parametrize("skew", [-1, 0, 1])
def test_codes_one_step_either_side_are_accepted(world: IdentityWorld, skew: int) -> None:
    olivia = world.user("olivia", Role.APPROVER)
    world.clock.advance(minutes=5)
    step = world.login("olivia")
    signed = world.run(identity.verify_totp, session_token=step.session_token,
                       code=olivia.code(world.clock.now(), steps=skew))
    assert isinstance(signed, identity.SignedIn)


@pytest.mark.parametrize("skew", [-2, 2, -3, 3])
def test_codes_two_or_more_steps_away_are_refused(world: IdentityWorld, skew: int) -> None:
    olivia = world.user("olivia", Role.APPROVER)
    world.clock.advance(minutes=5)
    step = world.login("olivia")
    with pytest.raises(TotpInvalid) as refused:
        world.run(identity.verify_totp, session_token=step.session_token,
                  code=olivia.code(world.clock.now(), steps=skew))
    assert (refused.value.code, refused.value.where) == ("TOTP_INVALID", "code")
    assert world.audit_actions(prefix="user.totp.failed")[-1][1] == "failed"


def test_step_up_sets_a_fresh_verification_time_and_is_audited(world: IdentityWorld) -> None:
    arthur = world.user("arthur", Role.APPROVER)
    world.clock.advance(minutes=1)
    signed = world.sign_in(arthur)
    world.clock.advance(minutes=10)
    principal = world.run(identity.authenticate_session, session_token=signed.session_token, source_address="x")
    assert not principal.step_up_fresh(world.clock.now())  # STEP_UP_REQUIRED territory for approvals
    stepped = world.run(identity.step_up, principal=principal, code=arthur.code(world.clock.now()))
    assert stepped.step_up_at == world.clock.now() and stepped.step_up_fresh(world.clock.now())
    again = world.run(identity.authenticate_session, session_token=signed.session_token, source_address="x")
    assert again.step_up_at == world.clock.now()
    assert world.audit_actions(prefix="user.step_up")[-1][:2] == ("user.step_up", "success")


def test_an_api_token_principal_cannot_step_up(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    issued = world.run(identity.issue_token, principal=olivia.principal, user_id=olivia.user_id, name="erp",
                       scopes={"order.create"}, companies={"ACME"})
    token_principal = world.run(identity.authenticate_token, secret=issued.secret, source_address="erp")
    with pytest.raises(Forbidden):
        world.run(identity.step_up, principal=token_principal, code=olivia.code(world.clock.now()))


def test_the_totp_secret_is_stored_sealed_and_bound_to_its_user(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    with world.engine.connect() as conn:
        sealed = conn.execute(select(users.c.totp_secret).where(users.c.id == olivia.user_id)).scalar_one()
    assert olivia.secret not in sealed and sealed.startswith("v1:")
    with world.uow() as uow:
        totp = uow.identity.totp
        assert totp.open(sealed, user_id=olivia.user_id) == olivia.secret
        with pytest.raises(RuntimeError):
            totp.open(sealed, user_id=world.root.user_id)  # copied onto another user: does not open
    assert (world.home / "keys" / "totp-secrets.key").stat().st_mode & 0o077 == 0


def test_totp_codes_with_spaces_are_accepted_and_other_shapes_refused(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    world.clock.advance(minutes=3)
    step = world.login("olivia")
    with pytest.raises(TotpInvalid) as refused:
        world.run(identity.verify_totp, session_token=step.session_token, code="12345a")
    assert refused.value.rule == "code_syntax"
    code = olivia.code(world.clock.now())
    signed = world.run(identity.verify_totp, session_token=step.session_token, code=f"{code[:3]} {code[3:]}")
    assert isinstance(signed, identity.SignedIn)


def test_rfc_secret_helper_matches_pyotp() -> None:
    at = datetime(2030, 1, 1, tzinfo=UTC)
    assert Totp().code_at(RFC_SECRET, time_step(at)) == totp_code(RFC_SECRET, at)
