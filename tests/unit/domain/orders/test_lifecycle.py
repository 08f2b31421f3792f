"""The state machine: only the moves in the transition table are possible."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yinqi.domain.orders.checks import build_order
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.events import GENESIS_HASH, first_broken_seq
from yinqi.domain.orders.lifecycle import TERMINAL, TRANSITIONS, IllegalTransition, OrderState
from yinqi.domain.orders.order import PaymentOrder

S = OrderState
AT = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)

HAPPY_PATH = [S.VALIDATED, S.PENDING_APPROVAL, S.APPROVED, S.RELEASED, S.SENT, S.ACCEPTED, S.SETTLED]
ALLOWED = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
ILLEGAL = [(a, b) for a, b in itertools.product(OrderState, OrderState) if (a, b) not in ALLOWED]


def draft() -> PaymentOrder:
    command = CreateOrder(
        company_id="ACME", serial="S-1", amount="10.00", currency="EUR",
        requested_execution_date=date(2030, 1, 10),
        payer=PayerInput(name="Acme", account=AccountInput(iban="DE89370400440532013000"), currency="EUR"),
        payee=PayeeInput(name="Payee", account=AccountInput(iban="FR1420041010050500013M02606"), country="FR"))
    order = build_order(command, order_id="0b8e2f1c-2d7a-4b8e-9a61-6f4f2e9d1c33", today=date(2030, 1, 10),
                        actor="maker", at=AT)
    return order.created(actor="maker", at=AT)[0]


def created_draft() -> tuple[PaymentOrder, list]:
    order = draft()
    return order, [replace_event_for(order)]


def replace_event_for(order: PaymentOrder):  # type: ignore[no-untyped-def]
    from yinqi.domain.orders.events import GENESIS_HASH, OrderEvent

    return OrderEvent(order_id=order.id, seq=1, from_state=None, to_state=S.DRAFT, actor="maker", at=AT,
                      data={"serial": "S-1", "amount": "10.00", "currency": "EUR"}).sealed(GENESIS_HASH)


def test_the_happy_path_reaches_settled_one_event_per_step() -> None:
    order = draft()
    events = []
    for i, state in enumerate(HAPPY_PATH):
        order, event = order.move_to(state, actor="x", at=AT + timedelta(seconds=i))
        events.append(event)
    assert order.state is S.SETTLED
    assert order.version == 1 + len(HAPPY_PATH) == events[-1].seq
    assert [e.kind for e in events][:3] == ["OrderValidated", "OrderSubmittedForApproval", "OrderApproved"]


def test_validated_goes_straight_to_approved_under_auto_approval() -> None:
    order, _ = draft().move_to(S.VALIDATED, actor="x", at=AT)
    assert order.move_to(S.APPROVED, actor="system:auto-approval", at=AT)[0].state is S.APPROVED


def test_terminal_states_allow_no_move() -> None:
    assert {S.REJECTED, S.CANCELLED, S.RETURNED, S.FAILED} == TERMINAL


def test_cancel_is_impossible_once_released() -> None:
    assert S.CANCELLED in TRANSITIONS[S.APPROVED]
    assert all(S.CANCELLED not in TRANSITIONS[s] for s in (S.RELEASED, S.SENT, S.ACCEPTED, S.SETTLED))


@pytest.mark.parametrize(("from_state", "to_state"), ILLEGAL, ids=lambda s: str(s))
def test_every_illegal_transition_is_refused_naming_from_and_to(from_state: OrderState, to_state: OrderState) -> None:
    order = replace(draft(), state=from_state)
    with pytest.raises(IllegalTransition) as err:
        order.move_to(to_state, actor="x", at=AT)
    assert err.value.code == "ORDER_ILLEGAL_TRANSITION"
    assert err.value.details == {"from": from_state.value, "to": to_state.value}
    assert f"from {from_state} to {to_state}" in err.value.message


@settings(max_examples=200)
@given(st.lists(st.sampled_from(list(OrderState)), max_size=20))
def test_random_event_sequences_follow_the_table_and_chain(targets: list[OrderState]) -> None:
    order, events = created_draft()
    assert events[0].hash == order.event_hash
    for i, target in enumerate(targets):
        before = order.state
        try:
            order, event = order.move_to(target, actor="x", at=AT + timedelta(seconds=i))
        except IllegalTransition:
            assert target not in TRANSITIONS[before]
            assert order.state is before
            continue
        assert target in TRANSITIONS[before]
        assert (event.from_state, event.to_state) == (before, target)
        events.append(event)
    assert order.version == len(events)
    assert events[-1].hash == order.event_hash
    assert first_broken_seq(events) is None


def test_a_move_changes_only_state_version_hash_and_time() -> None:
    order, _ = created_draft()
    later = AT + timedelta(minutes=5)
    moved, event = order.move_to(S.VALIDATED, actor="m", at=later)
    assert moved == replace(order, state=S.VALIDATED, version=event.seq, event_hash=event.hash, updated_at=later)
    fresh = replace(order, version=0, event_hash=GENESIS_HASH)
    created, first = fresh.created(actor="m", at=later)
    assert created == replace(fresh, version=1, event_hash=first.hash, updated_at=later)
