"""Many idempotent requests in one go: claim every key, run the work once for all claimed requests
(a set-based use case such as `order_batch.store_orders`), complete every key with its own answer.

Why: the API's group commit (docs/adr/0012) collects concurrent `POST /payment-orders` requests;
running `run_idempotent` for each costs a claim, a one-order batch and a completion per request,
≈ 35 statements each. Here the claims, the orders and the completions of the whole batch share one
unit of work, and the orders are stored with one statement per table.

The semantics of `run_idempotent` (ADR 0004, R5/R6/R7) are kept request by request: a completed
key replays its stored answer, a key used for another request is IDEMPOTENCY_KEY_REUSED, a key
another request is running is IDEMPOTENCY_IN_PROGRESS, a refused request keeps its failure as the
key's answer (the work must not have written anything for it: `store_orders` refuses before it
writes), a transient refusal frees its key. The same key twice in one call is run after the others,
one by one, so it replays (or is refused against) the first, as if it had arrived a moment later.
If the work raises, nothing of it is kept and every claimed key is freed: the caller may then run
the requests one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from yinqi.application.idempotency import (
    DEFAULT_LEASE_S,
    TRANSIENT_CODES,
    Claim,
    IdempotencyInProgress,
    IdempotentRequest,
    Outcome,
    StoredResponse,
    _DeferredCommit,
    _reused,
    require_key,
    run_idempotent,
)
from yinqi.application.ports import Clock
from yinqi.domain.problems import DomainError

__all__ = ["BatchWork", "run_idempotent_batch"]

Answer = StoredResponse | DomainError
BatchWork = Callable[[Any, Sequence[int]], dict[int, Answer]]
"""`work(uow, indices)`: the answer for each of those requests; its writes commit with the keys."""


def run_idempotent_batch(*, requests: Sequence[IdempotentRequest], new_uow: Callable[[], Any], clock: Clock,
                         work: BatchWork, render_error: Callable[[int, DomainError], StoredResponse],
                         lease_s: int = DEFAULT_LEASE_S) -> list[Outcome | DomainError]:
    """Each request's outcome (or the refusal `run_idempotent` would raise for it), in order.

    Raises: whatever `work` raised (every key claimed here is freed first; nothing of the work is kept).
    """
    results: dict[int, Outcome | DomainError] = {}
    first: dict[tuple[str, str], int] = {}
    later: list[int] = []
    for i, request in enumerate(requests):
        try:
            key = require_key(request.key)
        except DomainError as exc:
            results[i] = exc
            continue
        if (request.scope, key) in first:
            later.append(i)
        else:
            first[(request.scope, key)] = i
    claimed = _claim_all(requests, list(first.values()), new_uow, clock, lease_s, results)
    if claimed:
        _run_claimed(requests, claimed, new_uow, clock, work, render_error, results)
    for i in later:
        results[i] = _alone(requests[i], i, new_uow, clock, work, render_error, lease_s)
    return [results[i] for i in range(len(requests))]


def _claim_all(requests: Sequence[IdempotentRequest], indices: list[int], new_uow: Callable[[], Any], clock: Clock,
               lease_s: int, results: dict[int, Outcome | DomainError]) -> list[int]:
    now = clock.now()
    claimed: list[int] = []
    with new_uow() as uow:
        for i in indices:
            request = requests[i]
            claim: Claim = uow.idempotency.claim(
                scope=request.scope, key=request.key, fingerprint=request.fingerprint,
                method=request.method.upper(), path=request.path, request_body=request.canonical_body, now=now,
                lease_until=now + timedelta(seconds=lease_s))
            if claim.kind == "claimed":
                claimed.append(i)
            elif claim.kind == "completed":
                assert claim.response is not None
                results[i] = Outcome(claim.response, replayed=True)
            elif claim.kind == "mismatch":
                results[i] = _reused(request, claim)
            else:
                results[i] = IdempotencyInProgress(
                    "a request with this Idempotency-Key is still being processed; retry later",
                    where="Idempotency-Key", rule="one_at_a_time", value=request.key)
        uow.commit()
    return claimed


def _run_claimed(requests: Sequence[IdempotentRequest], claimed: list[int], new_uow: Callable[[], Any], clock: Clock,
                 work: BatchWork, render_error: Callable[[int, DomainError], StoredResponse],
                 results: dict[int, Outcome | DomainError]) -> None:
    try:
        with new_uow() as uow:
            answers = work(_DeferredCommit(uow), claimed)
            now = clock.now()
            freed: list[int] = []
            for i in claimed:
                answer = answers[i]
                request = requests[i]
                if isinstance(answer, DomainError) and answer.code in TRANSIENT_CODES:
                    uow.idempotency.release(scope=request.scope, key=request.key)
                    results[i] = answer
                    freed.append(i)
                    continue
                response = render_error(i, answer) if isinstance(answer, DomainError) else answer
                uow.idempotency.complete(scope=request.scope, key=request.key, response=response, now=now)
                results[i] = Outcome(response, replayed=False)
            uow.commit()
    except BaseException:
        with new_uow() as uow:
            for i in claimed:
                uow.idempotency.release(scope=requests[i].scope, key=requests[i].key)
            uow.commit()
        raise


def _alone(request: IdempotentRequest, index: int, new_uow: Callable[[], Any], clock: Clock, work: BatchWork,
           render_error: Callable[[int, DomainError], StoredResponse], lease_s: int) -> Outcome | DomainError:
    def one(uow: Any) -> StoredResponse:
        answer = work(uow, [index])[index]
        if isinstance(answer, DomainError):
            raise answer
        return answer

    try:
        return run_idempotent(request=request, new_uow=new_uow, clock=clock, work=one,
                              render_error=lambda exc: render_error(index, exc), lease_s=lease_s)
    except DomainError as exc:
        return exc
