"""How a hub gets its first two admins (SQLite and PostgreSQL): every later ADMIN grant needs a
second admin to approve it, so `bootstrap_admin` makes the second one, vouched for by the first,
while fewer than two admins are active; then the four-eyes grant path works and bootstrap is closed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.identity import ADMIN_PASSWORD, PASSWORD, IdentityWorld
from yinqi.application import identity
from yinqi.domain.identity.grants import GrantOutcome, GrantRequest
from yinqi.domain.identity.principal import Forbidden, Role
from yinqi.domain.identity.users import User, UserExists
from yinqi.domain.problems import Conflict, NotFound


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> IdentityWorld:
    return IdentityWorld(engine, tmp_path)


def second_admin(world: IdentityWorld, username: str = "sam", company: str = "ACME") -> object:
    return world.run(identity.bootstrap_admin, username=username, password=PASSWORD, company_id=company,
                     vouched_by=world.root.principal)


def test_the_first_admin_vouches_for_a_second_who_is_audited_as_the_first_admins_act(world: IdentityWorld) -> None:
    sam = second_admin(world)
    assert isinstance(sam, User) and sam.roles == {Role.ADMIN} and sam.companies == {"ACME"}
    assert world.audit_actions(prefix="user.bootstrap_admin")[-1] == (
        "user.bootstrap_admin", "success", "second admin, vouched for by root")


def test_with_two_admins_a_third_is_a_grant_the_other_admin_approves(world: IdentityWorld) -> None:
    second_admin(world)
    sam = world.enrol("sam")
    with pytest.raises(Conflict) as closed:
        second_admin(world, "tom")
    assert (closed.value.where, closed.value.rule) == ("username", "bootstrap_while_fewer_than_two_admins")
    tom = world.user("tom", Role.OPERATOR)
    request = world.run(identity.request_role_grant, principal=world.root.principal, user_id=tom.user_id,
                        role=Role.ADMIN)
    assert isinstance(request, GrantRequest) and request.outcome is GrantOutcome.PENDING
    granted = world.run(identity.approve_role_grant, principal=sam.principal, request_id=request.id)
    assert isinstance(granted, User) and Role.ADMIN in granted.roles


def test_a_second_admin_needs_the_first_to_vouch(world: IdentityWorld) -> None:
    with pytest.raises(Conflict) as refused:
        world.run(identity.bootstrap_admin, username="sam", password=PASSWORD, company_id="ACME")
    assert (refused.value.where, refused.value.rule) == ("vouched_by", "vouched_by_admin")
    assert "--as root" in refused.value.message


def test_only_an_active_admin_vouches(world: IdentityWorld) -> None:
    olga = world.user("olga", Role.OPERATOR)
    with pytest.raises(Forbidden) as refused:
        world.run(identity.bootstrap_admin, username="sam", password=PASSWORD, company_id="ACME",
                  vouched_by=olga.principal)
    assert (refused.value.where, refused.value.rule) == ("vouched_by", "active_admin")


@pytest.mark.parametrize(("username", "company", "error", "where"), [
    ("root", "ACME", UserExists, "username"),
    ("sam", "NOPE", NotFound, "company_id"),
])
def test_a_second_admin_is_a_new_user_of_an_existing_company(world: IdentityWorld, username: str, company: str,
                                                               error: type[Exception], where: str) -> None:
    with pytest.raises(error) as refused:  # type: ignore[call-overload]
        second_admin(world, username, company)
    assert refused.value.where == where


def test_with_no_active_admin_left_a_recovery_admin_is_made_and_audited(world: IdentityWorld) -> None:
    with world.uow() as uow:  # the use cases never disable the last admin: only database access gets here
        root = uow.identity.get_user(world.root.user_id)
        uow.identity.update_user(replace(root, disabled=True))
        uow.commit()
    rescue = world.run(identity.bootstrap_admin, username="rescue", password=ADMIN_PASSWORD, company_id="ACME")
    assert isinstance(rescue, User) and Role.ADMIN in rescue.roles
    assert world.audit_actions(prefix="user.bootstrap_admin")[-1] == (
        "user.bootstrap_admin", "success", "recovery admin: no active admin left")
