"""API tokens on SQLite and PostgreSQL: stored hashed, shown once, scoped to the owner's
permissions and companies, refused when revoked or when the owner is disabled; audited."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from tests.support.identity import IdentityWorld
from yinqi.adapters.db.tables.identity import api_tokens
from yinqi.application import identity
from yinqi.application.identity_base import sha256_hex
from yinqi.domain.identity.permissions import Permission, allowed
from yinqi.domain.identity.principal import Channel, Forbidden, NotAuthenticated, Role
from yinqi.domain.identity.tokens import TokenScopeInvalid


@pytest.fixture
def world(engine: Engine, tmp_path: object) -> IdentityWorld:
    return IdentityWorld(engine, tmp_path)  # type: ignore[arg-type]


def _issue(world: IdentityWorld, owner_id: str, scopes: set[str], companies: set[str] | None = None,
           by: object = None) -> identity.IssuedToken:
    issued = world.run(identity.issue_token, principal=by or world.root.principal, user_id=owner_id, name="SAP prod",
                       scopes=scopes, companies=companies or {"ACME"})
    assert isinstance(issued, identity.IssuedToken)
    return issued


def _authenticate(world: IdentityWorld, secret: str) -> object:
    return world.run(identity.authenticate_token, secret=secret, source_address="192.0.2.7")


def test_a_token_is_stored_only_as_its_sha256_and_shown_once(world: IdentityWorld) -> None:
    erp = world.user("erp.sap", Role.OPERATOR)
    issued = _issue(world, erp.user_id, {"order.create", "order.read"})
    assert issued.secret.startswith(f"yq_{issued.token_id}_") and issued.secret not in repr(issued)
    with world.engine.connect() as conn:
        row = conn.execute(select(api_tokens)).mappings().one()
    assert row["secret_hash"] == sha256_hex(issued.secret)
    assert not any(issued.secret.split("_", 2)[2] in str(v) for v in row.values())
    listed = world.run_read(identity.list_tokens, principal=world.root.principal)
    assert [t.id for t in listed] == [issued.token_id] and not hasattr(listed[0], "secret")
    assert world.audit_actions(prefix="token.issue")[-1][:2] == ("token.issue", "success")


def test_a_token_acts_as_its_owner_narrowed_to_its_scopes(world: IdentityWorld) -> None:
    erp = world.user("erp.sap", Role.OPERATOR)
    principal = _authenticate(world, _issue(world, erp.user_id, {"order.create"}).secret)
    assert principal.channel is Channel.API and principal.user_id == erp.user_id  # type: ignore[attr-defined]
    assert principal.scopes == {"order.create"} and principal.companies == {"ACME"}  # type: ignore[attr-defined]
    assert allowed(principal, Permission.ORDER_CREATE)  # type: ignore[arg-type]
    assert not allowed(principal, Permission.ORDER_READ)  # the owner may, the token may not  # type: ignore[arg-type]


@pytest.mark.parametrize(("scopes", "companies", "where"), [
    ({"order.approve"}, {"ACME"}, "scopes"), ({"order.create"}, {"OTHER"}, "companies"),
])
def test_scopes_and_companies_must_be_within_the_owner(world: IdentityWorld, scopes: set[str],
                                                        companies: set[str], where: str) -> None:
    erp = world.user("erp.sap", Role.OPERATOR)
    with pytest.raises(TokenScopeInvalid) as refused:
        _issue(world, erp.user_id, scopes, companies)
    assert (refused.value.code, refused.value.where) == ("TOKEN_SCOPE_INVALID", where)


def test_a_revoked_token_a_wrong_secret_and_a_disabled_owner_are_refused_alike(world: IdentityWorld) -> None:
    erp = world.user("erp.sap", Role.OPERATOR)
    issued = _issue(world, erp.user_id, {"order.create"})
    forged = issued.secret[:-4] + ("AAAA" if not issued.secret.endswith("AAAA") else "BBBB")
    messages = set()
    for secret in (forged, "yq_nonsense", "yq_0000000000000000_" + "A" * 43):
        with pytest.raises(NotAuthenticated) as refused:
            _authenticate(world, secret)
        messages.add(refused.value.message)
    world.run(identity.revoke_token, principal=world.root.principal, token_id=issued.token_id)
    with pytest.raises(NotAuthenticated) as refused:
        _authenticate(world, issued.secret)
    messages.add(refused.value.message)
    second = _issue(world, erp.user_id, {"order.create"})
    world.run(identity.disable_user, principal=world.root.principal, user_id=erp.user_id)
    with pytest.raises(NotAuthenticated):
        _authenticate(world, second.secret)
    assert len(messages - {"not a valid API token"}) == 1
    assert world.audit_actions(prefix="token.revoke")[-1][:2] == ("token.revoke", "success")


def test_people_manage_their_own_tokens_and_admins_everyones(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    arthur = world.user("arthur", Role.APPROVER)
    own = _issue(world, olivia.user_id, {"order.read"}, by=olivia.principal)
    with pytest.raises(Forbidden):
        _issue(world, arthur.user_id, {"order.read"}, by=olivia.principal)
    with pytest.raises(Forbidden):
        world.run(identity.revoke_token, principal=arthur.principal, token_id=own.token_id)
    token_principal = _authenticate(world, own.secret)
    with pytest.raises(Forbidden):  # a token cannot mint tokens
        _issue(world, olivia.user_id, {"order.read"}, by=token_principal)
    assert [t.id for t in world.run_read(identity.list_tokens, principal=arthur.principal)] == []
    world.run(identity.revoke_token, principal=olivia.principal, token_id=own.token_id)


def test_last_used_is_written_at_most_once_a_minute(world: IdentityWorld) -> None:
    erp = world.user("erp.sap", Role.OPERATOR)
    issued = _issue(world, erp.user_id, {"order.create"})
    _authenticate(world, issued.secret)
    first = world.run_read(identity.list_tokens, principal=world.root.principal)[0].last_used_at
    world.clock.advance(seconds=30)
    _authenticate(world, issued.secret)
    assert world.run_read(identity.list_tokens, principal=world.root.principal)[0].last_used_at == first
    world.clock.advance(seconds=31)
    _authenticate(world, issued.secret)
    assert world.run_read(identity.list_tokens, principal=world.root.principal)[0].last_used_at == world.clock.now()
