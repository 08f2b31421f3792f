"""What the identity use cases share: their ports, the principal built from a user, the audit
helper, and failure counting toward lockout.

Failures that must outlive the refused request (a wrong password, a wrong TOTP code, a grant
refused for want of a second admin) are written and committed by `commit_failure` before the
error is raised: the counter and the audit event are then the only writes in the transaction.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Protocol

from yinqi.application import audit
from yinqi.domain.identity.lockout import LoginFailures
from yinqi.domain.identity.principal import Channel, Principal
from yinqi.domain.identity.users import User, UserNotFound, normalise_username
from yinqi.domain.problems import DomainError

__all__ = ["IdentityUnitOfWork", "PasswordHasher", "TotpCodes", "anonymous", "commit_failure", "lockout_key",
           "principal_of", "require_user", "sha256_hex", "write_audit"]

WRONG_CREDENTIALS = "wrong username or password"


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, encoded: str, password: str) -> bool: ...
    def needs_rehash(self, encoded: str) -> bool: ...


class TotpCodes(Protocol):
    digits: int
    period: int

    def new_secret(self) -> str: ...
    def codes(self, secret: str, steps: list[int]) -> dict[int, str]: ...
    def provisioning_uri(self, secret: str, *, username: str) -> str: ...
    def seal(self, secret: str, *, user_id: str) -> str: ...
    def open(self, blob: str, *, user_id: str) -> str: ...


class IdentityUnitOfWork(Protocol):
    """The unit of work the identity use cases need: `identity` is `SqlIdentityStore` (its methods
    are the storage port; see `yinqi.adapters.db.identity_store`), `audit` the audit log."""

    @property
    def identity(self) -> Any: ...
    @property
    def audit(self) -> Any: ...
    def commit(self) -> None: ...


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def lockout_key(username: str) -> str:
    """The failure counter's key: the normalised username, or a digest of anything that cannot be
    a username (so it is counted all the same, and junk never lands in the table verbatim)."""
    try:
        return normalise_username(username)
    except DomainError:
        return "invalid:" + sha256_hex(username.strip().lower())[:32]


def anonymous(source_address: str, channel: Channel = Channel.CONSOLE) -> Principal:
    """The actor of an attempt nobody has authenticated (a failed sign-in)."""
    return Principal(user_id="anonymous", username="anonymous", roles=frozenset(), companies=frozenset(),
                     channel=channel, source_address=source_address)


def principal_of(user: User, *, channel: Channel, source_address: str = "", session_id: str | None = None,
                 token_id: str | None = None, scopes: frozenset[str] | None = None,
                 step_up_at: datetime | None = None, companies: frozenset[str] | None = None) -> Principal:
    return Principal(user_id=user.id, username=user.username, roles=user.roles,
                     companies=user.companies if companies is None else companies, channel=channel,
                     source_address=source_address, session_id=session_id, token_id=token_id, scopes=scopes,
                     step_up_at=step_up_at, approval_limit_minor=user.approval_limit_minor)


def require_user(uow: IdentityUnitOfWork, user_id: str, *, for_update: bool = False) -> User:
    """Raises:
        UserNotFound (USER_NOT_FOUND): no user has this id.
    """
    user: User | None = uow.identity.get_user(user_id, for_update=for_update)
    if user is None:
        raise UserNotFound(f"no user {user_id!r}", where="user_id", rule="exists", value=user_id)
    return user


def write_audit(uow: IdentityUnitOfWork, principal: Principal, action: str, *, at: datetime, object_type: str = "user",
                object_id: str | None = None, outcome: str = "success", before: dict[str, Any] | None = None,
                after: dict[str, Any] | None = None, reason: str = "") -> None:
    audit.record(uow, principal=principal, action=action, object_type=object_type, object_id=object_id, at=at,
                 outcome=outcome, before=before, after=after, reason=reason)


def commit_failure(uow: IdentityUnitOfWork, *, principal: Principal, action: str, at: datetime, error: DomainError,
                   username: str | None = None, object_type: str = "user", object_id: str | None = None,
                   detail: str = "") -> DomainError:
    """Count a failed factor toward `username`'s lockout (when given), audit the failure (and the
    lock it sets), commit, and hand back `error` for the caller to raise."""
    reason = f"{error.code}: {detail or error.message}"
    if username is not None:
        before: LoginFailures = uow.identity.lock_failures(username)
        after = before.after_failure(at)
        uow.identity.save_failures(after)
        reason += f" (consecutive failures: {after.count})"
        if after.is_locked(at) and not before.is_locked(at):
            write_audit(uow, principal, "user.locked", at=at, object_type=object_type, object_id=object_id,
                        outcome="success", after={"locked_until": after.locked_until.isoformat()
                                                  if after.locked_until else None, "failures": after.count},
                        reason=f"{after.count} consecutive sign-in failures")
    write_audit(uow, principal, action, at=at, object_type=object_type, object_id=object_id,
                outcome="denied" if error.code in _DENIALS else "failed", reason=reason)
    uow.commit()
    return error


_DENIALS = frozenset({"FORBIDDEN", "GRANT_REQUIRES_SECOND_ADMIN"})
