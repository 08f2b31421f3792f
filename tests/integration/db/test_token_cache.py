"""The API's token check on its hot path (`identity_tokens.verify_token`), on SQLite and PostgreSQL:
a token verified a moment ago costs no query, only the exact secret hits the cache, a revoke or a
change to the owner made in this process takes effect at once, one made elsewhere within the TTL,
and the last-use time is written at most once a minute, never in the read-only lookup."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from tests.support.identity import LEDGER_KEY, IdentityWorld
from yinqi.adapters.db.tables.identity import api_tokens
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application import identity
from yinqi.application.identity_tokens import TOKEN_CACHE_TTL, VERIFIED_TOKENS, VerifiedTokens, verify_token
from yinqi.domain.identity.principal import Channel, NotAuthenticated, Principal, Role
from yinqi.domain.identity.tokens import ApiToken


class Counted:
    """Unit-of-work factories that count how often the token check opened one."""

    def __init__(self, world: IdentityWorld) -> None:
        self.world, self.reads, self.writes = world, 0, 0

    def read_uow(self) -> SqlUnitOfWork:
        self.reads += 1
        return SqlUnitOfWork(self.world.engine, ledger_key=LEDGER_KEY, home=self.world.home, read_only=True)

    def write_uow(self) -> SqlUnitOfWork:
        self.writes += 1
        return self.world.uow()


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> IdentityWorld:
    VERIFIED_TOKENS.forget()
    return IdentityWorld(engine, tmp_path)


def _token(world: IdentityWorld, username: str = "erp.sap") -> tuple[str, str, str]:
    """(owner id, token id, secret) of a new order.create token."""
    owner = world.user(username, Role.OPERATOR)
    issued = world.run(identity.issue_token, principal=world.root.principal, user_id=owner.user_id, name="SAP",
                       scopes={"order.create"}, companies={"ACME"})
    assert isinstance(issued, identity.IssuedToken)
    return owner.user_id, issued.token_id, issued.secret


def _verify(world: IdentityWorld, uows: Counted, secret: str, cache: VerifiedTokens | None = None) -> Principal:
    return verify_token(read_uow=uows.read_uow, write_uow=uows.write_uow, clock=world.clock, secret=secret,
                        source_address="192.0.2.7", cache=cache)


def _last_used(world: IdentityWorld, token_id: str) -> Any:
    with world.engine.connect() as conn:
        return conn.execute(select(api_tokens.c.last_used_at).where(api_tokens.c.id == token_id)).scalar_one()


def test_a_token_verified_a_moment_ago_is_not_looked_up_again(world: IdentityWorld) -> None:
    owner_id, token_id, secret = _token(world)
    uows, cache = Counted(world), VerifiedTokens()
    first = _verify(world, uows, secret, cache)
    again = _verify(world, uows, secret, cache)
    assert (uows.reads, len(cache)) == (1, 1)
    assert first == again and again.channel is Channel.API and again.user_id == owner_id
    assert again.token_id == token_id and again.scopes == frozenset({"order.create"})


def test_only_the_exact_secret_that_was_verified_hits_the_cache(world: IdentityWorld) -> None:
    _, _, secret = _token(world)
    uows, cache = Counted(world), VerifiedTokens()
    _verify(world, uows, secret, cache)
    forged = secret[:-1] + ("A" if secret[-1] != "A" else "B")  # same token id, another secret
    with pytest.raises(NotAuthenticated) as refused:
        _verify(world, uows, forged, cache)
    assert (refused.value.code, refused.value.where, uows.reads) == ("NOT_AUTHENTICATED", "authorization", 2)


def test_the_lookup_is_read_only_and_last_use_is_written_apart_at_most_once_a_minute(world: IdentityWorld) -> None:
    _, token_id, secret = _token(world)
    uows, cache = Counted(world), VerifiedTokens()
    _verify(world, uows, secret, cache)
    assert (uows.reads, uows.writes) == (1, 1) and _last_used(world, token_id) is not None
    first_use = _last_used(world, token_id)
    world.clock.advance(seconds=30)
    _verify(world, uows, secret, cache)  # within the TTL? no: 30 s > TTL, looked up again, use not due
    assert (uows.reads, uows.writes) == (2, 1) and _last_used(world, token_id) == first_use
    world.clock.advance(seconds=31)
    _verify(world, uows, secret, cache)
    assert (uows.reads, uows.writes) == (3, 2) and _last_used(world, token_id) != first_use


def test_a_revoke_in_this_process_takes_effect_at_once(world: IdentityWorld) -> None:
    _, token_id, secret = _token(world)
    uows = Counted(world)
    _verify(world, uows, secret)
    world.run(identity.revoke_token, principal=world.root.principal, token_id=token_id)
    with pytest.raises(NotAuthenticated):
        _verify(world, uows, secret)


@pytest.mark.parametrize("change", ["disable", "revoke_role"])
def test_disabling_the_owner_or_taking_a_role_in_this_process_takes_effect_at_once(
        world: IdentityWorld, change: str) -> None:
    owner_id, _, secret = _token(world)
    uows = Counted(world)
    _verify(world, uows, secret)
    if change == "disable":
        world.run(identity.disable_user, principal=world.root.principal, user_id=owner_id)
        with pytest.raises(NotAuthenticated):
            _verify(world, uows, secret)
    else:
        world.run(identity.revoke_role, principal=world.root.principal, user_id=owner_id, role=Role.OPERATOR)
        assert Role.OPERATOR not in _verify(world, uows, secret).roles
    assert uows.reads == 2


def test_a_revoke_made_by_another_process_takes_effect_within_the_ttl(world: IdentityWorld) -> None:
    _, token_id, secret = _token(world)
    uows, cache = Counted(world), VerifiedTokens()
    _verify(world, uows, secret, cache)
    with world.engine.begin() as conn:  # another hub or the CLI: this process's cache is not told
        conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=world.clock.now()))
    world.clock.advance(seconds=TOKEN_CACHE_TTL.total_seconds() - 1)
    _verify(world, uows, secret, cache)  # the price of the cache: still accepted inside the TTL
    world.clock.advance(seconds=1)
    with pytest.raises(NotAuthenticated):
        _verify(world, uows, secret, cache)


def test_a_clock_that_goes_back_does_not_stretch_an_entry_beyond_its_ttl() -> None:
    cache = VerifiedTokens()
    now = datetime.fromisoformat("2026-01-01T12:00:00+00:00")
    token = ApiToken(id="t1", user_id="u1", name="n", scopes=frozenset(), companies=frozenset(),
                              created_at=now, last_used_at=None, revoked_at=None)
    cache.put(token, object(), "digest", now=now)
    assert cache.get("t1", "digest", now=now) is not None
    assert cache.get("t1", "digest", now=now - TOKEN_CACHE_TTL) is None
    assert len(cache) == 0
