"""Order events: the append-only, hash-chained history of every state change of one order.

Every transition produces one `OrderEvent` with the next `seq` for that order. Its `hash` is
sha256 over the previous event's hash (64 zero digits for the first) followed by the event's
canonical JSON (sorted keys, no spaces, UTF-8, times in UTC ISO 8601 with microseconds). Editing,
deleting, inserting or reordering any event breaks the chain at that event, which
`first_broken_seq` reports. The chain protects one order's history; the ledger's signed
checkpoints protect against rewriting everything (RELIABILITY.md notes).

Event kinds are past tense, one per target state: OrderCreated, OrderValidated, ...
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from yinqi.domain.orders.lifecycle import OrderState

__all__ = ["EVENT_KIND", "GENESIS_HASH", "OrderEvent", "canonical_bytes", "chain_hash", "first_broken_seq"]

GENESIS_HASH = "0" * 64

EVENT_KIND: dict[OrderState, str] = {
    OrderState.DRAFT: "OrderCreated",
    OrderState.VALIDATED: "OrderValidated",
    OrderState.PENDING_APPROVAL: "OrderSubmittedForApproval",
    OrderState.APPROVED: "OrderApproved",
    OrderState.RELEASED: "OrderReleased",
    OrderState.SENT: "OrderSent",
    OrderState.ACCEPTED: "OrderAccepted",
    OrderState.SETTLED: "OrderSettled",
    OrderState.REJECTED: "OrderRejected",
    OrderState.CANCELLED: "OrderCancelled",
    OrderState.RETURNED: "OrderReturned",
    OrderState.FAILED: "OrderFailed",
}


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))  # = json.dumps(...)
_text = json.encoder.encode_basestring  # a JSON string literal, as _ENCODER writes one


def _utc_text(at: datetime) -> str:
    assert at.tzinfo is not None, "event times are timezone-aware"
    utc = at.astimezone(UTC)
    if utc.year < 1000:  # isoformat pads the year to 4 digits, strftime does not: keep the hashed bytes
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One recorded state change. `from_state` is None for the creation event."""

    order_id: str
    seq: int
    from_state: OrderState | None
    to_state: OrderState
    actor: str
    at: datetime
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS_HASH
    hash: str = ""

    @property
    def kind(self) -> str:
        return EVENT_KIND[self.to_state]

    def content(self) -> dict[str, Any]:
        """Every field the hash covers (all but the hashes themselves)."""
        return {"order_id": self.order_id, "seq": self.seq,
                "from_state": None if self.from_state is None else str(self.from_state),
                "to_state": str(self.to_state), "kind": self.kind, "actor": self.actor,
                "at": _utc_text(self.at), "reason": self.reason, "data": self.data}

    def sealed(self, prev_hash: str) -> OrderEvent:
        """This event linked after `prev_hash`, with its own hash computed (the hash does not cover
        the hashes themselves, so it is computed on `self` and the event copied once)."""
        return replace(self, prev_hash=prev_hash, hash=chain_hash(prev_hash, self))

    @classmethod
    def linked(cls, *, order_id: str, seq: int, from_state: OrderState | None, to_state: OrderState, actor: str,
               at: datetime, reason: str = "", data: dict[str, Any], prev_hash: str) -> OrderEvent:
        """A new event after `prev_hash`, hashed: `OrderEvent(...).sealed(prev_hash)` without the copy."""
        digest = hashlib.sha256(prev_hash.encode("ascii") + _canonical(order_id, seq, from_state, to_state, actor, at,
                                                                       reason, data)).hexdigest()
        return cls(order_id=order_id, seq=seq, from_state=from_state, to_state=to_state, actor=actor, at=at,
                   reason=reason, data=data, prev_hash=prev_hash, hash=digest)


def canonical_bytes(event: OrderEvent) -> bytes:
    """Keep keys sorted and separators fixed: the hash depends on these exact bytes, those of
    `json.dumps(event.content(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)`."""
    return _canonical(event.order_id, event.seq, event.from_state, event.to_state, event.actor, event.at,
                      event.reason, event.data)


def _canonical(order_id: str, seq: int, from_state: OrderState | None, to_state: OrderState, actor: str,
               at: datetime, reason: str, data: dict[str, Any]) -> bytes:
    """`canonical_bytes` written out: the keys of `content()` in sorted order, the values encoded
    as `json.dumps` encodes them (the dict and every string by the same encoder)."""
    return (f'{{"actor":{_text(actor)},"at":"{_utc_text(at)}","data":{_ENCODER.encode(data)},'
            f'"from_state":{"null" if from_state is None else _text(str(from_state))},'
            f'"kind":{_text(EVENT_KIND[to_state])},"order_id":{_text(order_id)},"reason":{_text(reason)},'
            f'"seq":{int.__repr__(seq)},"to_state":{_text(str(to_state))}}}').encode()


def chain_hash(prev_hash: str, event: OrderEvent) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_bytes(event)).hexdigest()


def first_broken_seq(events: Sequence[OrderEvent]) -> int | None:
    """The seq of the first event whose link or hash does not verify, or None if all verify.

    Events must be given in seq order; a gap or duplicate seq also breaks the chain.
    """
    prev = GENESIS_HASH
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq or event.prev_hash != prev or event.hash != chain_hash(prev, event):
            return event.seq
        prev = event.hash
    return None
