"""Token-bucket rate limiting, pure: the caller passes the time (ASVS 2.4.1, R15).

Each key (a source address, a username, an API token id: anything hashable) has a bucket of
`capacity` tokens that refills at `refill_per_s`. A request takes one token or is refused with the
whole seconds to wait (`Retry-After`). Buckets live in memory, bounded by `max_keys`: when full,
the buckets that have refilled completely (they carry no information) are dropped first, then the
oldest. The clock is a monotonic float of seconds, never the wall clock.

>>> bucket = TokenBucket(capacity=2, refill_per_s=0.5)
>>> [bucket.take("10.0.0.1", now=0.0).allowed for _ in range(3)]
[True, True, False]
>>> bucket.take("10.0.0.1", now=0.0).retry_after_s
2
>>> bucket.take("10.0.0.1", now=2.0).allowed
True
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

from yinqi.domain.problems import DomainError

__all__ = ["RateDecision", "RateLimited", "TokenBucket"]


class RateLimited(DomainError):
    """Too many requests (HTTP 429); `retry_after_s` goes into the Retry-After header."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_s: int, where: str = "") -> None:
        super().__init__(message, where=where, rule="rate_limit", details={"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    remaining: float
    retry_after_s: int  # 0 when allowed

    def raise_if_refused(self, what: str = "requests") -> None:
        """Raises:
            RateLimited (RATE_LIMITED): the request was refused.
        """
        if not self.allowed:
            raise RateLimited(f"too many {what}; retry in {self.retry_after_s} s", retry_after_s=self.retry_after_s)


class TokenBucket:
    def __init__(self, *, capacity: float, refill_per_s: float, max_keys: int = 100_000) -> None:
        if capacity < 1 or refill_per_s <= 0 or max_keys < 1:
            raise ValueError("capacity >= 1, refill_per_s > 0 and max_keys >= 1 are required")
        self.capacity = float(capacity)
        self.refill_per_s = float(refill_per_s)
        self.max_keys = max_keys
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (tokens, at)

    def level(self, key: Hashable, *, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.capacity, now))
        return min(self.capacity, tokens + max(0.0, now - at) * self.refill_per_s)

    def take(self, key: Hashable, *, now: float, cost: float = 1.0) -> RateDecision:
        tokens = self.level(key, now=now)
        if tokens >= cost:
            self._put(key, tokens - cost, now)
            return RateDecision(True, tokens - cost, 0)
        self._put(key, tokens, now)
        return RateDecision(False, tokens, self._wait(tokens, cost))

    def retry_after(self, key: Hashable, *, now: float, cost: float = 1.0) -> int:
        """Whole seconds until `cost` tokens are there (0: now)."""
        tokens = self.level(key, now=now)
        return 0 if tokens >= cost else self._wait(tokens, cost)

    def reset(self, key: Hashable) -> None:
        self._buckets.pop(key, None)

    def __len__(self) -> int:
        return len(self._buckets)

    def _wait(self, tokens: float, cost: float) -> int:
        return max(1, math.ceil((cost - tokens) / self.refill_per_s))

    def _put(self, key: Hashable, tokens: float, now: float) -> None:
        self._buckets.pop(key, None)  # re-insert: dict order is then least recently used first
        if len(self._buckets) >= self.max_keys:
            self._evict(now)
        self._buckets[key] = (tokens, now)

    def _evict(self, now: float) -> None:
        full = [k for k, (t, at) in self._buckets.items()
                if t + max(0.0, now - at) * self.refill_per_s >= self.capacity]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) >= self.max_keys:
            del self._buckets[next(iter(self._buckets))]
