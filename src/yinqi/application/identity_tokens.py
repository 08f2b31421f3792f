"""API tokens for ERP clients: issue (shown once), authenticate, revoke, list.

Only the SHA-256 of a token is stored: a token carries 256 random bits, so a fast hash is as good
as a slow one against guessing, and a stolen table yields nothing usable. The comparison is
constant-time. A token's principal is rebuilt from its owner at every request. The API's hot path
(`verify_token`) keeps a verified token and its owner for a few seconds (`VerifiedTokens`), so most
requests make no query at all: a revoke, a disable or a role change made in this process takes
effect at once (the cache is cleared), one made in another process within `TOKEN_CACHE_TTL` at most.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from yinqi.application.identity_base import IdentityUnitOfWork, principal_of, require_user, sha256_hex, write_audit
from yinqi.application.ports import Clock
from yinqi.domain.identity.permissions import Permission, allowed, require
from yinqi.domain.identity.principal import Channel, Forbidden, NotAuthenticated, Principal
from yinqi.domain.identity.tokens import ApiToken, check_companies, check_scopes, format_token, parse_token
from yinqi.domain.problems import Conflict, NotFound, Problem, ValidationFailed

__all__ = ["TOKEN_CACHE_TTL", "VERIFIED_TOKENS", "IssuedToken", "VerifiedTokens", "authenticate_token",
           "issue_token", "list_tokens", "revoke_token", "verify_token"]

LAST_USED_GRANULARITY = timedelta(minutes=1)  # at most one write per token per minute on the hot path
TOKEN_CACHE_TTL = timedelta(seconds=5)
TOKEN_CACHE_MAX = 10_000
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
    token, owner = _look_up(uow, secret)
    now = clock.now()
    if _use_due(token.last_used_at, now):
        uow.identity.touch_token(token.id, at=now)
        uow.commit()
    return _principal(token, owner, source_address)


def verify_token(*, read_uow: Callable[[], Any], write_uow: Callable[[], Any], clock: Clock, secret: str,
                 source_address: str, cache: VerifiedTokens | None = None) -> Principal:
    """`authenticate_token` for the API's hot path: from the cache of verified tokens when it can
    (no query), else looked up in a read-only unit of work (`read_uow`, which on SQLite does not
    wait for the write lock); the last-use time (ADR 0009), at most once a minute, is written in a
    unit of work of its own (`write_uow`), never in the lookup's.

    Raises:
        NotAuthenticated (NOT_AUTHENTICATED): as `authenticate_token`.
    """
    cache = VERIFIED_TOKENS if cache is None else cache
    now = clock.now()
    parsed = parse_token(secret)
    digest = sha256_hex(secret.strip())
    hit = cache.get(parsed.token_id, digest, now=now)
    if hit is None:
        with read_uow() as uow:
            token, owner = _look_up(uow, secret)
        hit = cache.put(token, owner, digest, now=now)
    token, owner, last_used = hit
    if _use_due(last_used, now) and cache.claim_touch(token.id, now=now):
        with write_uow() as uow:
            uow.identity.touch_token(token.id, at=now)
            uow.commit()
    return _principal(token, owner, source_address)


def _look_up(uow: IdentityUnitOfWork, secret: str) -> tuple[ApiToken, Any]:
    parsed = parse_token(secret)
    found: tuple[ApiToken, str] | None = uow.identity.get_token(parsed.token_id)
    digest = sha256_hex(secret.strip())
    if found is None or not hmac.compare_digest(found[1], digest) or found[0].revoked:
        raise NotAuthenticated(_INVALID, where="authorization", rule="api_token")
    token = found[0]
    owner = uow.identity.get_user(token.user_id)
    if owner is None or owner.disabled:
        raise NotAuthenticated(_INVALID, where="authorization", rule="api_token")
    return token, owner


def _use_due(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or now - last_used_at >= LAST_USED_GRANULARITY


def _principal(token: ApiToken, owner: Any, source_address: str) -> Principal:
    return principal_of(owner, channel=Channel.API, source_address=source_address, token_id=token.id,
                        scopes=token.scopes, companies=token.companies & owner.companies)


class VerifiedTokens:
    """Tokens verified in the last `ttl` (by token id and the SHA-256 of the whole secret, so only
    the exact secret that was checked hits), each with its owner as read then and its last-use time.

    The price of the cache: a token revoked, or an owner disabled or changed, in ANOTHER process
    (another hub, the CLI) keeps working here for at most `ttl` (5 s). In this process `forget`
    runs on every revoke (`revoke_token`) and every change to a user (`identity_admin`), so those
    take effect at once. Bounded: when full, the cache is emptied rather than grown."""

    def __init__(self, ttl: timedelta = TOKEN_CACHE_TTL, max_entries: int = TOKEN_CACHE_MAX) -> None:
        self.ttl, self.max_entries = ttl, max_entries
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, ApiToken, Any, datetime | None, datetime]] = {}

    def get(self, token_id: str, digest: str, *, now: datetime) -> tuple[ApiToken, Any, datetime | None] | None:
        with self._lock:
            entry = self._entries.get(token_id)
            if entry is None:
                return None
            stored_digest, token, owner, last_used, expires = entry
            if now >= expires or now < expires - self.ttl:  # expired, or the clock went back
                del self._entries[token_id]
                return None
        return (token, owner, last_used) if hmac.compare_digest(stored_digest, digest) else None

    def put(self, token: ApiToken, owner: Any, digest: str, *, now: datetime) -> tuple[ApiToken, Any, datetime | None]:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[token.id] = (digest, token, owner, token.last_used_at, now + self.ttl)
        return token, owner, token.last_used_at

    def claim_touch(self, token_id: str, *, now: datetime) -> bool:
        """True for the one caller that is to write the last-use time now (the others see it done)."""
        with self._lock:
            entry = self._entries.get(token_id)
            if entry is not None:
                if not _use_due(entry[3], now):
                    return False
                self._entries[token_id] = (*entry[:3], now, entry[4])
        return True

    def forget(self, *, token_id: str | None = None, user_id: str | None = None) -> None:
        """Drop one token, every token of one user, or (neither given) everything."""
        with self._lock:
            if token_id is None and user_id is None:
                self._entries.clear()
            for key, entry in list(self._entries.items()):
                if key == token_id or entry[1].user_id == user_id:
                    del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


VERIFIED_TOKENS = VerifiedTokens()  # the process's cache, used by `verify_token`


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
    VERIFIED_TOKENS.forget(token_id=token_id)


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
