"""When a TOTP code is accepted (RFC 6238, ASVS 6.5).

The adapter computes the codes (HOTP over the shared secret); this module decides. A code is
accepted when it equals the code of the current time step or of one step either side (±30 s of
clock skew, no more), and only if that step is later than the last step accepted for the user:
storing the last accepted step makes every code single-use, and also refuses an older code once a
newer one was used (ASVS 6.5.1). Comparison is constant-time.

>>> accept_code("123456", {100: "111111", 101: "123456", 102: "222222"}, last_used_step=None)
101
>>> accept_code("123456", {100: "111111", 101: "123456", 102: "222222"}, last_used_step=101)
Traceback (most recent call last):
...
yinqi.domain.identity.totp.TotpReplayed: this code was already used; wait for the next one
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import datetime

from yinqi.domain.problems import DomainError

__all__ = ["PERIOD_SECONDS", "WINDOW_STEPS", "TotpInvalid", "TotpNotEnrolled", "TotpReplayed", "accept_code",
           "candidate_steps", "normalise_code", "time_step"]

PERIOD_SECONDS = 30
WINDOW_STEPS = 1  # R14: at most ±1 step


class TotpInvalid(DomainError):
    """Wrong code, or one outside the ±1 step window (HTTP 401)."""

    code = "TOTP_INVALID"


class TotpReplayed(TotpInvalid):
    """A code of a step at or before the last accepted one: a replay (HTTP 401, ASVS 6.5.1)."""

    code = "TOTP_REPLAYED"


class TotpNotEnrolled(DomainError):
    code = "TOTP_NOT_ENROLLED"


def time_step(at: datetime, period: int = PERIOD_SECONDS) -> int:
    """The RFC 6238 counter T = floor(unix time / period).

    >>> from datetime import UTC
    >>> time_step(datetime(1970, 1, 1, 0, 0, 59, tzinfo=UTC))
    1
    """
    return int(at.timestamp()) // period


def candidate_steps(now_step: int) -> list[int]:
    return list(range(now_step - WINDOW_STEPS, now_step + WINDOW_STEPS + 1))


def normalise_code(code: str, *, digits: int = 6) -> str:
    """The code without the spaces people type in the middle.

    Raises:
        TotpInvalid (TOTP_INVALID): not exactly `digits` decimal digits.
    """
    compact = re.sub(r"[\s-]", "", code or "")
    if not re.fullmatch(rf"[0-9]{{{digits}}}", compact):
        raise TotpInvalid(f"a code has {digits} digits", where="code", rule="code_syntax")
    return compact


def accept_code(code: str, expected: Mapping[int, str], *, last_used_step: int | None) -> int:
    """The step the code belongs to, if it may be accepted now.

    `expected` maps each candidate step to its code. Every candidate is compared (no early exit),
    so the time taken does not reveal which step matched.

    Raises:
        TotpInvalid (TOTP_INVALID): no candidate step has this code.
        TotpReplayed (TOTP_REPLAYED): the matching step is not after the last accepted one.
    """
    matches = [step for step, want in sorted(expected.items())
               if hmac.compare_digest(want.encode(), code.encode())]
    if not matches:
        raise TotpInvalid("the code is wrong or too old", where="code", rule="totp_window")
    step = matches[-1]
    if last_used_step is not None and step <= last_used_step:
        raise TotpReplayed("this code was already used; wait for the next one", where="code",
                           rule="totp_single_use")
    return step
