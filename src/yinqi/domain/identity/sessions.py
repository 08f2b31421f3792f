"""Console session lifecycle (ASVS 7, R16).

A session starts when the password is right (`password_ok`): it can do nothing but finish the
second factor (verify a TOTP code, or enrol one first) within `PENDING_LIFETIME`. Full
authentication moves it to `authenticated` under a NEW session id (rotation on privilege change,
so a session id seen before sign-in is worthless after it). An authenticated session dies after
15 minutes without use (idle), 8 hours after sign-in whatever happens (absolute), at logout, when
the user is disabled, and when the password changes (except the session that changed it).

Only a SHA-256 of the session token is ever stored, so a database leak yields no usable cookie.
`created_at` is the sign-in time and survives rotation, so rotation never extends the lifetime.

>>> from datetime import UTC, datetime, timedelta
>>> t = datetime(2030, 1, 1, tzinfo=UTC)
>>> s = Session("h", "u1", SessionState.AUTHENTICATED, t, t, None, "", None, "", t)
>>> s.problem(now=t + timedelta(minutes=14), user_disabled=False, password_changed_at=t) is None
True
>>> s.problem(now=t + timedelta(minutes=16), user_disabled=False, password_changed_at=t)
'idle_timeout'
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = ["ABSOLUTE_LIFETIME", "IDLE_TIMEOUT", "PENDING_LIFETIME", "Session", "SessionState"]

IDLE_TIMEOUT = timedelta(minutes=15)
ABSOLUTE_LIFETIME = timedelta(hours=8)
PENDING_LIFETIME = timedelta(minutes=10)  # time to type a code or enrol an authenticator app


class SessionState(StrEnum):
    PASSWORD_OK = "password_ok"      # first factor done; needs TOTP (or enrolment)
    AUTHENTICATED = "authenticated"  # both factors done


@dataclass(frozen=True, slots=True)
class Session:
    id: str  # SHA-256 hex of the session token
    user_id: str
    state: SessionState
    created_at: datetime     # sign-in time; kept across rotation
    last_seen_at: datetime
    step_up_at: datetime | None
    source_address: str
    ended_at: datetime | None
    end_reason: str
    credential_at: datetime  # when this session last proved the password (sign-in or password change)

    def problem(self, *, now: datetime, user_disabled: bool, password_changed_at: datetime) -> str | None:
        """Why this session may no longer be used, or None while it is valid (either state)."""
        if self.ended_at is not None:
            return f"ended:{self.end_reason or 'logout'}"
        if user_disabled:
            return "user_disabled"
        if password_changed_at > self.credential_at:
            return "password_changed"
        if now - self.created_at > ABSOLUTE_LIFETIME:
            return "absolute_lifetime"
        if now - self.last_seen_at > IDLE_TIMEOUT:
            return "idle_timeout"
        if self.state is SessionState.PASSWORD_OK and now - self.created_at > PENDING_LIFETIME:
            return "second_factor_timeout"
        return None

    def rotated(self, *, new_id: str, now: datetime) -> Session:
        """The authenticated successor under a new id; sign-in time and source carry over."""
        return replace(self, id=new_id, state=SessionState.AUTHENTICATED, last_seen_at=now, step_up_at=now,
                       ended_at=None, end_reason="")
