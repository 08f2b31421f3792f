"""R13 (beneficiary case) — a beneficiary's IBAN is changed and a payment to it is approved at once:
the approval is refused with BENEFICIARY_CHANGE_PENDING while the change waits for its second pair
of eyes, and again while the approved new account cools off. The order does not advance (still
PENDING_APPROVAL, no approval recorded, no funds reserved) and the refusal is in the audit trail.
Runs on SQLite and PostgreSQL, through `yinqi.application.approvals.approve_order`; the refusal is
recorded with `audit.record_refusal` in its own transaction, as the API and console do."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.support.orders import MAKER, PAYEE_IBAN, PAYER_IBAN, FixedClock, checker, funded_uow_factory, make_order
from yinqi.application import audit
from yinqi.application import beneficiaries as beneficiary_cases
from yinqi.application.approvals import approve_order
from yinqi.domain.identity.principal import Role
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.problems import DomainError

NEW_IBAN = "FR7630006000011234567890189"


def command(serial: str, *, iban: str = PAYEE_IBAN) -> CreateOrder:
    return CreateOrder(company_id="ACME", serial=serial, amount="2500.00", currency="EUR",
                       requested_execution_date=date(2030, 1, 10),
                       payer=PayerInput(name="Acme", account=AccountInput(iban=PAYER_IBAN), currency="EUR"),
                       payee=PayeeInput(name="Fournisseur", account=AccountInput(iban=iban), country="FR"))


def try_approve(new_uow: Any, clock: FixedClock, order_id: str, *roles: Role) -> DomainError:
    approver = checker(clock, "order-checker", *roles)
    with new_uow() as uow, pytest.raises(DomainError) as refused:
        approve_order(uow=uow, clock=clock, principal=approver, order_id=order_id)
    audit.record_refusal(new_uow, principal=approver, action="order.approve", object_type="payment_order",
                         object_id=order_id, at=clock.now(), error=refused.value, company_id="ACME")
    return refused.value


def assert_not_advanced(new_uow: Any, engine: Engine, order_id: str) -> None:
    with new_uow() as uow:
        order = uow.orders.get(order_id)
    assert order.state is OrderState.PENDING_APPROVAL and order.reservation_seq is None
    with engine.connect() as conn:
        approvals = conn.execute(text("SELECT count(*) FROM order_approvals WHERE order_id = :o"),
                                 {"o": order_id}).scalar_one()
    assert approvals == 0


def denied(engine: Engine, order_id: str) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text(
            "SELECT reason FROM audit_events WHERE action = 'order.approve' AND outcome = 'denied' "
            "AND object_id = :o ORDER BY seq"), {"o": order_id})]


def test_a_payment_to_a_beneficiary_whose_iban_just_changed_is_not_approved(engine: Engine) -> None:
    clock = FixedClock()
    new_uow = funded_uow_factory(engine, opening="100000.00", clock=clock)
    maker = MAKER
    approver = checker(clock, "beneficiary-checker", Role.APPROVER)
    with new_uow() as uow:  # the supplier is approved master data since last month
        created = beneficiary_cases.propose_beneficiary(
            uow=uow, clock=FixedClock(clock.at - timedelta(days=30)), principal=maker, company_id="ACME",
            name="Fournisseur", account=AccountInput(iban=PAYEE_IBAN), country="FR")
    with new_uow() as uow:
        beneficiary_cases.approve_change(uow=uow, clock=FixedClock(clock.at - timedelta(days=30)),
                                         principal=approver, change_id=created.id)
    with new_uow() as uow:
        order = make_order(uow, clock, command("R13-1"), auto_limit_minor=0)
    assert order.state is OrderState.PENDING_APPROVAL

    with new_uow() as uow:  # "our bank details have changed"
        change = beneficiary_cases.propose_change(uow=uow, clock=clock, principal=maker,
                                                  beneficiary_id=created.beneficiary_id,
                                                  account=AccountInput(iban=NEW_IBAN))
    refused = try_approve(new_uow, clock, order.id)
    assert (refused.code, refused.rule) == ("BENEFICIARY_CHANGE_PENDING", "no_pending_change")
    assert refused.details["change_id"] == change.id
    assert_not_advanced(new_uow, engine, order.id)
    assert [r.split(":")[0] for r in denied(engine, order.id)] == ["BENEFICIARY_CHANGE_PENDING"]

    with new_uow() as uow:  # four eyes say yes: the new account now cools off for 24 hours
        beneficiary_cases.approve_change(uow=uow, clock=clock, principal=approver, change_id=change.id,
                                         cooling_off=timedelta(hours=24))
    with new_uow() as uow:  # paid at once to the new account: held for a risk officer ...
        to_new = make_order(uow, clock, command("R13-2", iban=NEW_IBAN), auto_limit_minor=0)
        plan = uow.approvals.current_plan(to_new.id).plan
    assert "BENEFICIARY_COOLING_OFF" in " ".join(step.source for step in plan.steps)
    refused = try_approve(new_uow, clock, to_new.id, Role.RISK_OFFICER)  # ... who may not clear it yet
    assert (refused.code, refused.rule) == ("BENEFICIARY_CHANGE_PENDING", "cooling_off")
    assert_not_advanced(new_uow, engine, to_new.id)
    assert len(denied(engine, to_new.id)) == 1

    later = FixedClock(clock.at + timedelta(hours=24))  # cooled off: the payment may be approved
    for roles in ((Role.RISK_OFFICER,), (Role.APPROVER, Role.TREASURER)):
        with new_uow() as uow:
            approved = approve_order(uow=uow, clock=later, principal=checker(later, f"{roles[0]}-1", *roles),
                                     order_id=to_new.id)
    assert approved.state is OrderState.APPROVED
