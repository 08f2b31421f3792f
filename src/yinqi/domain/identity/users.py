"""Users and the rules their names and passwords follow.

A username is the stable, human-typed handle: normalised to lower case so "Alice" and "alice"
can never be two accounts, and limited to `[a-z0-9._-]{3,64}` so it is safe in URLs, logs and
audit events. Passwords follow ASVS 6.2: at least 12 characters, at most 256, any characters (no
composition rules), never the username. Passwords are compared after NFKC normalisation so the same
password typed on two keyboards (composed or decomposed accents, full-width digits) is the same.

>>> normalise_username("  Alice.Ops ")
'alice.ops'
>>> normalise_username("al")
Traceback (most recent call last):
...
yinqi.domain.identity.users.UsernameInvalid: a username has 3 to 64 characters from a-z 0-9 . _ -
>>> check_password("correct horse battery", username="alice")
>>> check_password("short", username="alice")
Traceback (most recent call last):
...
yinqi.domain.identity.users.PasswordTooWeak: a password has at least 12 characters
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime

from yinqi.domain.identity.principal import Role
from yinqi.domain.problems import DomainError

__all__ = ["PASSWORD_MAX", "PASSWORD_MIN", "AccountDisabled", "PasswordTooWeak", "User", "UserExists",
           "UserNotFound", "UsernameInvalid", "check_password", "normalise_password", "normalise_username"]

PASSWORD_MIN = 12   # ASVS 6.2.1
PASSWORD_MAX = 256  # long passphrases allowed (ASVS 6.2.9 asks for at least 64); bounds the hashing work
_USERNAME = re.compile(r"[a-z0-9._-]{3,64}")


class UsernameInvalid(DomainError):
    code = "USERNAME_INVALID"


class PasswordTooWeak(DomainError):
    code = "PASSWORD_TOO_WEAK"


class UserExists(DomainError):
    code = "USER_EXISTS"


class UserNotFound(DomainError):
    code = "USER_NOT_FOUND"


class AccountDisabled(DomainError):
    """The password was right but an administrator disabled the account (HTTP 401)."""

    code = "ACCOUNT_DISABLED"


def normalise_username(raw: str) -> str:
    """The canonical form of a username.

    Raises:
        UsernameInvalid (USERNAME_INVALID): not 3-64 characters from [a-z0-9._-] after lower-casing.
    """
    name = raw.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise UsernameInvalid("a username has 3 to 64 characters from a-z 0-9 . _ -", where="username",
                              rule="username_syntax", value=raw[:80])
    return name


def normalise_password(password: str) -> str:
    """NFKC, so equivalent ways of typing one password hash alike (RFC 8265 OpaqueString spirit)."""
    return unicodedata.normalize("NFKC", password)


def check_password(password: str, *, username: str) -> None:
    """A new password's rules. The value is never echoed back in the error.

    Raises:
        PasswordTooWeak (PASSWORD_TOO_WEAK): shorter than 12, longer than 256, or the username.
    """
    pw = normalise_password(password)
    if len(pw) < PASSWORD_MIN:
        raise PasswordTooWeak(f"a password has at least {PASSWORD_MIN} characters", where="password",
                              rule="min_length")
    if len(pw) > PASSWORD_MAX:
        raise PasswordTooWeak(f"a password has at most {PASSWORD_MAX} characters", where="password",
                              rule="max_length")
    if pw.strip().casefold() == username.strip().casefold():
        raise PasswordTooWeak("the password must not be the username", where="password", rule="not_username")


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    display_name: str
    roles: frozenset[Role]
    companies: frozenset[str]
    approval_limit_minor: int | None  # None: the role default applies
    disabled: bool
    totp_enrolled: bool
    password_changed_at: datetime
    created_at: datetime

    def with_roles(self, roles: frozenset[Role]) -> User:
        return replace(self, roles=roles)

    def as_audit(self) -> dict[str, object]:
        """What the audit trail records of a user: never a secret."""
        return {"username": self.username, "display_name": self.display_name,
                "roles": sorted(r.value for r in self.roles), "companies": sorted(self.companies),
                "approval_limit_minor": self.approval_limit_minor, "disabled": self.disabled,
                "totp_enrolled": self.totp_enrolled}
