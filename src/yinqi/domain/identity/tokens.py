"""API tokens for ERP clients: format, scopes and what they may see.

A token is `yq_<id>_<secret>`: the id (16 hex) names the stored row so a lookup needs no scan,
the secret (43 URL-safe base64 characters, 256 random bits) is what proves possession. The hub
stores only the SHA-256 of the whole token and shows the token once. The `yq_` prefix makes a
leaked token easy to find with secret scanners.

A token acts as its owner, narrowed: its scopes (permission names) must be a subset of what the
owner's roles allow, and its companies a subset of the owner's. When the owner later loses a role
or a company, the token loses it too (the principal is rebuilt from the owner at each request).

>>> t = parse_token("yq_0123456789abcdef_" + "A" * 43)
>>> t.token_id
'0123456789abcdef'
>>> parse_token("yq_nothex_x")
Traceback (most recent call last):
...
yinqi.domain.identity.principal.NotAuthenticated: not a valid API token
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from yinqi.domain.identity.permissions import PERMISSIONS, Permission
from yinqi.domain.identity.principal import NotAuthenticated, Role
from yinqi.domain.problems import DomainError

__all__ = ["TOKEN_PREFIX", "ApiToken", "ParsedToken", "TokenScopeInvalid", "check_companies", "check_scopes",
           "format_token", "parse_token", "role_permissions"]

TOKEN_PREFIX = "yq_"
_TOKEN = re.compile(r"yq_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


class TokenScopeInvalid(DomainError):
    code = "TOKEN_SCOPE_INVALID"


@dataclass(frozen=True, slots=True)
class ParsedToken:
    token_id: str
    secret: str


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str
    user_id: str
    name: str
    scopes: frozenset[str]
    companies: frozenset[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def format_token(token_id: str, secret: str) -> str:
    return f"{TOKEN_PREFIX}{token_id}_{secret}"


def parse_token(raw: str) -> ParsedToken:
    """Raises:
        NotAuthenticated (NOT_AUTHENTICATED): not of the form yq_<16 hex>_<43 base64url>.
    """
    match = _TOKEN.fullmatch(raw.strip()) if len(raw) <= 128 else None
    if match is None:
        raise NotAuthenticated("not a valid API token", where="authorization", rule="token_format")
    return ParsedToken(match.group(1), match.group(2))


def role_permissions(roles: Iterable[Role]) -> frozenset[Permission]:
    return frozenset(p for role in roles for p in PERMISSIONS[role])


def check_scopes(scopes: Iterable[str], *, owner_roles: Iterable[Role]) -> frozenset[str]:
    """The scopes, if each is a permission the owner holds.

    Raises:
        TokenScopeInvalid (TOKEN_SCOPE_INVALID): empty, unknown, or beyond the owner's permissions.
    """
    wanted = frozenset(s.strip() for s in scopes)
    if not wanted:
        raise TokenScopeInvalid("a token needs at least one scope", where="scopes", rule="not_empty")
    known = {p.value for p in Permission}
    held = {p.value for p in role_permissions(owner_roles)}
    for scope in sorted(wanted):
        if scope not in known:
            raise TokenScopeInvalid(f"unknown scope {scope!r}", where="scopes", rule="known_permission",
                                    value=scope)
        if scope not in held:
            raise TokenScopeInvalid(f"the owner's roles do not allow {scope!r}", where="scopes",
                                    rule="subset_of_owner", value=scope)
    return wanted


def check_companies(companies: Iterable[str], *, owner_companies: frozenset[str]) -> frozenset[str]:
    """Raises:
        TokenScopeInvalid (TOKEN_SCOPE_INVALID): empty, or a company not granted to the owner.
    """
    wanted = frozenset(c.strip() for c in companies)
    if not wanted:
        raise TokenScopeInvalid("a token needs at least one company", where="companies", rule="not_empty")
    outside = sorted(wanted - owner_companies)
    if outside:
        raise TokenScopeInvalid(f"the owner has no access to company {outside[0]!r}", where="companies",
                                rule="subset_of_owner", value=outside[0])
    return wanted
