"""The token bucket: capacity, refill, Retry-After, bounded memory."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yinqi.domain.identity.rate_limit import RateLimited, TokenBucket


def test_a_burst_up_to_capacity_passes_then_retry_after_says_when() -> None:
    bucket = TokenBucket(capacity=100, refill_per_s=50)
    assert all(bucket.take("tok", now=10.0).allowed for _ in range(100))
    refused = bucket.take("tok", now=10.0)
    assert not refused.allowed and refused.retry_after_s == 1
    with pytest.raises(RateLimited) as limited:
        refused.raise_if_refused()
    assert limited.value.details == {"retry_after_s": 1}
    assert bucket.take("tok", now=10.1).allowed  # refilled: 50 tokens a second


def test_keys_are_independent_and_memory_is_bounded() -> None:
    bucket = TokenBucket(capacity=1, refill_per_s=0.01, max_keys=3)
    for i in range(10):
        assert bucket.take(f"ip{i}", now=0.0).allowed
    assert len(bucket) <= 3


@given(st.lists(st.floats(min_value=0, max_value=5), max_size=60))
def test_never_more_than_capacity_plus_refill_requests_pass(gaps: list[float]) -> None:
    bucket = TokenBucket(capacity=5, refill_per_s=2)
    now, passed = 0.0, 0
    for gap in gaps:
        now += gap
        passed += bucket.take("k", now=now).allowed
    assert passed <= 5 + 2 * now + 1e-9
