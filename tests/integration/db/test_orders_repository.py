"""The order repository on SQLite and PostgreSQL: round trip, unique serial per company,
optimistic locking, append-only hash-chained events."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.support.orders import install_policy, limit_policy, make_order
from tests.support.vault import TEST_VAULT
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.domain.money import Money
from yinqi.domain.orders.checks import build_order
from yinqi.domain.orders.commands import AccountInput, AddressInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.problems import DomainError

KEY = b"k" * 32
AT = datetime(2030, 1, 10, 9, 0, 0, 123456, tzinfo=UTC)


class Clock:
    def now(self) -> datetime:
        return AT


def command(serial: str = "S-1", company: str = "ACME", amount: str = "2500.00") -> CreateOrder:
    return CreateOrder(
        company_id=company, serial=serial, amount=amount, currency="CNY",
        requested_execution_date=date(2030, 1, 14), urgency="urgent", purpose_code="SUPP",
        remittance_info="发票 4711",
        payer=PayerInput(name="银企科技", account=AccountInput(number="6222021234567890", cnaps="102100099996"),
                         currency="CNY"),
        payee=PayeeInput(name="Fournisseur", account=AccountInput(iban="FR1420041010050500013M02606"), country="FR",
                         bic="BNPAFRPPXXX", address=AddressInput(street="Rue de Rivoli", town="Paris")))


def new_order(order_id: str, **kw: str) -> tuple[PaymentOrder, list]:
    order = build_order(command(**kw), order_id=order_id, today=date(2030, 1, 10), actor="maker", at=AT)
    order, created = order.created(actor="maker", at=AT)
    order, validated = order.move_to(OrderState.VALIDATED, actor="maker", at=AT)
    return order, [created, validated]


def uow(engine: Engine) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, ledger_key=KEY, vault=TEST_VAULT)


def test_an_order_reads_back_exactly_as_stored(engine: Engine) -> None:
    order, events = new_order("00000000-0000-4000-8000-000000000001")
    with uow(engine) as u:
        u.orders.add(order, events)
        u.commit()
    with uow(engine) as u:
        loaded = u.orders.get(order.id)
        stored_events = u.orders.events(order.id)
    assert loaded == order
    assert stored_events == events


def test_a_serial_is_unique_per_company_and_the_error_cites_the_existing_order(engine: Engine) -> None:
    first, events = new_order("00000000-0000-4000-8000-000000000001")
    second, events2 = new_order("00000000-0000-4000-8000-000000000002")
    with uow(engine) as u:
        u.orders.add(first, events)
        u.commit()
    with uow(engine) as u, pytest.raises(DomainError) as err:
        u.orders.add(second, events2)  # straight at the constraint, no pre-check
    assert err.value.code == "DUPLICATE_SERIAL"
    assert err.value.details["existing_order_id"] == first.id
    other, events3 = new_order("00000000-0000-4000-8000-000000000003", company="OTHER")
    with uow(engine) as u:
        u.orders.add(replace(other, end_to_end_id=replace(other.end_to_end_id, value="E3")), events3)
        u.commit()
        assert u.orders.count() == 2


def test_concurrent_creations_with_one_serial_store_one_order(engine: Engine) -> None:
    results: list[str] = []
    install_policy(lambda: uow(engine), limit_policy(0), clock=Clock())  # only the serial races

    def create() -> None:
        try:
            with uow(engine) as u:
                make_order(u, Clock(), command(), auto_limit_minor=0)
            results.append("created")
        except DomainError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["DUPLICATE_SERIAL"] * 5 + ["created"]
    with uow(engine) as u:
        assert u.orders.count() == 1


def test_saving_from_a_stale_version_is_refused(engine: Engine) -> None:
    order, events = new_order("00000000-0000-4000-8000-000000000001")
    with uow(engine) as u:
        u.orders.add(order, events)
        u.commit()
    pending, e1 = order.move_to(OrderState.PENDING_APPROVAL, actor="maker", at=AT)
    cancelled, e2 = order.move_to(OrderState.CANCELLED, actor="maker", at=AT)
    with uow(engine) as u:
        u.orders.save(pending, [e1], expected_version=order.version)
        u.commit()
    with uow(engine) as u, pytest.raises(DomainError) as err:
        u.orders.save(cancelled, [e2], expected_version=order.version)
    assert err.value.code == "ORDER_VERSION_CONFLICT"


@pytest.mark.parametrize("statement", ["UPDATE payment_order_events SET reason = 'x'",
                                       "DELETE FROM payment_order_events"])
def test_the_database_refuses_to_edit_or_delete_events(engine: Engine, statement: str) -> None:
    order, events = new_order("00000000-0000-4000-8000-000000000001")
    with uow(engine) as u:
        u.orders.add(order, events)
        u.commit()
    with engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(statement))


def test_an_edited_event_is_reported_as_a_broken_chain(engine: Engine) -> None:
    order, events = new_order("00000000-0000-4000-8000-000000000001")
    with uow(engine) as u:
        u.orders.add(order, events)
        u.commit()
    with engine.begin() as conn:  # an attacker with DDL rights switches the guard off first
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER payment_order_events_no_update"))
        else:
            conn.execute(text("ALTER TABLE payment_order_events DISABLE TRIGGER payment_order_events_append_only"))
        conn.execute(text("UPDATE payment_order_events SET actor = 'mallory' WHERE seq = 2"))
    with uow(engine) as u, pytest.raises(DomainError) as err:
        u.orders.events(order.id)
    assert err.value.code == "ORDER_CHAIN_BROKEN" and err.value.value == "2"


def test_listing_filters_by_company_and_state_and_pages_newest_first(engine: Engine) -> None:
    with uow(engine) as u:
        for i in range(5):
            make_order(u, Clock(), command(serial=f"S-{i}"), auto_limit_minor=0)
        make_order(u, Clock(), command(serial="X", company="OTHER"), auto_limit_minor=0)
    with uow(engine) as u:
        page1 = u.orders.list(company_id="ACME", limit=3)
        last = page1[-1]
        page2 = u.orders.list(company_id="ACME", limit=3, after=(last.created_at, last.id))
        assert len(page1) == 3 and len(page2) == 2
        assert {o.serial.value for o in page1 + page2} == {f"S-{i}" for i in range(5)}
        assert u.orders.list(state="APPROVED") == []
        assert len(u.orders.list(state="PENDING_APPROVAL")) == 6


def test_money_is_stored_as_integer_minor_units(engine: Engine) -> None:
    with uow(engine) as u:
        order = make_order(u, Clock(), command(amount="0.01"), auto_limit_minor=0)
    with engine.connect() as conn:
        minor = conn.execute(text("SELECT amount_minor FROM payment_orders")).scalar_one()
    assert minor == 1 and order.amount == Money(1, "CNY")
