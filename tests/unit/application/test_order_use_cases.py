"""Order use cases against in-memory fakes of the ports: states, events, money, outbox."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from fakes import FakeClock, FakeUnitOfWork

from tests.support.orders import MAKER, checker, limit_policy, person
from tests.support.vault import funds_codes
from yinqi.application import approvals
from yinqi.application import orders as cases
from yinqi.application.approval_policy import put_policy
from yinqi.domain.identity.principal import Role
from yinqi.domain.money import Money
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.problems import DomainError

S = OrderState
PAYER_IBAN = "DE89370400440532013000"
AVAILABLE, HELD = funds_codes(PAYER_IBAN)
LIMIT = 100_000  # 1,000.00


def command(amount: str = "2500.00", serial: str = "S-1") -> CreateOrder:
    return CreateOrder(
        company_id="ACME", serial=serial, amount=amount, currency="EUR",
        requested_execution_date=date(2030, 1, 10),
        payer=PayerInput(name="Acme", account=AccountInput(iban=PAYER_IBAN), currency="EUR"),
        payee=PayeeInput(name="Payee", account=AccountInput(iban="FR1420041010050500013M02606"), country="FR"))


def with_policy(u: FakeUnitOfWork) -> FakeUnitOfWork:
    put_policy(uow=u, clock=FakeClock(), principal=person("admin", Role.ADMIN), document=limit_policy(LIMIT))
    u.commits = 0  # count the use cases' commits only
    return u


@pytest.fixture
def uow() -> FakeUnitOfWork:
    u = with_policy(FakeUnitOfWork())
    u.ledger.fund(AVAILABLE, Money.parse("10000.00", "EUR"))
    return u


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def create(uow: FakeUnitOfWork, clock: FakeClock, amount: str = "2500.00", *, serial: str = "S-1",
           auto_release: bool = False) -> PaymentOrder:
    return cases.create_order(uow=uow, clock=clock, principal=MAKER, command=command(amount, serial),
                              auto_release=auto_release)


def approved(uow: FakeUnitOfWork, clock: FakeClock) -> PaymentOrder:
    return create(uow, clock, "500.00")


def balance(uow: FakeUnitOfWork, code: str) -> int:
    return uow.ledger.balance(code).minor


def bank_rows(uow: FakeUnitOfWork) -> list[dict]:
    """Outbox rows for the bank worker (every state change also queues an ERP webhook row)."""
    return [r for r in uow.outbox.rows if r["topic"] != "webhook.order_status"]


def kinds(uow: FakeUnitOfWork, order: PaymentOrder) -> list[str]:
    return [e.kind for e in uow.orders.events(order.id)]


# --- create -------------------------------------------------------------------------------------
def test_order_above_the_auto_approval_limit_waits_for_approval_with_nothing_booked(uow, clock) -> None:
    order = create(uow, clock)
    assert order.state is S.PENDING_APPROVAL
    assert kinds(uow, order) == ["OrderCreated", "OrderValidated", "OrderSubmittedForApproval"]
    assert balance(uow, AVAILABLE) == 1_000_000 and uow.commits == 1


def test_order_within_the_limit_is_auto_approved_and_its_funds_reserved(uow, clock) -> None:
    order = approved(uow, clock)
    assert order.state is S.APPROVED and order.reservation_seq is not None
    assert kinds(uow, order)[-1] == "OrderApproved"
    assert uow.orders.events(order.id)[-1].actor == cases.AUTO_APPROVER
    assert (balance(uow, AVAILABLE), balance(uow, HELD)) == (950_000, 50_000)


def test_auto_release_sends_an_auto_approved_order_to_the_outbox(uow, clock) -> None:
    order = create(uow, clock, "500.00", auto_release=True)
    assert order.state is S.RELEASED
    assert [r["topic"] for r in bank_rows(uow)] == ["order.released"]
    assert bank_rows(uow)[0]["payload"]["end_to_end_id"] == order.end_to_end_id.value


def test_auto_approval_without_funds_fails_and_stores_nothing(clock) -> None:
    empty = with_policy(FakeUnitOfWork())
    with pytest.raises(DomainError) as err:
        create(empty, clock, "500.00")
    assert err.value.code == "INSUFFICIENT_FUNDS"
    assert empty.orders.orders == {} and empty.commits == 0


def test_a_reused_serial_is_refused_citing_the_existing_order(uow, clock) -> None:
    first = create(uow, clock)
    with pytest.raises(DomainError) as err:
        create(uow, clock, "1.00")
    assert err.value.code == "DUPLICATE_SERIAL"
    assert err.value.details["existing_order_id"] == first.id and first.id in err.value.message


def test_invalid_input_raises_validation_failed_with_every_problem(uow, clock) -> None:
    bad = replace(command(), amount="-1", serial="")
    with pytest.raises(DomainError) as err:
        cases.create_order(uow=uow, clock=clock, principal=MAKER, command=bad)
    assert err.value.code == "VALIDATION_FAILED"
    assert {p.where for p in err.value.problems} == {"amount", "serial"}


def test_execution_date_in_the_past_is_judged_by_the_clock_passed_in(uow) -> None:
    late = FakeClock(FakeClock().at.replace(day=11))
    with pytest.raises(DomainError) as err:
        create(uow, late)
    assert err.value.problems[0].rule == "not_in_past"


# --- approval -----------------------------------------------------------------------------------
def test_cannot_approve_own_payment_order(uow, clock) -> None:
    order = create(uow, clock)
    with pytest.raises(DomainError) as err:
        approvals.approve_order(uow=uow, clock=clock, principal=checker(clock, "maker"), order_id=order.id)
    assert err.value.code == "SOD_SELF_APPROVAL"
    assert uow.orders.get(order.id).state is S.PENDING_APPROVAL


def test_approval_by_another_user_reserves_the_funds(uow, clock) -> None:
    order = create(uow, clock)
    done = approvals.approve_order(uow=uow, clock=clock, principal=checker(clock), order_id=order.id)
    assert done.state is S.APPROVED and balance(uow, HELD) == 250_000
    assert uow.orders.events(order.id)[-1].actor == "checker"


def test_approval_without_funds_leaves_the_order_pending(uow, clock) -> None:
    order = create(uow, clock, "20000.00")
    with pytest.raises(DomainError) as err:
        approvals.approve_order(uow=uow, clock=clock, principal=checker(clock), order_id=order.id)
    assert err.value.code == "INSUFFICIENT_FUNDS"
    assert uow.orders.get(order.id).state is S.PENDING_APPROVAL


def test_approver_can_reject_a_pending_order_but_not_an_approved_one(uow, clock) -> None:
    pending = create(uow, clock)
    rejected = approvals.reject_order(uow=uow, clock=clock, principal=checker(clock), order_id=pending.id, reason="no")
    assert rejected.state is S.REJECTED
    auto = create(uow, clock, "10.00", serial="S-2")
    with pytest.raises(DomainError) as err:
        approvals.reject_order(uow=uow, clock=clock, principal=checker(clock), order_id=auto.id, reason="no")
    assert err.value.code == "ORDER_ILLEGAL_TRANSITION"


def test_reject_needs_a_reason(uow, clock) -> None:
    pending = create(uow, clock)
    with pytest.raises(DomainError) as err:
        approvals.reject_order(uow=uow, clock=clock, principal=checker(clock), order_id=pending.id, reason=" ")
    assert err.value.code == "VALIDATION_FAILED" and err.value.where == "reason"


# --- release, send, bank status -----------------------------------------------------------------
def released(uow: FakeUnitOfWork, clock: FakeClock) -> PaymentOrder:
    order = approved(uow, clock)
    return cases.release_order(uow=uow, clock=clock, principal=checker(clock, "ops", Role.TREASURER),
                               order_id=order.id)


def test_release_queues_exactly_one_outbox_row_and_cannot_repeat(uow, clock) -> None:
    order = released(uow, clock)
    assert order.state is S.RELEASED and len(bank_rows(uow)) == 1
    with pytest.raises(DomainError) as err:
        cases.release_order(uow=uow, clock=clock, principal=checker(clock, "ops", Role.TREASURER),
                               order_id=order.id)
    assert err.value.code == "ORDER_ILLEGAL_TRANSITION" and len(bank_rows(uow)) == 1


def test_mark_sent_records_the_message_and_is_idempotent_for_the_same_message(uow, clock) -> None:
    order = released(uow, clock)
    sent = cases.mark_sent(uow=uow, clock=clock, actor="worker", order_id=order.id, message_id="M1")
    again = cases.mark_sent(uow=uow, clock=clock, actor="worker", order_id=order.id, message_id="M1")
    assert sent.state is S.SENT and sent.bank_message_id == "M1" and again.version == sent.version
    with pytest.raises(DomainError) as err:
        cases.mark_sent(uow=uow, clock=clock, actor="worker", order_id=order.id, message_id="M2")
    assert err.value.code == "BANK_MESSAGE_MISMATCH"


def sent(uow: FakeUnitOfWork, clock: FakeClock) -> PaymentOrder:
    order = released(uow, clock)
    return cases.mark_sent(uow=uow, clock=clock, actor="worker", order_id=order.id, message_id="M1")


@pytest.mark.parametrize("status", ["ACCP", "ACSC", "ACSP"])
def test_bank_acceptance_moves_the_order_to_accepted_and_a_replay_changes_nothing(uow, clock, status) -> None:
    order = sent(uow, clock)
    accepted = cases.apply_bank_status(uow=uow, clock=clock, actor="bank", status=status,
                                       end_to_end_id=order.end_to_end_id.value)
    replay = cases.apply_bank_status(uow=uow, clock=clock, actor="bank", status=status, order_id=order.id)
    assert accepted.state is S.ACCEPTED and accepted.bank_status == status
    assert replay.version == accepted.version == len(uow.orders.events(order.id))


def test_bank_rejection_reverses_the_reservation_once(uow, clock) -> None:
    order = sent(uow, clock)
    for _ in range(2):
        rejected = cases.apply_bank_status(uow=uow, clock=clock, actor="bank", status="RJCT",
                                           order_id=order.id, reason="AC04")
    assert rejected.state is S.REJECTED and rejected.bank_reason == "AC04"
    assert (balance(uow, AVAILABLE), balance(uow, HELD)) == (1_000_000, 0)


def test_a_status_for_a_released_order_implies_it_was_sent(uow, clock) -> None:
    order = released(uow, clock)
    accepted = cases.apply_bank_status(uow=uow, clock=clock, actor="bank", status="ACCP", order_id=order.id)
    assert accepted.state is S.ACCEPTED
    assert kinds(uow, order)[-2:] == ["OrderSent", "OrderAccepted"]


def test_interim_statuses_change_nothing_and_unknown_ones_are_refused(uow, clock) -> None:
    order = sent(uow, clock)
    same = cases.apply_bank_status(uow=uow, clock=clock, actor="bank", status="ACTC", order_id=order.id)
    assert same.version == order.version
    with pytest.raises(DomainError) as err:
        cases.apply_bank_status(uow=uow, clock=clock, actor="bank", status="WHAT", order_id=order.id)
    assert err.value.code == "BANK_STATUS_UNKNOWN"


def test_unknown_end_to_end_id_is_not_found(uow, clock) -> None:
    with pytest.raises(DomainError) as err:
        cases.apply_bank_status(uow=uow, clock=clock, actor="bank", status="ACCP", end_to_end_id="NOPE")
    assert err.value.code == "ORDER_NOT_FOUND"


# --- settlement, cancel, return, failure ---------------------------------------------------------
def test_settlement_books_outgoing_against_held(uow, clock) -> None:
    order = sent(uow, clock)
    settled = cases.settle_order(uow=uow, clock=clock, actor="recon", order_id=order.id)
    assert settled.state is S.SETTLED and settled.settlement_seq is not None
    assert (balance(uow, HELD), balance(uow, "payments:outgoing:EUR")) == (0, 50_000)
    assert balance(uow, AVAILABLE) == 950_000


def test_settling_an_unsent_order_is_refused(uow, clock) -> None:
    order = approved(uow, clock)
    with pytest.raises(DomainError) as err:
        cases.settle_order(uow=uow, clock=clock, actor="recon", order_id=order.id)
    assert err.value.code == "ORDER_ILLEGAL_TRANSITION"


def test_cancel_before_release_gives_the_reserved_funds_back(uow, clock) -> None:
    order = approved(uow, clock)
    cancelled = cases.cancel_order(uow=uow, clock=clock, principal=MAKER, order_id=order.id, reason="dup")
    assert cancelled.state is S.CANCELLED and balance(uow, AVAILABLE) == 1_000_000


def test_cancel_after_release_is_refused(uow, clock) -> None:
    order = released(uow, clock)
    with pytest.raises(DomainError) as err:
        cases.cancel_order(uow=uow, clock=clock, principal=MAKER, order_id=order.id, reason="late")
    assert err.value.code == "ORDER_ILLEGAL_TRANSITION"
    assert err.value.details == {"from": "RELEASED", "to": "CANCELLED"}


def test_return_after_settlement_reverses_settlement_and_reservation(uow, clock) -> None:
    order = sent(uow, clock)
    cases.settle_order(uow=uow, clock=clock, actor="recon", order_id=order.id)
    returned = cases.return_order(uow=uow, clock=clock, actor="recon", order_id=order.id, reason="AC01")
    assert returned.state is S.RETURNED
    assert (balance(uow, AVAILABLE), balance(uow, HELD), balance(uow, "payments:outgoing:EUR")) == (1_000_000, 0, 0)


def test_a_failed_release_gives_the_funds_back(uow, clock) -> None:
    order = released(uow, clock)
    failed = cases.fail_order(uow=uow, clock=clock, actor="worker", order_id=order.id, reason="no channel")
    assert failed.state is S.FAILED and balance(uow, AVAILABLE) == 1_000_000


def test_every_use_case_commits_exactly_once(uow, clock) -> None:
    before = uow.commits
    order = sent(uow, clock)  # create + release + mark_sent
    assert uow.commits - before == 3
    assert kinds(uow, order) == ["OrderCreated", "OrderValidated", "OrderApproved", "OrderReleased", "OrderSent"]
