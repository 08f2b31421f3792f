"""Idempotency keys for state-changing requests: Stripe's semantics with TigerBeetle's failure rule.

A client sends a key with each POST. The first request with a key claims it (in its own committed
transaction, race-safe through the store's unique constraint) and runs; its outcome, success or
failure, is stored with the exact response bytes in the same transaction as the work itself, so
the key's record and the order it created commit together. Then:

- the same key and the same request (fingerprint: sha256 of method, path and canonical body)
  returns the stored status and byte-identical body, marked as a replay (R5);
- the same key with a different request is refused with IDEMPOTENCY_KEY_REUSED, naming the first
  field that differs (R6a); a key still running gives IDEMPOTENCY_IN_PROGRESS (R6b);
- a request that failed with a domain error (validation, INSUFFICIENT_FUNDS ...) keeps that failure:
  its work is rolled back, the failure is recorded in a transaction of its own, and a retry with
  the key gets the original failure even if the cause has gone (R7). Only a new key can succeed.
- an unexpected error (a bug, the database going away) or an optimistic-lock conflict records
  nothing and frees the key: nothing was committed, and the retry deserves a real attempt.
A claim is a lease: if the process dies mid-request the key can be claimed again after
`lease_s`; the work itself is protected by the order serial and version constraints.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, Protocol, TypeVar

from yinqi.application.ports import Clock
from yinqi.domain.problems import DomainError
from yinqi.testing.failpoints import declare, failpoint

__all__ = [
    "Claim", "IdempotencyInProgress", "IdempotencyKeyInvalid", "IdempotencyKeyRequired",
    "IdempotencyKeyReused", "IdempotencyStore", "IdempotentRequest", "Outcome", "StoredResponse",
    "canonical_json", "first_difference", "run_idempotent",
]

MAX_KEY_LENGTH = 255
DEFAULT_LEASE_S = 120
TRANSIENT_CODES = frozenset({"ORDER_VERSION_CONFLICT"})  # not the client's fault: free the key
declare("idempotency.claimed", "idempotency.before_commit")


class IdempotencyKeyRequired(DomainError):
    code = "IDEMPOTENCY_KEY_REQUIRED"


class IdempotencyKeyInvalid(DomainError):
    code = "IDEMPOTENCY_KEY_INVALID"


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"


class IdempotencyInProgress(DomainError):
    code = "IDEMPOTENCY_IN_PROGRESS"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: bytes
    resource_id: str | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """What claiming a key found: `claimed` (ours now), `completed` (replay `response`),
    `in_progress` (someone else is running it) or `mismatch` (another request used the key)."""

    kind: Literal["claimed", "completed", "in_progress", "mismatch"]
    response: StoredResponse | None = None
    stored_method: str = ""
    stored_path: str = ""
    stored_body: str = ""


class IdempotencyStore(Protocol):
    def claim(self, *, scope: str, key: str, fingerprint: str, method: str, path: str,
              request_body: str, now: datetime, lease_until: datetime) -> Claim: ...

    def complete(self, *, scope: str, key: str, response: StoredResponse, now: datetime) -> None: ...

    def release(self, *, scope: str, key: str) -> None: ...


class IdempotencyUnitOfWork(Protocol):
    @property
    def idempotency(self) -> IdempotencyStore: ...
    def commit(self) -> None: ...
    def __enter__(self) -> IdempotencyUnitOfWork: ...
    def __exit__(self, *exc: object) -> None: ...


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    scope: str
    key: str | None
    method: str
    path: str
    body: bytes

    @property
    def canonical_body(self) -> str:
        return canonical_json(self.body)

    @property
    def fingerprint(self) -> str:
        text = f"{self.method.upper()}\n{self.path}\n{self.canonical_body}"
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Outcome:
    response: StoredResponse
    replayed: bool


U = TypeVar("U", bound=IdempotencyUnitOfWork)


def require_key(key: str | None) -> str:
    """Raises IDEMPOTENCY_KEY_REQUIRED (missing) or IDEMPOTENCY_KEY_INVALID (too long, not printable)."""
    if key is None or not key.strip():
        raise IdempotencyKeyRequired("this request needs an Idempotency-Key header (a unique string, "
                                     "e.g. a UUID, reused only to retry the same request)",
                                     where="Idempotency-Key", rule="required")
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise IdempotencyKeyInvalid(f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters",
                                    where="Idempotency-Key", rule="printable_max_255", value=key[:64])
    return key


def run_idempotent(*, request: IdempotentRequest, new_uow: Callable[[], U], clock: Clock,
                   work: Callable[[U], StoredResponse], render_error: Callable[[DomainError], StoredResponse],
                   lease_s: int = DEFAULT_LEASE_S) -> Outcome:
    """Run `work` at most once per (scope, key) and return its (possibly replayed) response.

    `work` gets a unit of work whose `commit()` is deferred: the key's completion is written into
    the same transaction before the real commit, so the key is completed iff the work committed.

    Raises:
        IdempotencyKeyRequired, IdempotencyKeyInvalid, IdempotencyKeyReused, IdempotencyInProgress.
    """
    key = require_key(request.key)
    claim = _claim(request, key, new_uow, clock, lease_s)
    if claim.kind == "completed":
        assert claim.response is not None
        return Outcome(claim.response, replayed=True)
    if claim.kind == "mismatch":
        raise _reused(request, claim)
    if claim.kind == "in_progress":
        raise IdempotencyInProgress("a request with this Idempotency-Key is still being processed; retry later",
                                    where="Idempotency-Key", rule="one_at_a_time", value=key)
    failpoint("idempotency.claimed")
    return Outcome(_run_claimed(request, key, new_uow, clock, work, render_error), replayed=False)


def _claim(request: IdempotentRequest, key: str, new_uow: Callable[[], U], clock: Clock, lease_s: int) -> Claim:
    now = clock.now()
    with new_uow() as uow:
        claim = uow.idempotency.claim(
            scope=request.scope, key=key, fingerprint=request.fingerprint, method=request.method.upper(),
            path=request.path, request_body=request.canonical_body, now=now,
            lease_until=now + timedelta(seconds=lease_s))
        uow.commit()
    return claim


def _run_claimed(request: IdempotentRequest, key: str, new_uow: Callable[[], U], clock: Clock,
                 work: Callable[[U], StoredResponse],
                 render_error: Callable[[DomainError], StoredResponse]) -> StoredResponse:
    try:
        with new_uow() as uow:
            deferred = _DeferredCommit(uow)
            response = work(deferred)  # type: ignore[arg-type]  # a transparent proxy of U
            uow.idempotency.complete(scope=request.scope, key=key, response=response, now=clock.now())
            failpoint("idempotency.before_commit")
            uow.commit()
            return response
    except DomainError as exc:
        if exc.code in TRANSIENT_CODES:
            _release(request, key, new_uow)
            raise
        failure = render_error(exc)
        with new_uow() as uow:  # the work's transaction rolled back; the failure is recorded alone
            uow.idempotency.complete(scope=request.scope, key=key, response=failure, now=clock.now())
            uow.commit()
        return failure
    except BaseException:
        _release(request, key, new_uow)
        raise


def _release(request: IdempotentRequest, key: str, new_uow: Callable[[], U]) -> None:
    with new_uow() as uow:
        uow.idempotency.release(scope=request.scope, key=key)
        uow.commit()


class _DeferredCommit:
    """The work's view of the unit of work: `commit()` is a promise, kept by `run_idempotent`
    after it has written the key's completion into the same transaction."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.commit_requested = False

    def commit(self) -> None:
        self.commit_requested = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _reused(request: IdempotentRequest, claim: Claim) -> IdempotencyKeyReused:
    if (claim.stored_method, claim.stored_path) != (request.method.upper(), request.path):
        where = "path"
    else:
        where = first_difference(_loads(claim.stored_body), _loads(request.canonical_body)) or "body"
    return IdempotencyKeyReused(
        f"this Idempotency-Key was used for a different request (first difference: {where}); "
        "use a new key for a new request", where=where, rule="same_key_same_request",
        details={"first_difference": where})


