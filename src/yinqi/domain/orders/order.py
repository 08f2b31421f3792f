"""The PaymentOrder aggregate: one instruction to move an amount from a payer to a payee.

An order is immutable; every change returns a new order plus the `OrderEvent` recording it, so a
state never changes without its event. `version` counts events: it equals the `seq` of the last
event, and the repository uses it for optimistic locking. `event_hash` is the head of the order's
hash chain; the next event links to it.

>>> from yinqi.domain.orders.order import Urgency
>>> Urgency("urgent").instruction_priority
'HIGH'
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from yinqi.domain.identifiers import EndToEndId, OrderSerial
from yinqi.domain.money import Money
from yinqi.domain.orders.events import GENESIS_HASH, OrderEvent
from yinqi.domain.orders.lifecycle import FUNDS_RESERVED, OrderState, require_transition
from yinqi.domain.parties import Payee, Payer
from yinqi.domain.problems import DomainError

__all__ = [
    "BankMessageMismatch", "BankStatusUnknown", "DuplicateEndToEndId", "DuplicateSerial", "OrderNotFound",
    "OrderSource", "OrderVersionConflict", "PaymentOrder", "SodSelfApproval", "Urgency",
]


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    INSTANT = "instant"

    @property
    def instruction_priority(self) -> str:
        """ISO 20022 InstrPrty: urgent and instant payments go HIGH."""
        return "NORM" if self is Urgency.NORMAL else "HIGH"


class OrderSource(StrEnum):
    API = "api"
    CONSOLE = "console"
    IMPORT = "import"


@dataclass(frozen=True, slots=True)
class PaymentOrder:
    id: str
    company_id: str
    serial: OrderSerial
    payer: Payer
    payee: Payee
    amount: Money
    requested_execution_date: date
    urgency: Urgency
    purpose_code: str | None
    remittance_info: str | None
    end_to_end_id: EndToEndId
    source: OrderSource
    created_by: str
    created_at: datetime
    updated_at: datetime
    state: OrderState = OrderState.DRAFT
    version: int = 0
    event_hash: str = GENESIS_HASH
    reservation_seq: int | None = None
    settlement_seq: int | None = None
    bank_message_id: str | None = None
    bank_status: str | None = None
    bank_reason: str | None = None

    def __post_init__(self) -> None:
        assert self.amount.is_positive(), "an order amount is positive (checks.py refuses others)"
        assert self.amount.currency == self.payer.currency, "paid from an account in its currency"

    @property
    def funds_reserved(self) -> bool:
        return self.state in FUNDS_RESERVED and self.reservation_seq is not None

    def created(self, *, actor: str, at: datetime) -> tuple[PaymentOrder, OrderEvent]:
        """The creation event (seq 1, DRAFT). Call once, on a freshly built order (version 0)."""
        assert self.version == 0 and self.state is OrderState.DRAFT, "an order is created once"
        event = OrderEvent.linked(order_id=self.id, seq=1, from_state=None, to_state=OrderState.DRAFT,
                                  actor=actor, at=at, data={"serial": self.serial.value,
                                                            "amount": self.amount.format(),
                                                            "currency": self.amount.currency},
                                  prev_hash=GENESIS_HASH)
        return self._evolve(version=1, event_hash=event.hash, updated_at=at), event

    def move_to(self, to_state: OrderState, *, actor: str, at: datetime, reason: str = "",
                data: dict[str, Any] | None = None) -> tuple[PaymentOrder, OrderEvent]:
        """The order in `to_state` and the event that records the move.

        Raises:
            IllegalTransition (ORDER_ILLEGAL_TRANSITION): the table does not allow the move.
        """
        require_transition(self.state, to_state)
        event = OrderEvent.linked(order_id=self.id, seq=self.version + 1, from_state=self.state,
                                  to_state=to_state, actor=actor, at=at, reason=reason,
                                  data=dict(data or {}), prev_hash=self.event_hash)
        moved = self._evolve(state=to_state, version=event.seq, event_hash=event.hash, updated_at=at)
        return moved, event

    def _evolve(self, **changes: Any) -> PaymentOrder:
        """`dataclasses.replace` for the fields a new event moves (state, version, hash, time), at
        half its cost (three per order in bulk intake): those never touch what `__post_init__` checks."""
        assert changes.keys() <= _MOVED, "only what an event moves"
        moved = object.__new__(PaymentOrder)
        for name in _FIELDS:
            object.__setattr__(moved, name, changes[name] if name in changes else getattr(self, name))
        return moved

    def with_ledger(self, *, reservation_seq: int | None = None,
                    settlement_seq: int | None = None) -> PaymentOrder:
        """Record the ledger transactions that reserved or settled this order's funds."""
        return replace(self, reservation_seq=reservation_seq if reservation_seq is not None
                       else self.reservation_seq,
                       settlement_seq=settlement_seq if settlement_seq is not None else self.settlement_seq)

    def with_bank(self, *, message_id: str | None = None, status: str | None = None,
                  reason: str | None = None) -> PaymentOrder:
        """Record what the bank channel told us (message id sent, last status and reason)."""
        return replace(self, bank_message_id=message_id or self.bank_message_id,
                       bank_status=status or self.bank_status, bank_reason=reason or self.bank_reason)


_FIELDS = tuple(f.name for f in fields(PaymentOrder))
_MOVED = frozenset({"state", "version", "event_hash", "updated_at"})


class OrderNotFound(DomainError):
    code = "ORDER_NOT_FOUND"


class DuplicateSerial(DomainError):
    """The company already has an order with this serial; `details['existing_order_id']` names it."""

    code = "DUPLICATE_SERIAL"

    @classmethod
    def of(cls, existing: PaymentOrder) -> DuplicateSerial:
        return cls(f"serial {existing.serial} is already used by payment order {existing.id}",
                   where="serial", rule="unique_per_company", value=existing.serial.value,
                   details={"existing_order_id": existing.id})


class DuplicateEndToEndId(DomainError):
    code = "DUPLICATE_END_TO_END_ID"


class OrderVersionConflict(DomainError):
    """Someone else changed the order since it was read; retry with the fresh order."""

    code = "ORDER_VERSION_CONFLICT"


class SodSelfApproval(DomainError):
    """Segregation of duties: the maker of an order may not approve it."""

    code = "SOD_SELF_APPROVAL"


class BankStatusUnknown(DomainError):
    code = "BANK_STATUS_UNKNOWN"


class BankMessageMismatch(DomainError):
    """The order was already marked sent under another bank message id."""

    code = "BANK_MESSAGE_MISMATCH"
