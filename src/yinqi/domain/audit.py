"""The audit trail's events and their HMAC-SHA256 hash chain.

Every action of every actor becomes one `AuditEvent`. Events are numbered 1, 2, 3 … without gaps
and each one's `hash` covers the previous event's hash, so editing, deleting, inserting or
reordering any event breaks the chain at that point, and a separate head row (count and last hash)
catches a removed tail. The key is secret (derived from the ledger key), so someone who can write
the database but not read the key cannot forge a consistent chain.

Format (version 1):

    hash = HMAC-SHA256(key, prev_hash (32 bytes) || canonical(event without hash))

`canonical` is compact JSON with sorted keys, UTF-8, the timestamp in the ledger's canonical form
(`2024-01-02T03:04:05.000000Z`) and `prev_hash` as hex. The first event links to 32 zero bytes.

>>> from datetime import UTC, datetime
>>> key = b"k" * 32
>>> at = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
>>> e1 = seal(key, GENESIS_HASH, 1, at=at, actor_id="alice", actor_channel="console",
...           source_address="10.0.0.1", action="order.approve", object_type="order", object_id="o1")
>>> e2 = seal(key, e1.hash, 2, at=at, actor_id="bob", actor_channel="api", source_address="",
...           action="order.release", object_type="order", object_id="o1")
>>> verify_chain(key, [e1, e2], head=ChainHead(2, e2.hash)).ok
True
>>> verify_chain(key, [e1], head=ChainHead(2, e2.hash)).problem.kind
'truncated'
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from yinqi.domain.ledger.chain import format_at

__all__ = ["GENESIS_HASH", "OUTCOMES", "AuditEvent", "ChainCheck", "ChainHead", "ChainProblem", "canonical_bytes",
           "chain_hash", "seal", "verify_chain"]

GENESIS_HASH = bytes(32)
OUTCOMES = frozenset({"success", "denied", "failed"})

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False).encode


@dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    at: datetime
    actor_id: str
    actor_channel: str
    source_address: str
    action: str
    object_type: str
    object_id: str | None
    outcome: str
    reason: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    company_id: str | None
    prev_hash: bytes
    hash: bytes

    def body(self) -> dict[str, Any]:
        """Everything the hash covers, in JSON types (the hash itself excluded)."""
        d = {name: getattr(self, name) for name in _BODY_FIELDS}  # not asdict: its deep copy cost 3/4 of a seal
        d["at"] = format_at(self.at)
        d["prev_hash"] = self.prev_hash.hex()
        return d

    def as_dict(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash.hex()}


_BODY_FIELDS = tuple(name for name in AuditEvent.__dataclass_fields__ if name != "hash")


def canonical_bytes(event: AuditEvent) -> bytes:
    """Sorted-key compact JSON of the event without its hash, UTF-8.

    >>> from datetime import UTC, datetime
    >>> e = seal(b"k", GENESIS_HASH, 1, at=datetime(2024, 1, 2, tzinfo=UTC), actor_id="a",
    ...          actor_channel="cli", source_address="", action="x", object_type="t", object_id=None)
    >>> canonical_bytes(e)[:63]
    b'{"action":"x","actor_channel":"cli","actor_id":"a","after":null'
    """
    return _encode(event.body()).encode("utf-8")


def chain_hash(key: bytes, event: AuditEvent) -> bytes:
    return hmac.digest(key, event.prev_hash + canonical_bytes(event), "sha256")


def seal(key: bytes, prev_hash: bytes, seq: int, *, at: datetime, actor_id: str, actor_channel: str,
         source_address: str, action: str, object_type: str, object_id: str | None, outcome: str = "success",
         reason: str = "", before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
         company_id: str | None = None) -> AuditEvent:
    """Build the next event of the chain with its hash. Refuses what could not be re-verified
    later: an unknown outcome, a naive timestamp, values that are not plain JSON.

    >>> from datetime import UTC, datetime
    >>> seal(b"k", GENESIS_HASH, 1, at=datetime(2024, 1, 2, tzinfo=UTC), actor_id="a", actor_channel="cli",
    ...      source_address="", action="x", object_type="t", object_id=None, outcome="maybe")
    Traceback (most recent call last):
    ValueError: audit outcome must be one of denied, failed, success, not 'maybe'
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {', '.join(sorted(OUTCOMES))}, not {outcome!r}")
    if seq < 1 or len(prev_hash) != 32:
        raise ValueError("audit events are numbered from 1 and link to a 32-byte hash")
    draft = AuditEvent(seq=seq, at=at, actor_id=actor_id, actor_channel=actor_channel,
                       source_address=source_address, action=action, object_type=object_type, object_id=object_id,
                       outcome=outcome, reason=reason, before=before, after=after, company_id=company_id,
                       prev_hash=prev_hash, hash=b"")
    sealed = AuditEvent(**{**_fields(draft), "hash": chain_hash(key, draft)})
    if json.loads(canonical_bytes(sealed)) != sealed.body():  # e.g. a tuple or non-str key: not round-trippable
        raise ValueError("audit before/after must be plain JSON objects (str keys, lists, no tuples)")
    return sealed