# --- canonical request bodies --------------------------------------------------------------------
class _Number(str):
    """A JSON number kept as its literal, so 12.30 and "12.30" stay different requests."""


def _loads(text: str | bytes) -> Any:
    try:
        return json.loads(text, parse_float=_Number, parse_int=_Number, parse_constant=_Number)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return _Unparsed(text if isinstance(text, str) else text.decode("utf-8", "replace"))


class _Unparsed(str):
    """A body that is not JSON: compared and fingerprinted as raw text."""


def canonical_json(body: bytes | str) -> str:
    """Sorted keys, no whitespace, numbers as written (`Decimal`-normalised), non-JSON as is."""
    value = _loads(body)
    if isinstance(value, _Unparsed):
        return value
    try:
        return _dump(value)
    except RecursionError:  # absurdly deep nesting: compare it as raw text
        return body if isinstance(body, str) else body.decode("utf-8", "replace")


def _dump(value: Any) -> str:
    if isinstance(value, _Number):
        return _number_text(value)
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_dump(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _number_text(literal: str) -> str:
    try:
        return str(Decimal(literal).normalize())
    except ArithmeticError:
        return literal  # NaN / Infinity literals: keep as written


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The dotted path of the first place two JSON values differ (sorted keys, then list index).

    >>> first_difference({"amount": "1.00", "payee": {"name": "A"}}, {"amount": "1.00", "payee": {"name": "B"}})
    'payee.name'
    >>> first_difference({"a": [1, 2]}, {"a": [1, 3]})
    'a[1]'
    """
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            child = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                return child
            found = first_difference(a[key], b[key], child)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{path}[{index}]")
            if found is not None:
                return found
        return None if len(a) == len(b) else f"{path}[{min(len(a), len(b))}]"
    same = type(a) is type(b) and (_number_text(a) == _number_text(b) if isinstance(a, _Number) else a == b)
    return None if same else (path or "body")
