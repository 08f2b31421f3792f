"""Account lockout after repeated failed sign-ins (PCI DSS 8.3.4, ASVS 6.3).

Ten consecutive failures of either factor (password or TOTP code) lock the username for thirty
minutes, or until an administrator resets it. Counting is per username and works the same whether
or not the user exists, so neither the response nor its timing tells an attacker which usernames
are real (ASVS 6.3.8). A success resets the count. Attempts while locked are refused without
checking the password and do not extend the lock (an attacker could otherwise keep a real user
out for ever by knocking every few minutes).

>>> from datetime import UTC, datetime
>>> t = datetime(2030, 1, 1, tzinfo=UTC)
>>> f = LoginFailures.none("alice")
>>> for _ in range(MAX_FAILURES):
...     f = f.after_failure(t)
>>> f.is_locked(t), f.is_locked(t + LOCK_DURATION)
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

__all__ = ["LOCK_DURATION", "MAX_FAILURES", "LoginFailures"]

MAX_FAILURES = 10
LOCK_DURATION = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class LoginFailures:
    username: str  # the lockout key: the normalised username as typed, real or not
    count: int
    locked_until: datetime | None
    last_failure_at: datetime | None

    @classmethod
    def none(cls, username: str) -> LoginFailures:
        return cls(username=username, count=0, locked_until=None, last_failure_at=None)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def after_failure(self, now: datetime) -> LoginFailures:
        """One more failure; the tenth in a row locks. A lock that has run out starts a new count."""
        if self.is_locked(now):
            return replace(self, last_failure_at=now)
        count = 1 if self.locked_until is not None else self.count + 1
        locked_until = now + LOCK_DURATION if count >= MAX_FAILURES else None
        return LoginFailures(self.username, count, locked_until, now)
