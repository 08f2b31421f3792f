"""The maker–checker workflow: n-of-m steps filled in order, and each refusal with its own code."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from approval_fixtures import NOW, order, person, plan_of, policy

from yinqi.domain.approval.plan import ApprovalPlan
from yinqi.domain.approval.workflow import Approval, current_step, decide, refusal
from yinqi.domain.identity.principal import Role
from yinqi.domain.problems import DomainError

A, R, T = Role.APPROVER, Role.RISK_OFFICER, Role.TREASURER
TWO_LEVELS = policy('''
[role_limits]
approver = "100000.00"
[[rules]]
name = "two of approvers or treasurers"
steps = [{ roles = ["approver", "treasurer"], count = 2 }]
[[rules]]
name = "then a treasurer"
amount_at_least = "50000.00"
expires_after = "2h"
steps = [{ roles = ["treasurer"] }]
''')
ORDER = order("60000.00")
PLAN = plan_of(ORDER, TWO_LEVELS)


def give(plan: ApprovalPlan, approvals: list[Approval], who: object, *, at: object = NOW,
         o: object = ORDER) -> list[Approval]:
    decision = decide(plan=plan, approvals=approvals, order=o, principal=who, now=at)  # type: ignore[arg-type]
    return [*approvals, decision.approval]


def code(plan: ApprovalPlan, approvals: list[Approval], who: object, *, at: object = NOW, o: object = ORDER) -> str:
    with pytest.raises(DomainError) as err:
        give(plan, approvals, who, at=at, o=o)
    assert refusal(plan=plan, approvals=approvals, order=o, principal=who, now=at).code == err.value.code  # type: ignore[arg-type, union-attr]
    return err.value.code


def test_two_of_m_then_a_treasurer_fills_the_plan_in_order() -> None:
    given = give(PLAN, [], person("ann"))
    assert current_step(PLAN, given) == 0
    given = give(PLAN, given, person("bob", T))
    assert current_step(PLAN, given) == 1
    last = decide(plan=PLAN, approvals=given, order=ORDER, principal=person("tom", T), now=NOW)
    assert last.completes and last.approval.step == 1 and last.approval.role is T
    assert [(a.approver_id, a.step) for a in given] == [("ann", 0), ("bob", 0)]


def test_the_approval_records_the_step_up_time_method_and_order_version() -> None:
    approval = give(PLAN, [], person("ann", stepped_up=timedelta(minutes=3)))[0]
    assert (approval.step_up_at, approval.method, approval.order_version, approval.at) == (
        NOW - timedelta(minutes=3), "totp", ORDER.version, NOW)


def test_the_maker_may_not_approve_their_own_order() -> None:
    assert code(PLAN, [], person("maker", A, T)) == "SOD_SELF_APPROVAL"


def test_one_person_fills_one_place_only_even_across_levels() -> None:
    first = give(PLAN, [], person("ann", A, T))
    assert code(PLAN, first, person("ann", A, T)) == "SOD_DUPLICATE_APPROVER"  # twice in one 2-of-m step
    filled = give(PLAN, first, person("bob", A, T))
    assert code(PLAN, filled, person("bob", A, T)) == "SOD_DUPLICATE_APPROVER"  # again at the next level


def test_the_current_step_needs_one_of_its_roles() -> None:
    filled = give(PLAN, give(PLAN, [], person("ann")), person("bob"))
    assert code(PLAN, filled, person("rita", R)) == "APPROVAL_ROLE_REQUIRED"
    assert code(PLAN, [], person("rita", R)) == "APPROVAL_ROLE_REQUIRED"


def test_an_approver_whose_limit_is_below_the_amount_is_refused() -> None:
    big = order("100000.01")
    plan = plan_of(big, TWO_LEVELS)
    assert code(plan, [], person("ann", A), o=big) == "APPROVAL_LIMIT_EXCEEDED"
    assert give(plan, [], person("tom", T), o=big)  # no limit for treasurers
    assert give(plan, [], person("ann", A, T), o=big)[0].role is T  # the role with the higher limit counts


def test_a_per_user_limit_overrides_the_role_limit_both_ways() -> None:
    big = order("100000.01")
    plan = plan_of(big, TWO_LEVELS)
    assert give(plan, [], person("ann", A, limit=20_000_000), o=big)
    assert code(plan, [], person("tom", T, limit=5_000_000), o=big) == "APPROVAL_LIMIT_EXCEEDED"


def test_an_amount_without_a_reference_rate_passes_only_an_approver_without_limit() -> None:
    chf = order("10.00", currency="CHF", country="CH", purpose="SUPP")
    plan = plan_of(chf, TWO_LEVELS)
    assert code(plan, [], person("ann", A), o=chf) == "APPROVAL_LIMIT_EXCEEDED"
    assert give(plan, [], person("tom", T), o=chf)


def test_approvals_expire_and_the_order_goes_back_to_its_maker() -> None:
    later = NOW + timedelta(hours=2)
    assert code(PLAN, [], person("ann", at=later), at=later) == "APPROVAL_EXPIRED"
    assert give(PLAN, [], person("ann", at=later - timedelta(seconds=1)), at=later - timedelta(seconds=1))


def test_an_order_changed_after_its_plan_was_made_is_refused() -> None:
    changed = replace(ORDER, amount=order("60000.01").amount)
    assert code(PLAN, [], person("ann"), o=changed) == "APPROVALS_INVALIDATED"


@pytest.mark.parametrize("stepped_up", [None, timedelta(minutes=5, seconds=1), timedelta(seconds=-1)])
def test_approving_needs_a_totp_verification_in_the_last_five_minutes(stepped_up: timedelta | None) -> None:
    assert code(PLAN, [], person("ann", stepped_up=stepped_up)) == "STEP_UP_REQUIRED"


def test_authorisation_is_refused_before_step_up_is_asked_for() -> None:
    assert code(PLAN, [], person("maker", A, stepped_up=None)) == "SOD_SELF_APPROVAL"
    assert give(PLAN, [], person("ann", stepped_up=timedelta(minutes=5)))  # exactly five minutes still counts


def test_a_single_approver_step_completes_at_once() -> None:
    plan = plan_of(order("5.00"), policy("rules = []"))
    decision = decide(plan=plan, approvals=[], order=order("5.00"), principal=person("ann"), now=NOW)
    assert decision.completes and decision.approval.step == 0
