"""The hub's rate limits, kept in process memory (R15, ASVS 2.4.1).

Three token buckets (`yinqi.domain.identity.rate_limit.TokenBucket`), one set per application:

| what | key | default (Settings) |
| --- | --- | --- |
| sign-in attempts (password and TOTP forms) | source address | `rate_limit_login_per_min`: 20/min, burst 20 |
| sign-in attempts | username (lower-cased, known or not) | the same |
| API requests | API token id (console fetch calls: the session) | `rate_limit_api_per_s` 50/s, `_burst` 100 |

Per address stops one machine spraying passwords across many users; per username stops many
machines guessing one user's password (the account lockout after 10 failures is the second line,
in `yinqi.application.identity`). Counting unknown usernames like known ones keeps a 429 from
revealing whether a user exists. Over a limit the caller gets `RateLimited` (HTTP 429
`RATE_LIMITED` with `Retry-After` in whole seconds), which the error handlers audit.

Memory per process, on purpose: a limit is a speed bump, not a ledger; several hub processes
multiply it, which the README states. Buckets are bounded (`max_keys`) so a flood of addresses
cannot grow memory without end. The time source is monotonic (wall-clock jumps never refill).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from yinqi.config import Settings
from yinqi.domain.identity.rate_limit import RateLimited, TokenBucket

__all__ = ["RateLimited", "RateLimits", "rate_limits_for"]

_MAX_KEYS = 50_000


@dataclass
class RateLimits:
    login_per_min: float
    api_per_s: float
    api_burst: float
    monotonic: Callable[[], float] = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _login_address: TokenBucket = field(init=False)
    _login_user: TokenBucket = field(init=False)
    _api: TokenBucket = field(init=False)

    def __post_init__(self) -> None:
        login_burst = max(1.0, self.login_per_min)
        self._login_address = TokenBucket(capacity=login_burst, refill_per_s=self.login_per_min / 60,
                                          max_keys=_MAX_KEYS)
        self._login_user = TokenBucket(capacity=login_burst, refill_per_s=self.login_per_min / 60,
                                       max_keys=_MAX_KEYS)
        self._api = TokenBucket(capacity=max(1.0, self.api_burst), refill_per_s=self.api_per_s, max_keys=_MAX_KEYS)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(login_per_min=settings.rate_limit_login_per_min, api_per_s=settings.rate_limit_api_per_s,
                   api_burst=settings.rate_limit_api_burst)

    def sign_in_attempt(self, *, source_address: str, username: str = "") -> None:
        """Take one sign-in attempt from the address's bucket and, when named, the username's.

        Raises:
            RateLimited (RATE_LIMITED): either bucket is empty.
        """
        now = self.monotonic()
        with self._lock:
            by_address = self._login_address.take(("address", source_address), now=now)
            by_user = self._login_user.take(("user", username.strip().lower()), now=now) if username else None
        by_address.raise_if_refused("sign-in attempts from this address")
        if by_user is not None:
            by_user.raise_if_refused("sign-in attempts for this username")

    def api_request(self, *, client_key: str) -> None:
        """Take one API request from the client's bucket (`token:<id>` or `session:<id>`).

        Raises:
            RateLimited (RATE_LIMITED): the bucket is empty.
        """
        now = self.monotonic()
        with self._lock:
            decision = self._api.take(client_key, now=now)
        decision.raise_if_refused("API requests for this token")


_INIT_LOCK = threading.Lock()


def rate_limits_for(app_state: object) -> RateLimits:
    """The application's limits, created from its hub's settings on first use."""
    limits: RateLimits | None = getattr(app_state, "rate_limits", None)
    if limits is None:
        with _INIT_LOCK:
            limits = getattr(app_state, "rate_limits", None)
            if limits is None:
                limits = RateLimits.from_settings(app_state.hub.settings)  # type: ignore[attr-defined]
                app_state.rate_limits = limits  # type: ignore[attr-defined]
    return limits
