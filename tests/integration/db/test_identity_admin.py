"""Administering identities on SQLite and PostgreSQL: validation codes, four-eyes role grants
(R13 "admin grants self approver role"), limits, company grants; every change audited."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.support.identity import ADMIN_PASSWORD, PASSWORD, IdentityWorld
from yinqi.application import identity
from yinqi.domain.identity.grants import GrantOutcome, GrantRequiresSecondAdmin
from yinqi.domain.identity.principal import Forbidden, Role
from yinqi.domain.identity.users import PasswordTooWeak, UserExists, UsernameInvalid
from yinqi.domain.problems import Conflict, DomainError, NotFound


@pytest.fixture
def world(engine: Engine, tmp_path: object) -> IdentityWorld:
    return IdentityWorld(engine, tmp_path)  # type: ignore[arg-type]


def _create(world: IdentityWorld, username: str = "olivia", password: str = PASSWORD, **kw: object) -> object:
    args: dict[str, object] = {"principal": world.root.principal, "username": username, "password": password,
                               "display_name": "Olivia", "roles": {Role.OPERATOR}, "companies": {"ACME"}}
    args.update(kw)
    return world.run(identity.create_user, **args)


def test_bootstrap_works_only_on_an_empty_hub(world: IdentityWorld) -> None:
    with pytest.raises(Conflict):
        world.run(identity.bootstrap_admin, username="eve", password=ADMIN_PASSWORD, company_id="EVIL",
                  company_name="Evil")
    assert [a for a, _, _ in world.audit_actions()][:2] == ["company.create", "user.bootstrap_admin"]


@pytest.mark.parametrize(("kwargs", "error", "code", "where"), [
    ({"username": "x"}, UsernameInvalid, "USERNAME_INVALID", "username"),
    ({"password": "too short"}, PasswordTooWeak, "PASSWORD_TOO_WEAK", "password"),
    ({"username": "olivia.ops", "password": "OLIVIA.OPS"}, PasswordTooWeak, "PASSWORD_TOO_WEAK", "password"),
    ({"companies": {"NOPE"}}, NotFound, "NOT_FOUND", "companies"),
    ({"approval_limit_minor": -1}, DomainError, "AMOUNT_INVALID", "approval_limit_minor"),
])
def test_create_user_refuses_bad_input_with_its_code(world: IdentityWorld, kwargs: dict[str, object],
                                                     error: type[DomainError], code: str, where: str) -> None:
    with pytest.raises(error) as refused:
        _create(world, **kwargs)
    assert (refused.value.code, refused.value.where) == (code, where)


def test_usernames_are_unique_whatever_their_case(world: IdentityWorld) -> None:
    _create(world)
    with pytest.raises(UserExists) as refused:
        _create(world, username="OLIVIA")
    assert (refused.value.code, refused.value.where) == ("USER_EXISTS", "username")


def test_only_user_managers_create_users(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    with pytest.raises(Forbidden):
        world.run(identity.create_user, principal=olivia.principal, username="mallory", password=PASSWORD,
                  display_name="M", roles={Role.APPROVER}, companies={"ACME"})


def test_an_admin_granting_themself_approver_needs_a_second_admin(world: IdentityWorld) -> None:
    request = world.run(identity.request_role_grant, principal=world.root.principal, user_id=world.root.user_id,
                        role=Role.APPROVER)
    assert request.outcome is GrantOutcome.PENDING
    with pytest.raises(GrantRequiresSecondAdmin) as refused:
        world.run(identity.approve_role_grant, principal=world.root.principal, request_id=request.id)
    assert refused.value.code == "GRANT_REQUIRES_SECOND_ADMIN"
    assert world.audit_actions(prefix="role.grant.approve")[-1][:2] == ("role.grant.approve", "denied")
    me = world.run_read(identity.get_user, principal=world.root.principal, user_id=world.root.user_id)
    assert Role.APPROVER not in me.roles


def test_a_new_admin_is_a_pending_grant_only_a_second_admin_approves(world: IdentityWorld) -> None:
    ada = world.user("ada", Role.ADMIN)
    assert ada.principal.roles == frozenset()
    pending = world.run_read(identity.list_grant_requests, principal=world.root.principal)
    assert [(g.user_id, g.role) for g in pending] == [(ada.user_id, Role.ADMIN)]
    with pytest.raises(GrantRequiresSecondAdmin):  # the admin who asked
        world.run(identity.approve_role_grant, principal=world.root.principal, request_id=pending[0].id)
    bob = world.user("bob", Role.OPERATOR)
    with pytest.raises(Forbidden):  # not an admin at all
        world.run(identity.approve_role_grant, principal=bob.principal, request_id=pending[0].id)
    cyd = world.user("cyd", Role.OPERATOR)
    _promote_with_second_admin(world, cyd.user_id)
    cyd_admin = world.sign_in(cyd).principal
    assert Role.ADMIN in world.run(identity.approve_role_grant, principal=cyd_admin, request_id=pending[0].id).roles
    assert world.run_read(identity.list_grant_requests, principal=world.root.principal) == []


def _promote_with_second_admin(world: IdentityWorld, user_id: str) -> None:
    """Every admin grant needs a second admin, so a hub with one admin cannot make another through
    the use cases; the test seeds the second one in the store, as an operator with database access
    would (see docs/adr/0009)."""
    with world.uow() as uow:
        uow.identity.add_role(user_id, Role.ADMIN)
        uow.commit()


def test_a_second_admin_approves_a_self_grant(world: IdentityWorld) -> None:
    ada = world.user("ada", Role.ADMIN)
    _promote_with_second_admin(world, ada.user_id)
    ada_principal = world.sign_in(ada).principal
    request = world.run(identity.request_role_grant, principal=world.root.principal, user_id=world.root.user_id,
                        role=Role.APPROVER)
    user = world.run(identity.approve_role_grant, principal=ada_principal, request_id=request.id)
    assert Role.APPROVER in user.roles
    assert world.audit_actions(prefix="role.grant.approve")[-1][:2] == ("role.grant.approve", "success")
    with pytest.raises(Conflict):
        world.run(identity.approve_role_grant, principal=ada_principal, request_id=request.id)


def test_a_plain_grant_to_someone_else_is_immediate_and_revocable(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    granted = world.run(identity.request_role_grant, principal=world.root.principal, user_id=olivia.user_id,
                        role=Role.APPROVER)
    assert granted.outcome is GrantOutcome.GRANTED
    principal = world.run(identity.authenticate_session, session_token=olivia.session_token, source_address="x")
    assert Role.APPROVER in principal.roles  # effective at the next request
    world.run(identity.revoke_role, principal=world.root.principal, user_id=olivia.user_id, role=Role.APPROVER)
    principal = world.run(identity.authenticate_session, session_token=olivia.session_token, source_address="x")
    assert principal.roles == frozenset({Role.OPERATOR})
    assert [a for a, _, _ in world.audit_actions(prefix="role.")] == ["role.grant", "role.revoke"]


def test_the_last_admin_keeps_the_admin_role(world: IdentityWorld) -> None:
    with pytest.raises(Conflict) as refused:
        world.run(identity.revoke_role, principal=world.root.principal, user_id=world.root.user_id, role=Role.ADMIN)
    assert refused.value.rule == "last_admin"


def test_limits_and_company_grants_change_for_others_not_for_oneself(world: IdentityWorld) -> None:
    world.run(identity.create_company, principal=world.root.principal, company_id="BETA", name="Beta GmbH")
    arthur = world.user("arthur", Role.APPROVER)
    user = world.run(identity.set_user_limit, principal=world.root.principal, user_id=arthur.user_id,
                     approval_limit_minor=5_000_000)
    assert user.approval_limit_minor == 5_000_000
    user = world.run(identity.grant_company, principal=world.root.principal, user_id=arthur.user_id,
                     company_id="BETA")
    assert user.companies == {"ACME", "BETA"}
    principal = world.run(identity.authenticate_session, session_token=arthur.session_token, source_address="x")
    assert principal.approval_limit_minor == 5_000_000 and principal.can_see_company("BETA")
    with pytest.raises(GrantRequiresSecondAdmin):
        world.run(identity.grant_company, principal=world.root.principal, user_id=world.root.user_id,
                  company_id="BETA")
    actions = [a for a, _, _ in world.audit_actions()]
    assert {"company.create", "user.limit.set", "user.company.grant"} <= set(actions)


def test_users_are_listed_for_readers_only(world: IdentityWorld) -> None:
    olivia = world.user("olivia", Role.OPERATOR)
    audrey = world.user("audrey", Role.AUDITOR)
    names = [u.username for u in world.run_read(identity.list_users, principal=audrey.principal)]
    assert names == ["audrey", "olivia", "root"]
    with pytest.raises(Forbidden):
        world.run_read(identity.list_users, principal=olivia.principal)
