"""Order use cases on the real ledger, SQLite and PostgreSQL: money follows the order and the
trial balance stays zero through every path (approve, send, settle, reject, cancel, return)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select

from tests.support.orders import MAKER, checker, funded_uow_factory, make_order
from tests.support.vault import funds_codes
from yinqi.adapters.db.tables.outbox import outbox
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application import approvals
from yinqi.application import orders as cases
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.problems import DomainError

S = OrderState
KEY = b"k" * 32
IBAN = "DE89370400440532013000"
(AVAILABLE, HELD), OUTGOING = funds_codes(IBAN), "payments:outgoing:EUR"


class Clock:
    def now(self) -> datetime:
        return datetime(2030, 1, 10, 9, 0, tzinfo=UTC)


CLOCK = Clock()


def command(amount: str, serial: str = "S-1") -> CreateOrder:
    return CreateOrder(
        company_id="ACME", serial=serial, amount=amount, currency="EUR", requested_execution_date=date(2030, 1, 10),
        payer=PayerInput(name="Acme", account=AccountInput(iban=IBAN), currency="EUR"),
        payee=PayeeInput(name="Payee", account=AccountInput(iban="FR1420041010050500013M02606"), country="FR"))


@pytest.fixture
def hub(engine: Engine):  # type: ignore[no-untyped-def]
    return funded_uow_factory(engine, opening="1000.00", clock=CLOCK)


def balances(hub) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with hub() as u:
        held = u.ledger.balance(HELD).minor
        outgoing = u.ledger.balance(OUTGOING).minor if _exists(u, OUTGOING) else 0
        assert set(u.ledger.trial_balance().values()) <= {0}
        return u.ledger.balance(AVAILABLE).minor, held, outgoing


def _exists(u: SqlUnitOfWork, code: str) -> bool:
    try:
        u.ledger.balance(code)
        return True
    except DomainError:
        return False


CHECKER = checker(CLOCK)
OPS = checker(CLOCK, "ops", "treasurer")


def run(hub, case, **kw) -> PaymentOrder:  # type: ignore[no-untyped-def]
    with hub() as u:
        return case(uow=u, clock=CLOCK, **kw)  # type: ignore[no-any-return]


def create(hub, amount: str = "100.00", serial: str = "S-1", limit: int = 50_000) -> PaymentOrder:  # type: ignore[no-untyped-def]
    with hub() as u:
        return make_order(u, CLOCK, command(amount, serial), auto_limit_minor=limit)  # type: ignore[no-any-return]


def test_the_happy_path_books_reserve_then_settlement(hub) -> None:  # type: ignore[no-untyped-def]
    order = create(hub)
    assert order.state is S.APPROVED and balances(hub) == (90_000, 10_000, 0)
    run(hub, cases.release_order, principal=OPS, order_id=order.id)
    run(hub, cases.mark_sent, actor="worker", order_id=order.id, message_id="MSG-1")
    run(hub, cases.apply_bank_status, actor="bank", status="ACSC", end_to_end_id=order.end_to_end_id.value)
    settled = run(hub, cases.settle_order, actor="recon", order_id=order.id)
    assert settled.state is S.SETTLED and balances(hub) == (90_000, 0, 10_000)
    with hub() as u:
        events = u.orders.events(order.id)
        released_rows = u.conn.execute(select(func.count()).select_from(outbox)
                                       .where(outbox.c.topic == "order.released")).scalar_one()
    assert [e.to_state for e in events] == [S.DRAFT, S.VALIDATED, S.APPROVED, S.RELEASED, S.SENT, S.ACCEPTED,
                                            S.SETTLED]
    assert released_rows == 1


def test_a_large_order_is_approved_by_a_checker_then_rejected_by_the_bank(hub) -> None:  # type: ignore[no-untyped-def]
    order = create(hub, "800.00")
    assert order.state is S.PENDING_APPROVAL
    run(hub, approvals.approve_order, principal=CHECKER, order_id=order.id, auto_release=True)
    assert balances(hub) == (20_000, 80_000, 0)
    for _ in range(2):  # the same pain.002 twice
        rejected = run(hub, cases.apply_bank_status, actor="bank", status="RJCT", order_id=order.id, reason="AC04")
    assert rejected.state is S.REJECTED and balances(hub) == (100_000, 0, 0)


def test_approval_beyond_the_available_funds_is_refused_and_changes_nothing(hub) -> None:  # type: ignore[no-untyped-def]
    order = create(hub, "1200.00")
    with pytest.raises(DomainError) as err:
        run(hub, approvals.approve_order, principal=CHECKER, order_id=order.id)
    assert err.value.code == "INSUFFICIENT_FUNDS"
    with hub() as u:
        assert u.orders.get(order.id).state is S.PENDING_APPROVAL
        assert u.ledger.balance(AVAILABLE).minor == 100_000


def test_cancel_releases_the_reservation(hub) -> None:  # type: ignore[no-untyped-def]
    order = create(hub)
    run(hub, cases.cancel_order, principal=MAKER, order_id=order.id, reason="duplicate invoice")
    assert balances(hub) == (100_000, 0, 0)


def test_a_return_after_settlement_makes_the_amount_available_again(hub) -> None:  # type: ignore[no-untyped-def]
    order = create(hub)
    run(hub, cases.release_order, principal=OPS, order_id=order.id)
    run(hub, cases.mark_sent, actor="worker", order_id=order.id, message_id="MSG-1")
    run(hub, cases.settle_order, actor="recon", order_id=order.id)
    returned = run(hub, cases.return_order, actor="recon", order_id=order.id, reason="AC01 closed account")
    assert returned.state is S.RETURNED and balances(hub) == (100_000, 0, 0)


def test_an_insufficiently_funded_auto_approval_stores_no_order(hub) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as err:
        create(hub, "400.00", "BIG", limit=10_000_000)
        create(hub, "700.00", "BIGGER", limit=10_000_000)
    assert err.value.code == "INSUFFICIENT_FUNDS"
    with hub() as u:
        assert u.orders.find_by_serial("ACME", "BIGGER") is None
        assert u.orders.count() == 1
    assert balances(hub) == (60_000, 40_000, 0)
