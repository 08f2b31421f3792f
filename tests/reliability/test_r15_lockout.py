"""R15: brute force locks out after 10 failures (password or TOTP) for 30 minutes or until an admin
resets it; the answer never reveals whether a user exists; every failure is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.support.identity import PASSWORD, IdentityWorld
from yinqi.application import identity
from yinqi.domain.identity.lockout import LOCK_DURATION, MAX_FAILURES
from yinqi.domain.identity.principal import NotAuthenticated, Role
from yinqi.domain.identity.rate_limit import RateLimited, TokenBucket
from yinqi.domain.identity.totp import TotpInvalid


@pytest.fixture
def world(engine: Engine, tmp_path: object) -> IdentityWorld:
    return IdentityWorld(engine, tmp_path)  # type: ignore[arg-type]


def _refusal(world: IdentityWorld, username: str, password: str) -> tuple[str, str, str, str]:
    with pytest.raises(NotAuthenticated) as refused:
        world.login(username, password)
    e = refused.value
    return e.code, e.message, e.where, e.rule


def test_eleven_wrong_passwords_lock_the_account_for_thirty_minutes(world: IdentityWorld) -> None:
    world.user("olivia", Role.OPERATOR)
    for _ in range(MAX_FAILURES + 1):
        _refusal(world, "olivia", "not the password at all")
    assert _refusal(world, "olivia", PASSWORD)[0] == "NOT_AUTHENTICATED"  # right password, still locked
    world.clock.advance(seconds=LOCK_DURATION.total_seconds() - 1)
    assert _refusal(world, "olivia", PASSWORD)[0] == "NOT_AUTHENTICATED"
    world.clock.advance(seconds=1)
    assert world.login("olivia").next == "totp"


def test_an_admin_reset_unlocks_at_once_and_is_audited(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    for _ in range(MAX_FAILURES + 1):
        _refusal(world, "olivia", "not the password at all")
    world.run(identity.reset_lockout, principal=world.root.principal, user_id=olivia.user_id)
    assert world.login("olivia").next == "totp"
    assert world.audit_actions(prefix="user.lockout.reset")[0][:2] == ("user.lockout.reset", "success")


def test_the_lock_and_every_failure_are_audited(world: IdentityWorld) -> None:
    world.user("olivia", Role.OPERATOR)
    for _ in range(MAX_FAILURES + 1):
        _refusal(world, "olivia", "not the password at all")
    failed = world.audit_actions(prefix="user.login.failed")
    assert len(failed) == MAX_FAILURES + 1 and {o for _, o, _ in failed} == {"failed"}
    assert "locked out" in failed[-1][2]
    assert [a for a, _, _ in world.audit_actions(prefix="user.locked")] == ["user.locked"]


def test_eleven_wrong_totp_codes_lock_the_account(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    world.clock.advance(minutes=2)
    step = world.login("olivia")
    for _ in range(MAX_FAILURES):
        with pytest.raises(TotpInvalid):
            world.run(identity.verify_totp, session_token=step.session_token, code="000000")
    with pytest.raises(NotAuthenticated):  # the 11th attempt, with the right code
        world.run(identity.verify_totp, session_token=step.session_token, code=olivia.code(world.clock.now()))
    assert _refusal(world, "olivia", PASSWORD)[0] == "NOT_AUTHENTICATED"
    assert len(world.audit_actions(prefix="user.totp.failed")) == MAX_FAILURES + 1
    assert len(world.audit_actions(prefix="user.locked")) == 1


def test_a_right_password_does_not_reset_the_totp_failure_count(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    world.clock.advance(minutes=2)
    for _ in range(MAX_FAILURES):
        step = world.login("olivia")  # someone who knows the password guesses codes, session after session
        with pytest.raises(TotpInvalid):
            world.run(identity.verify_totp, session_token=step.session_token, code="000000")
    assert _refusal(world, "olivia", olivia.password)[0] == "NOT_AUTHENTICATED"


def test_unknown_user_and_wrong_password_are_indistinguishable(world: IdentityWorld) -> None:
    world.user("olivia", Role.OPERATOR)
    assert _refusal(world, "olivia", "not the password at all") == _refusal(world, "nobody", "not the password at all")
    assert _refusal(world, "olivia", "x") == _refusal(world, "no such user!", "x")
    unknown = [r for _, _, r in world.audit_actions(prefix="user.login.failed") if "unknown user" in r]
    assert unknown  # the trail says which it was; the caller is not told


def test_unknown_usernames_lock_out_exactly_like_real_ones(world: IdentityWorld) -> None:
    for _ in range(MAX_FAILURES):
        _refusal(world, "ghost", "whatever password")
    assert [a for a, _, _ in world.audit_actions(prefix="user.locked")] == ["user.locked"]
    _refusal(world, "ghost", "whatever password")
    assert "locked out" in world.audit_actions(prefix="user.login.failed")[-1][2]


def test_a_success_resets_the_consecutive_count(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    for _ in range(MAX_FAILURES - 1):
        _refusal(world, "olivia", "not the password at all")
    world.clock.advance(minutes=1)
    world.sign_in(olivia)
    for _ in range(MAX_FAILURES - 1):
        _refusal(world, "olivia", "not the password at all")
    assert world.login("olivia").next == "totp"


def test_login_spraying_from_one_address_is_rate_limited_by_the_bucket() -> None:
    per_ip = TokenBucket(capacity=20, refill_per_s=20 / 60)
    decisions = [per_ip.take("203.0.113.9", now=0.0) for _ in range(25)]
    assert [d.allowed for d in decisions].count(True) == 20
    with pytest.raises(RateLimited) as limited:
        decisions[-1].raise_if_refused("sign-in attempts")
    assert limited.value.code == "RATE_LIMITED" and limited.value.retry_after_s == 3
    assert per_ip.take("198.51.100.1", now=0.0).allowed  # another address is not affected