def _fields(e: AuditEvent) -> dict[str, Any]:
    return {name: getattr(e, name) for name in AuditEvent.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The head row: how many events the chain holds and the last one's hash."""

    seq: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class ChainProblem:
    kind: str  # sequence_gap | broken_link | hash_mismatch | truncated | head_mismatch
    seq: int
    message: str


@dataclass(frozen=True, slots=True)
class ChainCheck:
    ok: bool
    count: int
    last_seq: int
    last_hash: bytes
    problem: ChainProblem | None


def verify_chain(key: bytes, events: Iterable[AuditEvent], *, head: ChainHead | None) -> ChainCheck:
    """Walk the events in the order given and report the first broken seq and why.

    `head` is the head row read *before* the events: the walk must reach it and agree with its
    hash (a removed tail shows here). Events beyond it were committed after the head was read
    and are checked by the chain alone. The stored hash is carried forward, so one edited event
    is reported as that event, not as every event after it.
    """
    prev, last, count = GENESIS_HASH, 0, 0
    head_hash_seen: bytes | None = None
    for e in events:
        count += 1
        if e.seq != last + 1:
            return _bad(count - 1, last, prev, "sequence_gap", last + 1, f"expected event {last + 1}, found {e.seq}")
        if e.prev_hash != prev:
            return _bad(count - 1, last, prev, "broken_link", e.seq, f"event {e.seq} does not link to the one before")
        if not _hash_ok(key, e):
            return _bad(count - 1, last, prev, "hash_mismatch", e.seq,
                        f"event {e.seq} does not match its hash (content changed)")
        prev, last = e.hash, e.seq
        if head is not None and e.seq == head.seq:
            head_hash_seen = e.hash
    if head is not None and head.seq > 0:
        if last < head.seq:
            return _bad(count, last, prev, "truncated", last + 1,
                        f"the head row says {head.seq} events, the chain ends at {last}: the tail was removed")
        if head_hash_seen != head.hash:
            return _bad(count, last, prev, "head_mismatch", head.seq, f"event {head.seq} differs from the head row")
    return ChainCheck(ok=True, count=count, last_seq=last, last_hash=prev, problem=None)


def _hash_ok(key: bytes, e: AuditEvent) -> bool:
    try:
        return hmac.compare_digest(chain_hash(key, e), e.hash)
    except (TypeError, ValueError):  # a stored value no writer could have produced
        return False


def _bad(count: int, last: int, prev: bytes, kind: str, seq: int, message: str) -> ChainCheck:
    return ChainCheck(ok=False, count=count, last_seq=last, last_hash=prev, problem=ChainProblem(kind, seq, message))
