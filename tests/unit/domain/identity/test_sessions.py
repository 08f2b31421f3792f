"""Session validity: idle, absolute, pending second factor, logout, disable, password change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from yinqi.domain.identity.sessions import (
    ABSOLUTE_LIFETIME,
    IDLE_TIMEOUT,
    PENDING_LIFETIME,
    Session,
    SessionState,
)

T = datetime(2030, 1, 1, tzinfo=UTC)


def _session(state: SessionState = SessionState.AUTHENTICATED, **kw: object) -> Session:
    values: dict[str, object] = {"id": "h", "user_id": "u", "state": state, "created_at": T, "last_seen_at": T,
                                 "step_up_at": None, "source_address": "", "ended_at": None, "end_reason": "",
                                 "credential_at": T}
    values.update(kw)
    return Session(**values)  # type: ignore[arg-type]


def _problem(s: Session, now: datetime, *, disabled: bool = False, changed: datetime = T) -> str | None:
    return s.problem(now=now, user_disabled=disabled, password_changed_at=changed)


@pytest.mark.parametrize(("session", "now", "expected"), [
    (_session(), T + IDLE_TIMEOUT, None),
    (_session(), T + IDLE_TIMEOUT + timedelta(seconds=1), "idle_timeout"),
    (_session(last_seen_at=T + ABSOLUTE_LIFETIME), T + ABSOLUTE_LIFETIME + timedelta(seconds=1), "absolute_lifetime"),
    (_session(SessionState.PASSWORD_OK, last_seen_at=T + PENDING_LIFETIME),
     T + PENDING_LIFETIME + timedelta(seconds=1), "second_factor_timeout"),
    (_session(ended_at=T, end_reason="logout"), T, "ended:logout"),
])
def test_session_validity(session: Session, now: datetime, expected: str | None) -> None:
    assert _problem(session, now) == expected


def test_disable_and_a_later_password_change_end_a_session() -> None:
    assert _problem(_session(), T, disabled=True) == "user_disabled"
    assert _problem(_session(), T, changed=T + timedelta(seconds=1)) == "password_changed"


def test_rotation_keeps_the_sign_in_time_so_it_never_extends_the_lifetime() -> None:
    pending = _session(SessionState.PASSWORD_OK)
    rotated = pending.rotated(new_id="h2", now=T + timedelta(minutes=2))
    assert (rotated.id, rotated.state, rotated.created_at, rotated.step_up_at) == (
        "h2", SessionState.AUTHENTICATED, T, T + timedelta(minutes=2))
