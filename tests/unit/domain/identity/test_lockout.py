"""The lockout counter: ten in a row lock for thirty minutes; a run-out lock starts a new count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from yinqi.domain.identity.lockout import LOCK_DURATION, MAX_FAILURES, LoginFailures

T = datetime(2030, 1, 1, tzinfo=UTC)


def _fail(times: int, at: datetime = T, start: LoginFailures | None = None) -> LoginFailures:
    f = start or LoginFailures.none("olivia")
    for _ in range(times):
        f = f.after_failure(at)
    return f


def test_nine_failures_do_not_lock_and_the_tenth_does() -> None:
    assert not _fail(MAX_FAILURES - 1).is_locked(T)
    locked = _fail(MAX_FAILURES)
    assert locked.is_locked(T) and locked.locked_until == T + LOCK_DURATION
    assert timedelta(minutes=30) <= LOCK_DURATION


def test_failures_while_locked_do_not_extend_the_lock() -> None:
    locked = _fail(MAX_FAILURES)
    later = _fail(5, at=T + timedelta(minutes=20), start=locked)
    assert later.locked_until == T + LOCK_DURATION


def test_after_the_lock_runs_out_counting_starts_again() -> None:
    after = _fail(1, at=T + LOCK_DURATION, start=_fail(MAX_FAILURES))
    assert after.count == 1 and not after.is_locked(T + LOCK_DURATION)
