"""Holds for a new order, on both backends: suspected duplicates, beneficiary mismatches and
beneficiary accounts in their cooling-off period (`yinqi.application.holds.find_holds`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from tests.support.vault import TEST_VAULT
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application import beneficiaries as cases
from yinqi.application.holds import find_holds
from yinqi.domain.identity.principal import Channel, Principal, Role
from yinqi.domain.orders.checks import build_order
from yinqi.domain.orders.commands import AccountInput, AddressInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.holds import Hold
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.orders.order import PaymentOrder

AT = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
KEY = b"k" * 32
PAYEE_IBAN = "FR1420041010050500013M02606"
OTHER_IBAN = "FR7630006000011234567890189"
MAKER = Principal("u-maker", "maker", frozenset({Role.OPERATOR}), frozenset({"ACME"}), Channel.API)
CHECKER = Principal("u-checker", "checker", frozenset({Role.APPROVER}), frozenset({"ACME"}), Channel.API)


class Clock:
    def __init__(self, at: datetime = AT) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def uow(engine: Engine) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, ledger_key=KEY, vault=TEST_VAULT)


def command(serial: str, *, amount: str = "2500.00", day: date = date(2030, 1, 10), iban: str = PAYEE_IBAN,
            name: str = "Fournisseur SARL", company: str = "ACME") -> CreateOrder:
    return CreateOrder(
        company_id=company, serial=serial, amount=amount, currency="EUR", requested_execution_date=day,
        payer=PayerInput(name="Acme", account=AccountInput(iban="DE89370400440532013000"), currency="EUR"),
        payee=PayeeInput(name=name, account=AccountInput(iban=iban), country="FR",
                         address=AddressInput(town="Paris")))


def order(serial: str, **kw: Any) -> PaymentOrder:
    return build_order(command(serial, **kw), order_id=f"00000000-0000-4000-8000-{serial.rjust(12, '0')}",
                       today=date(2030, 1, 10), actor="maker", at=AT)


def store(engine: Engine, serial: str, *, state: OrderState = OrderState.PENDING_APPROVAL, **kw: Any) -> PaymentOrder:
    o = order(serial, **kw)
    o, created = o.created(actor="maker", at=AT)
    events = [created]
    path = [OrderState.CANCELLED] if state is OrderState.CANCELLED else [OrderState.VALIDATED, state]
    for step in path:
        o, event = o.move_to(step, actor="maker", at=AT)
        events.append(event)
    with uow(engine) as u:
        u.orders.add(o, events)
        u.commit()
    return o


def holds_for(engine: Engine, o: PaymentOrder, *, now: datetime = AT, window: int = 3) -> list[Hold]:
    with uow(engine) as u:
        return find_holds(u, o, now=now, duplicate_window_days=window)


# --- duplicates ------------------------------------------------------------------------------
def test_an_order_like_another_within_the_window_is_held_naming_the_other_order(engine: Engine) -> None:
    first = store(engine, "1", day=date(2030, 1, 11))
    second = order("2", day=date(2030, 1, 14))  # three days later, the edge of the window
    holds = holds_for(engine, second)
    assert [h.code for h in holds] == ["DUPLICATE_SUSPECTED"]
    assert holds[0].required_role is Role.RISK_OFFICER
    assert holds[0].details["other_order_id"] == first.id and holds[0].details["other_serial"] == "1"
    assert holds[0].details["payee_account"] == "FR14*******************2606"


def test_an_order_outside_the_window_is_not_held(engine: Engine) -> None:
    store(engine, "1")
    assert holds_for(engine, order("2", day=date(2030, 1, 14))) == []
    assert [h.code for h in holds_for(engine, order("3", day=date(2030, 1, 14)), window=4)] == [
        "DUPLICATE_SUSPECTED"]


def test_a_cancelled_other_order_does_not_count(engine: Engine) -> None:
    store(engine, "1", state=OrderState.CANCELLED)
    assert holds_for(engine, order("2")) == []


def test_another_amount_account_or_company_is_no_duplicate(engine: Engine) -> None:
    store(engine, "1")
    assert holds_for(engine, order("2", amount="2500.01")) == []
    assert holds_for(engine, order("3", iban=OTHER_IBAN)) == []
    assert holds_for(engine, order("4", company="OTHER")) == []


def test_the_order_itself_once_stored_is_not_its_own_duplicate(engine: Engine) -> None:
    stored = store(engine, "1")
    assert holds_for(engine, stored) == []


# --- beneficiaries -----------------------------------------------------------------------------
def approved_beneficiary(engine: Engine, *, iban: str = PAYEE_IBAN) -> str:
    with uow(engine) as u:
        change = cases.propose_beneficiary(uow=u, clock=Clock(AT - timedelta(days=10)), principal=MAKER,
                                           company_id="ACME", name="Fournisseur SARL",
                                           account=AccountInput(iban=iban), country="FR")
    with uow(engine) as u:
        cases.approve_change(uow=u, clock=Clock(AT - timedelta(days=10)), principal=CHECKER, change_id=change.id)
    return change.beneficiary_id


def test_a_payee_named_like_an_approved_beneficiary_with_another_account_is_held_with_both_masked(
        engine: Engine) -> None:
    beneficiary_id = approved_beneficiary(engine)
    holds = holds_for(engine, order("1", iban=OTHER_IBAN, name="FOURNISSEUR"))
    assert [h.code for h in holds] == ["BENEFICIARY_MISMATCH"]
    assert holds[0].details == {"beneficiary_id": beneficiary_id, "beneficiary_name": "Fournisseur SARL",
                                "beneficiary_account": "FR14*******************2606",
                                "order_account": "FR76*******************0189"}
    assert PAYEE_IBAN not in holds[0].reason and OTHER_IBAN not in holds[0].reason


def test_the_approved_account_itself_is_not_held(engine: Engine) -> None:
    approved_beneficiary(engine)
    assert holds_for(engine, order("1")) == []


def test_a_changed_account_is_held_while_it_cools_off_and_not_after(engine: Engine) -> None:
    beneficiary_id = approved_beneficiary(engine)
    with uow(engine) as u:
        change = cases.propose_change(uow=u, clock=Clock(), principal=MAKER, beneficiary_id=beneficiary_id,
                                      account=AccountInput(iban=OTHER_IBAN))
    with uow(engine) as u:
        cases.approve_change(uow=u, clock=Clock(), principal=CHECKER, change_id=change.id,
                             cooling_off=timedelta(hours=24))
    holds = holds_for(engine, order("1", iban=OTHER_IBAN), now=AT + timedelta(hours=23))
    assert [h.code for h in holds] == ["BENEFICIARY_COOLING_OFF"]
    assert holds[0].details["cooling_off_until"] == (AT + timedelta(hours=24)).isoformat()
    assert holds_for(engine, order("2", iban=OTHER_IBAN), now=AT + timedelta(hours=24)) == []
    # the old account is now the mismatch
    assert [h.code for h in holds_for(engine, order("3"), now=AT + timedelta(hours=25))] == ["BENEFICIARY_MISMATCH"]
