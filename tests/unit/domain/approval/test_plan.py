"""Approval plans: matching rules add their steps in sequence, holds come first, no match needs one
approver, only auto rules approve with no person; each condition selects what it says."""

from __future__ import annotations

from datetime import timedelta

import pytest
from approval_fixtures import NOW, order, plan_of, policy

from yinqi.domain.approval.plan import ApprovalPlan, order_digest
from yinqi.domain.identity.principal import Role
from yinqi.domain.orders.holds import Hold

TIERS = policy('''
[reference_rates]
USD = "0.5"
[[rules]]
name = "small"
amount_below = "10000.01"
auto = true
[[rules]]
name = "approver"
amount_at_least = "10000.01"
steps = [{ roles = ["approver", "treasurer"], count = 1 }]
[[rules]]
name = "treasurer"
amount_at_least = "1000000.00"
expires_after = "24h"
steps = [{ roles = ["treasurer"], count = 2 }]
''')


def shape(plan: ApprovalPlan) -> list[tuple[list[str], int, str]]:
    return [(sorted(map(str, s.roles)), s.count, s.source) for s in plan.steps]


def test_a_small_order_matches_only_the_auto_rule_and_needs_nobody() -> None:
    plan = plan_of(order("10000.00"), TIERS)
    assert plan.auto and plan.expires_at is None and plan.matched_rules == ("rules[0] small",)


def test_several_matching_rules_need_each_rules_steps_in_document_order() -> None:
    plan = plan_of(order("2000000.00"), TIERS)
    assert shape(plan) == [(["approver", "treasurer"], 1, "rules[1] approver"),
                           (["treasurer"], 2, "rules[2] treasurer")]
    assert plan.expires_at == NOW + timedelta(hours=24)  # the shortest expiry of the matching rules


def test_the_amount_is_compared_in_the_reporting_currency() -> None:
    assert plan_of(order("20000.00", currency="USD", country="US", purpose="SUPP"), TIERS).auto  # 10,000.00 EUR
    assert not plan_of(order("20000.04", currency="USD", country="US", purpose="SUPP"), TIERS).auto


def test_an_order_no_rule_matches_needs_one_approver_never_silent_auto_approval() -> None:
    plan = plan_of(order("5.00"), policy('[[rules]]\namount_at_least = "100.00"\nauto = true'))
    assert shape(plan) == [(["approver"], 1, "default")] and not plan.auto
    assert plan.expires_at == NOW + timedelta(hours=72)  # the policy's default expiry


def test_an_amount_without_a_reference_rate_matches_approval_rules_and_never_an_auto_rule() -> None:
    plan = plan_of(order("1.00", currency="CHF", country="CH", purpose="SUPP"), TIERS)
    assert plan.reporting_minor is None
    assert [s[2] for s in shape(plan)] == ["rules[1] approver", "rules[2] treasurer"]


def test_each_hold_adds_a_step_for_its_role_before_the_rules_steps() -> None:
    holds = (Hold("DUPLICATE_SUSPECTED", "same payee and amount"),
             Hold("BENEFICIARY_MISMATCH", "other account", required_role=Role.TREASURER))
    plan = plan_of(order("10.00"), TIERS, holds)
    assert shape(plan) == [(["risk_officer"], 1, "hold DUPLICATE_SUSPECTED"),
                           (["treasurer"], 1, "hold BENEFICIARY_MISMATCH")]
    assert plan.steps[0].reason == "same payee and amount" and not plan.auto


@pytest.mark.parametrize(("condition", "matching", "other"), [
    ('currencies = ["USD"]', {"currency": "USD", "country": "US", "purpose": "SUPP"}, {}),
    ('channels = ["instant"]', {"urgency": "instant"}, {"urgency": "urgent"}),
    ("cross_border = true", {"country": "US", "purpose": "SUPP"}, {"country": "DE",
                                                                   "payee_iban": "DE75512108001245126199"}),
    ("cross_border = false", {"country": "DE", "payee_iban": "DE75512108001245126199"}, {"country": "FR"}),
    ('sources = ["import"]', {"source": "import"}, {"source": "console"}),
    ('creators = ["erp-bot"]', {"maker": "erp-bot"}, {"maker": "alice"}),
    ('metadata = { payee_country = "FR" }', {}, {"country": "BE", "payee_iban": "BE68539007547034"}),
])
def test_each_condition_selects_the_orders_it_names(condition: str, matching: dict[str, str],
                                                    other: dict[str, str]) -> None:
    p = policy(f'[[rules]]\nname = "c"\n{condition}\nsteps = [{{ roles = ["treasurer"] }}]\n'
               '[reference_rates]\nUSD = "1"')
    assert plan_of(order("5.00", **matching), p).matched_rules == ("rules[0] c",)
    assert plan_of(order("5.00", **other), p).matched_rules == ()


def test_payee_risk_comes_from_the_holds() -> None:
    p = policy('[[rules]]\nname = "risky"\npayee_risk = ["high"]\nsteps = [{ roles = ["treasurer"] }]\n'
               '[[rules]]\nname = "rest"\nauto = true')
    assert plan_of(order("5.00"), p).auto
    medium = plan_of(order("5.00"), p, (Hold("SCREENING", "weak name match", details={"risk": "medium"}),))
    high = plan_of(order("5.00"), p, (Hold("SCREENING", "strong name match"),))
    assert "rules[0] risky" not in medium.matched_rules and "rules[0] risky" in high.matched_rules


def test_the_order_digest_changes_with_amount_payee_and_date_only() -> None:
    base = order("100.00")
    assert order_digest(base) == order_digest(order("100.00"))
    assert order_digest(base) != order_digest(order("100.01"))
    assert order_digest(base) != order_digest(order("100.00", payee_iban="FR7630006000011234567890189"))
    keyed = order_digest(base, lambda account: "k" + account[-4:])
    assert keyed != order_digest(base) and base.payee.account.number not in keyed


def test_a_plan_survives_its_stored_form() -> None:
    plan = plan_of(order("2000000.00"), TIERS)
    again = ApprovalPlan.from_dict(plan.as_dict(), policy_version=7, expires_at=plan.expires_at)
    assert again == plan
