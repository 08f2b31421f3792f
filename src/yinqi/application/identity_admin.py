"""Administering identities: the first admin, companies, users, role grants under four eyes,
approval limits, company grants, disabling, lockout resets, password changes.

Every change is audited in its own transaction's commit. Privilege changes an admin makes to
their own account (a role, an approval limit, a company) are refused with
GRANT_REQUIRES_SECOND_ADMIN, or for roles become a request a second admin approves; so is every
grant of ADMIN (`yinqi.domain.identity.grants`). The refusal itself is audited and committed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from yinqi.application.identity_base import (
    IdentityUnitOfWork,
    commit_failure,
    principal_of,
    require_user,
    write_audit,
)
from yinqi.application.identity_tokens import VERIFIED_TOKENS
from yinqi.application.ports import Clock
from yinqi.domain.identity.grants import (
    GrantOutcome,
    GrantRequest,
    GrantRequiresSecondAdmin,
    check_approver,
    needs_second_admin,
)
from yinqi.domain.identity.permissions import Permission, allowed, require
from yinqi.domain.identity.principal import Channel, Forbidden, NotAuthenticated, Principal, Role
from yinqi.domain.identity.users import (
    User,
    UserExists,
    check_password,
    normalise_password,
    normalise_username,
)
from yinqi.domain.problems import Conflict, DomainError, NotFound

__all__ = ["ApprovalLimitInvalid", "CompanyInvalid", "approve_role_grant", "bootstrap_admin", "change_password",
           "create_company", "create_user", "disable_user", "enable_user", "get_user", "grant_company",
           "list_companies", "list_grant_requests", "list_users", "request_role_grant", "reset_lockout",
           "revoke_role", "set_user_limit"]

_COMPANY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class CompanyInvalid(DomainError):
    code = "VALIDATION_FAILED"


class ApprovalLimitInvalid(DomainError):
    code = "AMOUNT_INVALID"


# --- the first admins and companies ------------------------------------------------------------
def bootstrap_admin(*, uow: IdentityUnitOfWork, clock: Clock, username: str, password: str, company_id: str,
                    company_name: str = "", vouched_by: Principal | None = None) -> User:
    """An admin made without a second admin's approval: the only way a hub gets its first two, since
    every later grant of ADMIN needs an approving admin other than the requester (ADR 0009).

    Allowed while the hub has fewer than two active admins, and only from the server's command line:
    - no user at all: the first admin, and their company (created with `company_name`);
    - one active admin: a second one, vouched for by that admin (`vouched_by`, password checked by
      the caller), who is the actor of the audit event; the company must exist;
    - users but no active admin (every admin disabled): a recovery admin, audited as such.

    Raises:
        Conflict (CONFLICT): two active admins exist, or one exists and does not vouch.
        Forbidden (FORBIDDEN): `vouched_by` is not an active admin.
        UsernameInvalid, PasswordTooWeak, CompanyInvalid (VALIDATION_FAILED).  UserExists (USER_EXISTS).
        NotFound (NOT_FOUND): a later admin's company does not exist.
    """
    now = clock.now()
    first = uow.identity.count_users() == 0
    admins = [] if first else [u for u in uow.identity.list_users() if Role.ADMIN in u.roles and not u.disabled]
    if len(admins) >= 2:
        raise Conflict("the hub has two active admins: a further admin is a role grant another admin approves",
                       where="username", rule="bootstrap_while_fewer_than_two_admins")
    if admins and vouched_by is None:
        raise Conflict(f"an admin exists: a second admin is bootstrapped with that admin vouching "
                       f"(yinqi users bootstrap-admin {username} --as {admins[0].username})",
                       where="vouched_by", rule="vouched_by_admin")
    if vouched_by is not None and (not vouched_by.has_role(Role.ADMIN) or
                                   vouched_by.user_id not in {a.id for a in admins}):
        raise Forbidden(f"{vouched_by.actor_id} is not an active admin and cannot vouch for one",
                        where="vouched_by", rule="active_admin", value=vouched_by.actor_id)
    name = normalise_username(username)
    check_password(password, username=name)
    if not first and uow.identity.find_user(name) is not None:
        raise UserExists(f"user {name!r} exists already", where="username", rule="unique", value=name)
    user = User(id=str(uuid.uuid4()), username=name, display_name=name, roles=frozenset({Role.ADMIN}),
                companies=frozenset({_check_company_id(company_id)}), approval_limit_minor=None, disabled=False,
                totp_enrolled=False, password_changed_at=now, created_at=now)
    actor = vouched_by or principal_of(user, channel=Channel.CLI, source_address="cli")
    if not uow.identity.company_exists(company_id):
        if not first:
            raise NotFound(f"no company {company_id!r}", where="company_id", rule="exists", value=company_id)
        _add_company(uow, actor, company_id, company_name, now)
    uow.identity.add_user(user, password_hash=uow.identity.passwords.hash(normalise_password(password)))
    reason = ("first user of the hub" if first else
              f"second admin, vouched for by {vouched_by.actor_id}" if vouched_by else
              "recovery admin: no active admin left")
    write_audit(uow, actor, "user.bootstrap_admin", at=now, object_id=user.id, after=user.as_audit(), reason=reason)
    uow.commit()
    return user


def create_company(*, uow: IdentityUnitOfWork, clock: Clock, principal: Principal, company_id: str,
                   name: str) -> None:
    """Raises:
        Forbidden (FORBIDDEN): not user.manage.  Conflict (CONFLICT): the id exists.
        CompanyInvalid (VALIDATION_FAILED): bad id or empty name.
    """
    require(principal, Permission.USER_MANAGE)
    if uow.identity.company_exists(_check_company_id(company_id)):
        raise Conflict(f"company {company_id!r} exists already", where="company_id", rule="unique", value=company_id)
    _add_company(uow, principal, company_id, name, clock.now())
    uow.commit()


def _add_company(uow: IdentityUnitOfWork, actor: Principal, company_id: str, name: str, now: datetime) -> None:
    clean = name.strip()
    if not 1 <= len(clean) <= 200:
        raise CompanyInvalid("a company name has 1 to 200 characters", where="company_name", rule="length")
    uow.identity.add_company(company_id=_check_company_id(company_id), name=clean, at=now)
    write_audit(uow, actor, "company.create", at=now, object_type="company", object_id=company_id,
                after={"name": clean})


def _check_company_id(company_id: str) -> str:
    if not _COMPANY_ID.fullmatch(company_id):
        raise CompanyInvalid("a company id has 1 to 64 characters from A-Z a-z 0-9 . _ -", where="company_id",
                             rule="company_id_syntax", value=company_id[:80])
    return company_id


def _require_company(uow: IdentityUnitOfWork, company_id: str) -> None:
    if not uow.identity.company_exists(company_id):
        raise NotFound(f"no company {company_id!r}", where="companies", rule="exists", value=company_id)


def list_companies(*, uow: IdentityUnitOfWork, principal: Principal) -> list[tuple[str, str]]:
    """(id, name) of every company the principal may see (all of them with user.read)."""
    rows: list[tuple[str, str]] = uow.identity.list_companies()
    return rows if allowed(principal, Permission.USER_READ) else [r for r in rows if principal.can_see_company(r[0])]


# --- users ------------------------------------------------------------------------------------
def create_user(*, uow: IdentityUnitOfWork, clock: Clock, principal: Principal, username: str, password: str,
                display_name: str, roles: set[Role], companies: set[str],
                approval_limit_minor: int | None = None) -> User:
    """A new user with roles and companies at once, except ADMIN: that becomes a pending grant
    request for a second admin (see `list_grant_requests`).

    Raises:
        Forbidden (FORBIDDEN): not user.manage.  UserExists (USER_EXISTS).
        UsernameInvalid (USERNAME_INVALID), PasswordTooWeak (PASSWORD_TOO_WEAK).
        NotFound (NOT_FOUND): an unknown company.  ApprovalLimitInvalid (AMOUNT_INVALID): negative.
    """
    require(principal, Permission.USER_MANAGE)
    now = clock.now()
    name = normalise_username(username)
    check_password(password, username=name)
    _check_limit(approval_limit_minor)
    for company_id in sorted(companies):
        _require_company(uow, company_id)
    if uow.identity.find_user(name) is not None:
        raise UserExists(f"user {name!r} exists already", where="username", rule="unique", value=name)
    user = User(id=str(uuid.uuid4()), username=name, display_name=display_name.strip()[:200] or name,
                roles=frozenset(roles - {Role.ADMIN}), companies=frozenset(companies),
                approval_limit_minor=approval_limit_minor, disabled=False, totp_enrolled=False,
                password_changed_at=now, created_at=now)
    uow.identity.add_user(user, password_hash=uow.identity.passwords.hash(normalise_password(password)))
    write_audit(uow, principal, "user.create", at=now, object_id=user.id, after=user.as_audit())
    if Role.ADMIN in roles:
        _pending_grant(uow, principal, user.id, Role.ADMIN, now)
    uow.commit()
    return user


def list_users(*, uow: IdentityUnitOfWork, principal: Principal) -> list[User]:
    """Raises: Forbidden (FORBIDDEN): not user.read."""
    require(principal, Permission.USER_READ)
    users: list[User] = uow.identity.list_users()
    return users


def get_user(*, uow: IdentityUnitOfWork, principal: Principal, user_id: str) -> User:
    """One user: anyone may read themself; others need user.read.

    Raises: Forbidden (FORBIDDEN).  UserNotFound (USER_NOT_FOUND).
    """
    if principal.user_id != user_id:
        require(principal, Permission.USER_READ)
    return require_user(uow, user_id)


def set_user_limit(*, uow: IdentityUnitOfWork, clock: Clock, principal: Principal, user_id: str,
                   approval_limit_minor: int | None) -> User:
    """The user's own approval limit (minor units of the reporting currency); None: the role default.

    Raises: Forbidden (FORBIDDEN).  GrantRequiresSecondAdmin: one's own limit.  AMOUNT_INVALID.
    """
    return _change(uow, clock, principal, user_id, "user.limit.set", Permission.USER_MANAGE,
                   lambda u: _with(u, approval_limit_minor=_check_limit(approval_limit_minor)), self_needs_second=True)


def grant_company(*, uow: IdentityUnitOfWork, clock: Clock, principal: Principal, user_id: str,
                  company_id: str) -> User:
    """Let the user see and act for one more company.

    Raises: Forbidden (FORBIDDEN).  NotFound (NOT_FOUND): no such company.  GrantRequiresSecondAdmin: oneself.
    """
    _require_company(uow, company_id)

    def grant(user: User) -> User:
        uow.identity.add_company_grant(user.id, company_id)
        return _with(user, companies=user.companies | {company_id})

    return _change(uow, clock, principal, user_id, "user.company.grant", Permission.USER_MANAGE, grant,
                   self_needs_second=True)


def disable_user(*, uow: IdentityUnitOfWork, clock: Clock, principal: Principal, user_id: str) -> User:
    """Disable the user and end all their sessions at once (their API tokens stop working too).

    Raises: Forbidden (FORBIDDEN): not user.manage, or oneself.  UserNotFound (USER_NOT_FOUND).
    """
    if principal.user_id == user_id:
        raise Forbidden("an admin cannot disable themself", where="user_id", rule="not_self", value=user_id)

    def disable(user: User) -> User:
        uow.identity.end_user_sessions(user.id, at=clock.now(), reason="user_disabled")
        return _with(user, disabled=True)

    return _change(uow, clock, principal, user_id, "user.disable", Permission.USER_MANAGE, disable)


def enable_user(*, uow: IdentityUnitOfWork, clock: Clock, principal: Principal, user_id: str) -> User:
    """Raises: Forbidden (FORBIDDEN).  UserNotFound (USER_NOT_FOUND)."""
    return _change(uow, clock, principal, user_id, "user.enable", Permission.USER_MANAGE,
                   lambda u: _with(u, disabled=False), self_needs_second=True)


def reset_lockout(*, uow: IdentityUnitOfWork, clock: Clock, principal: Principal, user_id: str) -> None:
    """Clear the user's failed sign-in count and lock (PCI 8.3.4: "or until an admin resets").

    Raises: Forbidden (FORBIDDEN).  UserNotFound (USER_NOT_FOUND).
    """
    require(principal, Permission.USER_MANAGE)
    user = require_user(uow, user_id)
    now = clock.now()
    before = uow.identity.failures(user.username)
    uow.identity.clear_failures(user.username)
    write_audit(uow, principal, "user.lockout.reset", at=now, object_id=user.id,
                before={"failures": before.count, "locked": before.is_locked(now)}, after={"failures": 0})
    uow.commit()


def change_password(*, uow: IdentityUnitOfWork, clock: Clock, principal: Principal, current_password: str,
                    new_password: str) -> None:
    """The signed-in user's own password. Every other session of the user ends; this one stays.

    Raises:
        Forbidden (FORBIDDEN): an API token.  NotAuthenticated (NOT_AUTHENTICATED): wrong current
        password (counts toward lockout).  PasswordTooWeak (PASSWORD_TOO_WEAK).
    """
    if principal.token_id is not None or principal.session_id is None:
        raise Forbidden("only a signed-in person changes their password", where="actor", rule="session_only")
    now = clock.now()
    user = require_user(uow, principal.user_id)
    store = uow.identity
    if not store.passwords.verify(store.password_hash(user.id), normalise_password(current_password)):
        raise commit_failure(uow, principal=principal, action="user.password.change", at=now,
                             error=NotAuthenticated("the current password is wrong", where="current_password",
                                                    rule="password"), username=user.username, object_id=user.id)
    check_password(new_password, username=user.username)
    store.set_password(user.id, password_hash=store.passwords.hash(normalise_password(new_password)), changed_at=now)
    store.set_credential_at(principal.session_id, at=now)
    ended = store.end_user_sessions(user.id, at=now, reason="password_changed", except_id=principal.session_id)
    write_audit(uow, principal, "user.password.change", at=now, object_id=user.id,
                reason=f"{ended} other session(s) ended")
    uow.commit()


# --- role grants ------------------------------------------------------------------------------
def request_role_grant(*, uow: IdentityUnitOfWork, clock: Clock, principal: Principal, user_id: str,
                       role: Role) -> GrantRequest:
    """Grant at once, or (a grant to oneself, or of ADMIN) file a request for a second admin.

    Raises: Forbidden (FORBIDDEN): not role.grant.  UserNotFound.  Conflict (CONFLICT): the user has
    the role, or the same request is pending.
    """
    require(principal, Permission.ROLE_GRANT)
    now = clock.now()
    user = require_user(uow, user_id, for_update=True)
    if role in user.roles:
        raise Conflict(f"{user.username} has the role {role.value} already", where="role", rule="not_held",
                       value=role.value)
    if any(g.user_id == user_id and g.role is role for g in uow.identity.list_grants(pending_only=True)):
        raise Conflict(f"a grant of {role.value} to {user.username} is pending already", where="role",
                       rule="one_pending", value=role.value)
    if needs_second_admin(requested_by=principal.user_id, user_id=user_id, role=role):
        request = _pending_grant(uow, principal, user_id, role, now)
    else:
        request = GrantRequest(str(uuid.uuid4()), user_id, role, principal.user_id, now, principal.user_id, now,
                               GrantOutcome.GRANTED)
        uow.identity.add_grant(request)
        uow.identity.add_role(user_id, role)
        write_audit(uow, principal, "role.grant", at=now, object_id=user_id,
                    before={"roles": sorted(r.value for r in user.roles)},
                    after={"roles": sorted(r.value for r in user.roles | {role})}, reason=f"request {request.id}")
    uow.commit()
    return request


def _pending_grant(uow: IdentityUnitOfWork, principal: Principal, user_id: str, role: Role,
                   now: datetime) -> GrantRequest:
    request = GrantRequest(str(uuid.uuid4()), user_id, role, principal.user_id, now, None, None, GrantOutcome.PENDING)
    uow.identity.add_grant(request)
    write_audit(uow, principal, "role.grant.request", at=now, object_type="role_grant_request",
                object_id=request.id, after=request.as_audit(), reason="needs a second admin")
    return request


def approve_role_grant(*, uow: IdentityUnitOfWork, clock: Clock, principal: Principal, request_id: str) -> User:
    """A second admin approves a pending grant; the role is granted.

    Raises:
        Forbidden (FORBIDDEN): not role.grant.  NotFound (NOT_FOUND): no such request.
        Conflict (CONFLICT): decided already.
        GrantRequiresSecondAdmin (GRANT_REQUIRES_SECOND_ADMIN): the approver requested it or receives it.
    """
    require(principal, Permission.ROLE_GRANT)
    now = clock.now()
    request: GrantRequest | None = uow.identity.get_grant(request_id, for_update=True)
    if request is None:
        raise NotFound(f"no role grant request {request_id!r}", where="request_id", rule="exists", value=request_id)
    try:
        check_approver(request, approver_id=principal.user_id)
    except GrantRequiresSecondAdmin as exc:
        raise commit_failure(uow, principal=principal, action="role.grant.approve", at=now, error=exc,
                             object_type="role_grant_request", object_id=request_id) from None
    user = require_user(uow, request.user_id, for_update=True)
    uow.identity.add_role(user.id, request.role)
    uow.identity.save_grant(request.approved(by=principal.user_id, at=now))
    write_audit(uow, principal, "role.grant.approve", at=now, object_type="role_grant_request", object_id=request_id,
                before={"roles": sorted(r.value for r in user.roles)},
                after={"roles": sorted(r.value for r in user.roles | {request.role}), "user_id": user.id})
    uow.commit()
    return require_user(uow, user.id)


def revoke_role(*, uow: IdentityUnitOfWork, clock: Clock, principal: Principal, user_id: str, role: Role) -> User:
    """Take a role away (effective at the user's next request). The last active admin keeps ADMIN.

    Raises: Forbidden (FORBIDDEN).  UserNotFound.  Conflict (CONFLICT): role not held, or the last admin.
    """
    require(principal, Permission.ROLE_GRANT)
    now = clock.now()
    user = require_user(uow, user_id, for_update=True)
    if role not in user.roles:
        raise Conflict(f"{user.username} does not have the role {role.value}", where="role", rule="held",
                       value=role.value)
    if role is Role.ADMIN and not any(u.id != user_id and Role.ADMIN in u.roles and not u.disabled
                                      for u in uow.identity.list_users()):
        raise Conflict("the last active admin keeps the admin role", where="role", rule="last_admin", value=role.value)
    uow.identity.remove_role(user_id, role)
    write_audit(uow, principal, "role.revoke", at=now, object_id=user_id,
                before={"roles": sorted(r.value for r in user.roles)},
                after={"roles": sorted(r.value for r in user.roles - {role})})
    uow.commit()
    VERIFIED_TOKENS.forget(user_id=user_id)
    return require_user(uow, user_id)


def list_grant_requests(*, uow: IdentityUnitOfWork, principal: Principal,
                        pending_only: bool = True) -> list[GrantRequest]:
    """Raises: Forbidden (FORBIDDEN): not user.read."""
    require(principal, Permission.USER_READ)
    grants: list[GrantRequest] = uow.identity.list_grants(pending_only=pending_only)
    return grants


# --- helpers ------------------------------------------------------------------------------------
def _check_limit(limit: int | None) -> int | None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ApprovalLimitInvalid("an approval limit is a whole number of minor units, zero or more",
                                   where="approval_limit_minor", rule="non_negative_integer", value=limit)
    return limit


def _with(user: User, **changes: object) -> User:
    return replace(user, **changes)  # type: ignore[arg-type]


def _change(uow: IdentityUnitOfWork, clock: Clock, principal: Principal, user_id: str, action: str,
            permission: Permission, apply: Callable[[User], User], *, self_needs_second: bool = False) -> User:
    """Load the user under lock, apply one change, write it, audit before/after, commit."""
    require(principal, permission)
    now = clock.now()
    if self_needs_second and principal.user_id == user_id:
        raise commit_failure(uow, principal=principal, action=action, at=now, object_id=user_id,
                             error=GrantRequiresSecondAdmin("a change to one's own access needs a second admin",
                                                            where="user_id", rule="second_admin", value=user_id))
    user = require_user(uow, user_id, for_update=True)
    changed: User = apply(user)
    uow.identity.update_user(changed)
    write_audit(uow, principal, action, at=now, object_id=user_id, before=user.as_audit(), after=changed.as_audit())
    uow.commit()
    VERIFIED_TOKENS.forget(user_id=user_id)  # a disabled or changed owner's tokens: at once in this process
    return changed
