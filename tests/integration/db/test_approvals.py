"""Approval use cases on SQLite and PostgreSQL: policy versions, plans, multi-step approval,
amendment, expiry, batch approval, the queue and the what-if, all through the real stores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.support.orders import MAKER, PAYEE_IBAN, PAYER_IBAN, POLICY_ADMIN, FixedClock, funded_uow_factory, person
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application import approval_policy, approval_queue, approvals, orders
from yinqi.domain.approval.policy import PolicyInvalid
from yinqi.domain.identity.principal import Principal, Role
from yinqi.domain.orders.commands import AccountInput, AddressInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.problems import DomainError

S = OrderState
TIERS = '''reporting_currency = "EUR"
[role_limits]
approver = "200000.00"
[[rules]]
name = "small"
amount_below = "1000.01"
auto = true
[[rules]]
name = "one approver"
amount_at_least = "1000.01"
steps = [{ roles = ["approver", "treasurer"] }]
[[rules]]
name = "and a treasurer"
amount_at_least = "5000.00"
expires_after = "24h"
steps = [{ roles = ["treasurer"] }]
'''
NewUow = Callable[[], SqlUnitOfWork]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def new(engine: Engine, clock: FixedClock) -> NewUow:
    factory = funded_uow_factory(engine, opening="100000.00", clock=clock)
    with factory() as uow:
        approval_policy.put_policy(uow=uow, clock=clock, principal=POLICY_ADMIN, document=TIERS, note="tiers")
    return factory


def command(amount: str, serial: str, *, source: str = "api") -> CreateOrder:
    return CreateOrder(company_id="ACME", serial=serial, amount=amount, currency="EUR",
                       requested_execution_date=date(2030, 1, 10), source=source,
                       payer=PayerInput(name="Acme", account=AccountInput(iban=PAYER_IBAN), currency="EUR"),
                       payee=PayeeInput(name="Fournisseur", account=AccountInput(iban=PAYEE_IBAN), country="FR",
                                        address=AddressInput(town="Paris")))


def create(new: NewUow, clock: FixedClock, amount: str, serial: str = "S-1", **kw: str) -> PaymentOrder:
    with new() as uow:
        return orders.create_order(uow=uow, clock=clock, principal=MAKER, command=command(amount, serial, **kw))


def approve(new: NewUow, clock: FixedClock, who: Principal, order_id: str) -> PaymentOrder:
    with new() as uow:
        return approvals.approve_order(uow=uow, clock=clock, principal=who, order_id=order_id)


def approver(clock: FixedClock, name: str = "ann", *roles: Role) -> Principal:
    return person(name, *(roles or (Role.APPROVER,)), step_up_at=clock.now())


def refused(fn: Callable[[], object]) -> str:
    with pytest.raises(DomainError) as err:
        fn()
    return err.value.code


def audit_actions(new: NewUow) -> list[tuple[str, str]]:
    with new() as uow:
        return [(e.action, e.outcome) for e in uow.audit.iter_all()]


def state(new: NewUow, order_id: str) -> OrderState:
    with new() as uow:
        return uow.orders.get(order_id).state  # type: ignore[no-any-return]


# --- policy versions -----------------------------------------------------------------------------
def test_policy_versions_append_and_each_change_is_audited_with_both_hashes(new: NewUow, clock: FixedClock) -> None:
    with new() as uow:
        same = approval_policy.put_policy(uow=uow, clock=clock, principal=POLICY_ADMIN, document=TIERS)
        second = approval_policy.put_policy(uow=uow, clock=clock, principal=POLICY_ADMIN, document=TIERS + "\n")
        versions = approval_policy.policy_versions(uow=uow, principal=POLICY_ADMIN)
        changes = [e for e in uow.audit.iter_all() if e.action == "policy.change"]
    assert (same.version, second.version) == (1, 2)
    assert [v.version for v in versions] == [2, 1, 0]
    assert [(c.before["version"], c.after["version"]) for c in changes] == [(0, 1), (1, 2)]  # type: ignore[index]
    assert changes[1].before["sha256"] == same.sha256 and changes[1].after["sha256"] == second.sha256  # type: ignore[index]


def test_only_a_policy_manager_changes_the_policy_and_an_invalid_one_is_refused(new: NewUow,
                                                                               clock: FixedClock) -> None:
    with new() as uow:
        assert refused(lambda: approval_policy.put_policy(uow=uow, clock=clock, principal=MAKER,
                                                          document=TIERS + " ")) == "FORBIDDEN"
        with pytest.raises(PolicyInvalid) as err:
            approval_policy.put_policy(uow=uow, clock=clock, principal=POLICY_ADMIN, document="rules = 1")
    assert {p.where for p in err.value.problems} == {"reporting_currency", "rules"}


def test_without_a_stored_version_the_built_in_policy_auto_approves_small_orders_only(engine: Engine,
                                                                                    clock: FixedClock) -> None:
    new = funded_uow_factory(engine, opening="100000.00", clock=clock)
    small = create(new, clock, "10000.00", "S-1")
    imported = create(new, clock, "10.00", "S-2", source="import")
    large = create(new, clock, "10000.01", "S-3")
    assert (small.state, imported.state, large.state) == (S.APPROVED, S.PENDING_APPROVAL, S.PENDING_APPROVAL)
    with new() as uow:
        assert uow.approvals.current_plan(small.id).plan.policy_version == 0


def test_a_policy_change_applies_to_new_orders_only(new: NewUow, clock: FixedClock) -> None:
    before = create(new, clock, "2000.00", "S-1")
    with new() as uow:
        approval_policy.put_policy(uow=uow, clock=clock, principal=POLICY_ADMIN,
                                   document=TIERS.replace('"1000.01"', '"3000.01"'))
    after = create(new, clock, "2000.01", "S-2")  # not the same amount: that would be held as a duplicate
    assert (before.state, after.state) == (S.PENDING_APPROVAL, S.APPROVED)
    assert approve(new, clock, approver(clock), before.id).state is S.APPROVED  # under its own plan


# --- approving -----------------------------------------------------------------------------------
def test_two_levels_are_filled_by_two_people_and_only_the_last_one_moves_the_money(new: NewUow,
                                                                                  clock: FixedClock) -> None:
    order = create(new, clock, "6000.00")
    first = approve(new, clock, approver(clock), order.id)
    assert first.state is S.PENDING_APPROVAL and first.version == order.version
    assert refused(lambda: approve(new, clock, approver(clock, "bob"), order.id)) == "APPROVAL_ROLE_REQUIRED"
    done = approve(new, clock, approver(clock, "tom", Role.TREASURER), order.id)
    assert done.state is S.APPROVED and done.reservation_seq is not None
    with new() as uow:
        given = uow.approvals.approvals(order.id, 1)
        events = uow.orders.events(order.id)
    assert [(a.approver_id, a.step, a.role, a.step_up_at) for a in given] == [
        ("ann", 0, Role.APPROVER, clock.now()), ("tom", 1, Role.TREASURER, clock.now())]
    assert events[-1].actor == "tom"
    assert [a for a in audit_actions(new) if a[0] == "order.approve"] == [("order.approve", "success")] * 2


def test_the_database_keeps_one_place_per_person_per_plan(new: NewUow, clock: FixedClock) -> None:
    order = create(new, clock, "6000.00")
    approve(new, clock, approver(clock, "ann", Role.APPROVER, Role.TREASURER), order.id)
    code = refused(lambda: approve(new, clock, approver(clock, "ann", Role.APPROVER, Role.TREASURER), order.id))
    assert code == "SOD_DUPLICATE_APPROVER" and state(new, order.id) is S.PENDING_APPROVAL


def test_expired_approvals_send_the_order_back_to_its_maker(new: NewUow, clock: FixedClock) -> None:
    order = create(new, clock, "6000.00")
    clock.at += timedelta(hours=24)
    assert refused(lambda: approve(new, clock, approver(clock), order.id)) == "APPROVAL_EXPIRED"
    with new() as uow:  # the maker amends: a fresh plan with a fresh expiry
        approvals.amend_order(uow=uow, clock=clock, principal=MAKER, order_id=order.id, amount="6000.01",
                              reason="renew", requested_execution_date=date(2030, 1, 14))
    assert approve(new, clock, approver(clock), order.id).state is S.PENDING_APPROVAL


# --- amending ------------------------------------------------------------------------------------
def test_an_amendment_invalidates_the_approvals_given_so_far(new: NewUow, clock: FixedClock) -> None:
    order = create(new, clock, "6000.00")
    approve(new, clock, approver(clock), order.id)
    with new() as uow:
        amended = approvals.amend_order(uow=uow, clock=clock, principal=MAKER, order_id=order.id, amount="7000.00",
                                        reason="invoice corrected")
        plan = uow.approvals.current_plan(order.id)
        event = uow.orders.events(order.id)[-1]
    assert amended.amount.format() == "7000.00" and amended.state is S.PENDING_APPROVAL
    assert plan.plan_seq == 2 and plan.planned_at_version == amended.version
    assert (event.from_state, event.to_state, event.data["amended"]["amount"]) == (
        S.PENDING_APPROVAL, S.PENDING_APPROVAL, {"before": "6000.00", "after": "7000.00"})
    second = approve(new, clock, approver(clock), order.id)  # ann again: her first approval no longer counts
    assert second.state is S.PENDING_APPROVAL
    with new() as uow:
        card = approval_queue.approval_status(uow=uow, principal=MAKER, order=second, now=clock.now())
    assert card is not None and card["current_step"] == 2 and [a["approver"] for a in card["invalidated"]] == ["ann"]


def test_an_amendment_to_a_small_amount_is_auto_approved(new: NewUow, clock: FixedClock) -> None:
    order = create(new, clock, "6000.00")
    with new() as uow:
        amended = approvals.amend_order(uow=uow, clock=clock, principal=MAKER, order_id=order.id, amount="600.00",
                                        reason="partial payment")
    assert amended.state is S.APPROVED


def test_an_approved_order_is_not_amended_and_only_its_maker_amends(new: NewUow, clock: FixedClock) -> None:
    order = create(new, clock, "2000.00")
    with new() as uow:
        assert refused(lambda: approvals.amend_order(uow=uow, clock=clock, principal=approver(clock),
                                                     order_id=order.id, amount="1.00", reason="x")) == "FORBIDDEN"
    approve(new, clock, approver(clock), order.id)
    with new() as uow:
        code = refused(lambda: approvals.amend_order(uow=uow, clock=clock, principal=MAKER, order_id=order.id,
                                                     amount="2500.00", reason="more"))
        assert code == "APPROVALS_INVALIDATED" and uow.orders.get(order.id).amount.format() == "2000.00"


def test_an_amendment_is_validated_like_a_new_order(new: NewUow, clock: FixedClock) -> None:
    order = create(new, clock, "2000.00")
    with new() as uow, pytest.raises(DomainError) as err:
        approvals.amend_order(uow=uow, clock=clock, principal=MAKER, order_id=order.id, amount="-5",
                              reason="x")
    assert err.value.code == "VALIDATION_FAILED" and err.value.problems[0].where == "amount"


# --- batch and queue -----------------------------------------------------------------------------
def test_a_batch_approves_each_order_on_its_own_and_totals_what_was_approved(new: NewUow,
                                                                           clock: FixedClock) -> None:
    a, b, c = (create(new, clock, amount, f"B-{i}") for i, amount in enumerate(["2000.00", "3000.50", "6000.00"]))
    own = create(new, clock, "1500.00", "B-own")
    with new() as uow:
        queue = approval_queue.approval_queue(uow=uow, principal=approver(clock), now=clock.now())
    assert {i.order.id for i in queue} == {a.id, b.id, c.id, own.id}  # created at one instant: any order
    maker_approver = person("maker", Role.OPERATOR, Role.APPROVER, step_up_at=clock.now())
    result = approvals.approve_orders(new_uow=new, clock=clock, principal=approver(clock),
                                      order_ids=[a.id, b.id, c.id, "missing", a.id])
    assert [(i.serial, i.outcome, i.error_code) for i in result.items] == [
        ("B-0", "approved", None), ("B-1", "approved", None), ("B-2", "step_recorded", None),
        ("", "refused", "ORDER_NOT_FOUND")]
    assert result.totals == {"EUR": "11000.50"}
    mine = approvals.approve_orders(new_uow=new, clock=clock, principal=maker_approver, order_ids=[own.id])
    assert (mine.items[0].error_code, mine.totals) == ("SOD_SELF_APPROVAL", {})
    assert ("order.approve", "denied") in audit_actions(new) and state(new, own.id) is S.PENDING_APPROVAL


def test_a_batch_without_a_fresh_step_up_touches_nothing(new: NewUow, clock: FixedClock) -> None:
    order = create(new, clock, "2000.00")
    stale = person("ann", Role.APPROVER, step_up_at=clock.now() - timedelta(minutes=6))
    assert refused(lambda: approvals.approve_orders(new_uow=new, clock=clock, principal=stale,
                                                    order_ids=[order.id])) == "STEP_UP_REQUIRED"
    assert state(new, order.id) is S.PENDING_APPROVAL


def test_the_queue_offers_only_what_i_may_approve_and_flags_a_missing_step_up(new: NewUow,
                                                                            clock: FixedClock) -> None:
    order = create(new, clock, "6000.00")
    with new() as uow:
        for_maker = approval_queue.approval_queue(uow=uow, principal=person("maker", Role.APPROVER), now=clock.now())
        for_risk = approval_queue.approval_queue(uow=uow, principal=person("rita", Role.RISK_OFFICER),
                                                 now=clock.now())
        stale = approval_queue.approval_queue(uow=uow, principal=person("ann", Role.APPROVER), now=clock.now())
    assert (for_maker, for_risk) == ([], [])
    item = stale[0].as_dict()
    assert item["order_id"] == order.id and item["needs_step_up"] and item["step"] == 1 and item["steps"] == 2
    assert item["payee"]["account"] != PAYEE_IBAN and item["payee"]["account"].endswith(PAYEE_IBAN[-4:])


# --- what-if -------------------------------------------------------------------------------------
def test_a_simulation_reports_which_orders_would_need_other_approvals_and_stores_nothing(
        new: NewUow, clock: FixedClock) -> None:
    for i, amount in enumerate(["500.00", "2000.00", "6000.00"]):
        create(new, clock, amount, f"W-{i}")
    stricter = TIERS.replace('amount_below = "1000.01"\nauto = true', 'amount_below = "100.00"\nauto = true')
    with new() as uow:
        result = approval_policy.simulate(uow=uow, principal=POLICY_ADMIN, document=stricter,
                                          since=clock.now() - timedelta(days=30), now=clock.now())
        versions = uow.approvals.policy_versions()
    assert [(o.serial, o.changed) for o in sorted(result.orders, key=lambda o: o.serial)] == [
        ("W-0", True), ("W-1", False), ("W-2", False)]
    assert result.summary() == {"orders": 3, "different": 1, "auto_before": 1, "auto_after": 0,
                                "more_approvals": 1, "fewer_approvals": 0}
    assert len(versions) == 1


# --- storage -------------------------------------------------------------------------------------
@pytest.mark.parametrize("sql", ["UPDATE order_approvals SET role = 'treasurer'", "DELETE FROM order_approvals",
                                 "UPDATE order_approval_plans SET expires_at = NULL",
                                 "DELETE FROM approval_policies"])
def test_the_database_refuses_to_rewrite_approvals_plans_or_policies(new: NewUow, clock: FixedClock,
                                                                    engine: Engine, sql: str) -> None:
    order = create(new, clock, "6000.00")
    approve(new, clock, approver(clock), order.id)
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(text(sql))
