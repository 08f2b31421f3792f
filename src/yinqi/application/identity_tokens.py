"""API tokens for ERP clients: issue (shown once), authenticate, revoke, list.

Only the SHA-256 of a token is stored: a token carries 256 random bits, so a fast hash is as good
as a slow one against guessing, and a stolen table yields nothing usable. The comparison is
constant-time. A token's principal is rebuilt from its owner at every request: a disabled owner,
a revoked token, or a role the owner lost takes effect at once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from yinqi.application.identity_base import IdentityUnitOfWork, principal_of, require_user, sha256_hex, write_audit
from yinqi.application.ports import Clock
from yinqi.domain.identity.permissions import Permission, allowed, require
from yinqi.domain.identity.principal import Channel, Forbidden, NotAuthenticated, Principal
from yinqi.domain.identity.tokens import ApiToken, check_companies, check_scopes, format_token, parse_token
from yinqi.domain.problems import Conflict, NotFound, Problem, ValidationFailed

__all__ = ["IssuedToken", "authenticate_token", "issue_token", "list_tokens", "revoke_token"]

LAST_USED_GRANULARITY = timedelta(minutes=1)  # at most one write per token per minute on the hot path
_INVALID = "invalid or revoked API token"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token_id: str
    secret: str = field(repr=False)  # the whole `yq_<id>_<secret>` the client sends; shown once, never stored


def issue_token(*, uow: IdentityUnitOfWork, clock: Clock, principal: Principal, user_id: str, name: str,
                scopes: set[str], companies: set[str]) -> IssuedToken:
    """A new API token acting as `user_id`, narrowed to `scopes` and `companies`.

    Raises:
        Forbidden (FORBIDDEN): an API token cannot issue tokens; someone else's needs token.manage.
        UserNotFound (USER_NOT_FOUND).  Conflict (CONFLICT): the owner is disabled.
        TokenScopeInvalid (TOKEN_SCOPE_INVALID): a scope or company beyond the owner's.
        ValidationFailed (VALIDATION_FAILED): a name that is empty or over 100 characters.
    """
    _require_person(principal)
    if principal.user_id != user_id:
        require(principal, Permission.TOKEN_MANAGE)
    owner = require_user(uow, user_id)
    if owner.disabled:
        raise Conflict(f"user {owner.username} is disabled", where="user_id", rule="active", value=user_id)
    label = name.strip()
    if not 1 <= len(label) <= 100:
        raise ValidationFailed([Problem("FIELD_INVALID", "a token name has 1 to 100 characters", "name", "length")])
    now = clock.now()
    token = ApiToken(id=secrets.token_hex(8), user_id=owner.id, name=label,
                     scopes=check_scopes(scopes, owner_roles=owner.roles),
                     companies=check_companies(companies, owner_companies=owner.companies),
                     created_at=now, last_used_at=None, revoked_at=None)
    full = format_token(token.id, secrets.token_urlsafe(32))
    uow.identity.add_token(token, secret_hash=sha256_hex(full))
    write_audit(uow, principal, "token.issue", at=now, object_type="api_token", object_id=token.id,
                after={"name": label, "owner": owner.username, "scopes": sorted(token.scopes),
                       "companies": sorted(token.companies)})
    uow.commit()
    return IssuedToken(token_id=token.id, secret=full)


def authenticate_token(*, uow: IdentityUnitOfWork, clock: Clock, secret: str, source_address: str) -> Principal:
    """The principal a bearer token stands for (channel API, scopes set).

    Raises:
        NotAuthenticated (NOT_AUTHENTICATED): malformed, unknown, wrong secret, revoked, owner disabled
        (one message for all, so the answer does not tell which).
    """
    parsed = parse_token(secret)
    found: tuple[ApiToken, str] | None = uow.identity.get_token(parsed.token_id)
    digest = sha256_hex(secret.strip())
    if found is None or not hmac.compare_digest(found[1], digest) or found[0].revoked:
        raise NotAuthenticated(_INVALID, where="authorization", rule="api_token")
    token = found[0]
    owner = uow.identity.get_user(token.user_id)
    if owner is None or owner.disabled:
        raise NotAuthenticated(_INVALID, where="authorization", rule="api_token")
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
        uow.identity.touch_token(token.id, at=now)
        uow.commit()
    return principal_of(owner, channel=Channel.API, source_address=source_address, token_id=token.id,
                        scopes=token.scopes, companies=token.companies & owner.companies)


def revoke_token(*, uow: IdentityUnitOfWork, clock: Clock, principal: Principal, token_id: str) -> None:
    """Raises:
        Forbidden (FORBIDDEN): someone else's token without token.manage, or acting with a token.
        NotFound (NOT_FOUND).  Conflict (CONFLICT): revoked already.
    """
    _require_person(principal)
    found: tuple[ApiToken, str] | None = uow.identity.get_token(token_id)
    if found is None:
        raise NotFound(f"no API token {token_id!r}", where="token_id", rule="exists", value=token_id)
    if found[0].user_id != principal.user_id:
        require(principal, Permission.TOKEN_MANAGE)
    now = clock.now()
    if not uow.identity.revoke_token(token_id, at=now):
        raise Conflict(f"API token {token_id} is revoked already", where="token_id", rule="active", value=token_id)
    write_audit(uow, principal, "token.revoke", at=now, object_type="api_token", object_id=token_id,
                before={"name": found[0].name, "owner_id": found[0].user_id})
    uow.commit()


def list_tokens(*, uow: IdentityUnitOfWork, principal: Principal, user_id: str | None = None) -> list[ApiToken]:
    """Tokens (never their secrets): one's own, or with token.manage anyone's (all when user_id is None)."""
    if allowed(principal, Permission.TOKEN_MANAGE):
        tokens: list[ApiToken] = uow.identity.list_tokens(user_id)
        return tokens
    if user_id not in (None, principal.user_id):
        require(principal, Permission.TOKEN_MANAGE)
    own: list[ApiToken] = uow.identity.list_tokens(principal.user_id)
    return own


def _require_person(principal: Principal) -> None:
    if principal.token_id is not None:
        raise Forbidden("API tokens cannot manage API tokens", where="actor", rule="person_only")
