"""The payment order state machine, as one explicit transition table.

Happy path: DRAFT → VALIDATED → PENDING_APPROVAL → APPROVED → RELEASED → SENT → ACCEPTED → SETTLED.
Under the auto-approval rule VALIDATED goes straight to APPROVED. A bank may settle without an
explicit acceptance (SENT → SETTLED) and may reject after accepting (ACCEPTED → REJECTED, a
pain.002 RJCT following an ACCP). REJECTED (by an approver or the bank), CANCELLED (only before
release: after that the bank may already have the payment), RETURNED (after settlement) and
FAILED (the channel gave up) end the order. Anything not in the table raises `IllegalTransition`;
there is no other way to change an order's state.

>>> can_transition(OrderState.APPROVED, OrderState.RELEASED)
True
>>> can_transition(OrderState.RELEASED, OrderState.CANCELLED)
False
"""

from __future__ import annotations

from enum import StrEnum

from yinqi.domain.problems import DomainError

__all__ = [
    "FUNDS_RESERVED", "TERMINAL", "TRANSITIONS", "IllegalTransition", "OrderState", "can_transition",
    "require_transition",
]


class OrderState(StrEnum):
    DRAFT = "DRAFT"
    VALIDATED = "VALIDATED"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    APPROVED = "APPROVED"
    RELEASED = "RELEASED"
    SENT = "SENT"
    ACCEPTED = "ACCEPTED"
    SETTLED = "SETTLED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    RETURNED = "RETURNED"
    FAILED = "FAILED"


S = OrderState

TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    S.DRAFT: frozenset({S.VALIDATED, S.CANCELLED}),
    S.VALIDATED: frozenset({S.PENDING_APPROVAL, S.APPROVED, S.CANCELLED}),
    S.PENDING_APPROVAL: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.RELEASED, S.CANCELLED}),
    S.RELEASED: frozenset({S.SENT, S.FAILED}),
    S.SENT: frozenset({S.ACCEPTED, S.SETTLED, S.REJECTED, S.FAILED}),
    S.ACCEPTED: frozenset({S.SETTLED, S.REJECTED}),
    S.SETTLED: frozenset({S.RETURNED}),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
    S.FAILED: frozenset(),
}

TERMINAL: frozenset[OrderState] = frozenset(s for s, targets in TRANSITIONS.items() if not targets)

# States in which the payer's funds are reserved (Dr held / Cr available) and not yet settled.
FUNDS_RESERVED: frozenset[OrderState] = frozenset({S.APPROVED, S.RELEASED, S.SENT, S.ACCEPTED})


class IllegalTransition(DomainError):
    code = "ORDER_ILLEGAL_TRANSITION"


def can_transition(from_state: OrderState, to_state: OrderState) -> bool:
    return to_state in TRANSITIONS[from_state]


def require_transition(from_state: OrderState, to_state: OrderState) -> None:
    """Raises:
        IllegalTransition (ORDER_ILLEGAL_TRANSITION): `to_state` is not reachable from `from_state`.
    """
    if not can_transition(from_state, to_state):
        raise IllegalTransition(
            f"a payment order cannot go from {from_state} to {to_state}", where="state",
            rule="transition_table", value=f"{from_state}->{to_state}",
            details={"from": str(from_state), "to": str(to_state)})
