"""Approval policy documents: every validation rule with its code and `where`, conversion to the
reporting currency with its rounding, and a fuzzed parser that never fails any other way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yinqi.domain.approval.document import parse_duration, parse_policy
from yinqi.domain.approval.policy import PolicyInvalid
from yinqi.domain.identity.principal import Role
from yinqi.domain.money import Money

HEAD = 'reporting_currency = "EUR"\n'
RULE = '[[rules]]\nname = "r"\nsteps = [{ roles = ["approver"], count = 1 }]\n'


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(PolicyInvalid) as err:
        parse_policy(text)
    assert err.value.code == "POLICY_INVALID"
    return [(p.where, p.rule) for p in err.value.problems]


def test_a_valid_document_reads_into_rules_with_their_steps_and_limits() -> None:
    policy = parse_policy(HEAD + 'expires_after = "48h"\n[role_limits]\napprover = "50000.00"\n'
                          '[[rules]]\nname = "big"\namount_at_least = "10000.00"\ncurrencies = ["eur", "USD"]\n'
                          'channels = ["Urgent"]\ncross_border = true\npayee_risk = ["high"]\ncreators = ["erp"]\n'
                          'sources = ["API"]\nmetadata = { cost_centre = "42" }\n'
                          'steps = [{ roles = ["approver", "treasurer"], count = 2 }, { roles = ["treasurer"] }]\n')
    rule = policy.rules[0]
    assert (rule.name, rule.index, rule.auto) == ("big", 0, False)
    assert [(sorted(s.roles), s.count) for s in rule.steps] == [([Role.APPROVER, Role.TREASURER], 2),
                                                                ([Role.TREASURER], 1)]
    c = rule.conditions
    assert (c.amount_at_least_minor, c.currencies, c.channels, c.sources) == (
        1_000_000, frozenset({"EUR", "USD"}), frozenset({"urgent"}), frozenset({"api"}))
    assert (c.cross_border, c.payee_risk, c.creators, c.metadata) == (
        True, frozenset({"high"}), frozenset({"erp"}), (("cost_centre", "42"),))
    assert policy.role_limits_minor == {Role.APPROVER: 5_000_000}
    assert policy.expires_after.total_seconds() == 48 * 3600


@pytest.mark.parametrize(("text", "expected"), [
    ('reporting_currency = "EURO"\nrules = []', ("reporting_currency", "iso4217")),
    (HEAD + "rules = 3", ("rules", "array_of_tables")),
    (HEAD + "colour = 1\nrules = []", ("colour", "known_key")),
    (HEAD + '[[rules]]\ncolour = "red"\nauto = true', ("rules[0].colour", "known_key")),
    (HEAD + "[[rules]]\nauto = true\nname = 7", ("rules[0].name", "text")),
    (HEAD + '[[rules]]\nauto = "yes"', ("rules[0].auto", "boolean")),
    (HEAD + '[[rules]]\nname = "x"', ("rules[0].steps", "steps_required")),
    (HEAD + '[[rules]]\nauto = true\nsteps = [{ roles = ["approver"] }]', ("rules[0].steps", "auto_has_no_steps")),
    (HEAD + '[[rules]]\nsteps = []', ("rules[0].steps", "array_of_tables")),
    (HEAD + '[[rules]]\nsteps = [{ roles = ["admin"] }]', ("rules[0].steps[0].roles", "approving_role")),
    (HEAD + '[[rules]]\nsteps = [{ roles = [] }]', ("rules[0].steps[0].roles", "approving_role")),
    (HEAD + '[[rules]]\nsteps = [{ roles = ["approver"], count = 0 }]', ("rules[0].steps[0].count", "count_range")),
    (HEAD + '[[rules]]\nsteps = [{ roles = ["approver"], count = 11 }]', ("rules[0].steps[0].count", "count_range")),
    (HEAD + '[[rules]]\nsteps = [{ roles = ["approver"], count = true }]', ("rules[0].steps[0].count", "count_range")),
    (HEAD + '[[rules]]\nsteps = [{ roles = ["approver"], n = 1 }]', ("rules[0].steps[0].n", "known_key")),
    (HEAD + RULE + "amount_below = 10.5", ("rules[0].amount_below", "no_float")),
    (HEAD + RULE + 'amount_below = "ten"', ("rules[0].amount_below", "decimal_syntax")),
    (HEAD + RULE + 'amount_below = "10.001"', ("rules[0].amount_below", "currency_exponent")),
    (HEAD + RULE + 'amount_at_least = "-1"', ("rules[0].amount_at_least", "not_negative")),
    (HEAD + RULE + 'amount_at_least = "1e20"', ("rules[0].amount_at_least", "max_digits")),
    (HEAD + RULE + 'amount_at_least = "5"\namount_below = "5"', ("rules[0].amount_below", "range_not_empty")),
    (HEAD + RULE + 'currencies = ["EUR", "ABC"]', ("rules[0].currencies", "one_of")),
    (HEAD + RULE + "currencies = []", ("rules[0].currencies", "list_of_text")),
    (HEAD + RULE + 'channels = ["fax"]', ("rules[0].channels", "one_of")),
    (HEAD + RULE + 'sources = ["email"]', ("rules[0].sources", "one_of")),
    (HEAD + RULE + 'payee_risk = ["extreme"]', ("rules[0].payee_risk", "one_of")),
    (HEAD + RULE + 'cross_border = "no"', ("rules[0].cross_border", "boolean")),
    (HEAD + RULE + "metadata = { a = 1 }", ("rules[0].metadata", "table_of_text")),
    (HEAD + RULE + 'expires_after = "3 days"', ("rules[0].expires_after", "duration")),
    (HEAD + RULE + 'expires_after = "91d"', ("rules[0].expires_after", "duration_range")),
    (HEAD + 'expires_after = "0h"\nrules = []', ("expires_after", "duration_range")),
    (HEAD + "rules = []\n[reference_rates]\nUSD = 0.9", ("reference_rates.USD", "no_float")),
    (HEAD + 'rules = []\n[reference_rates]\nUSD = "0"', ("reference_rates.USD", "positive")),
    (HEAD + 'rules = []\n[reference_rates]\nXYZ = "1"', ("reference_rates.XYZ", "iso4217")),
    (HEAD + 'rules = []\nreference_rates = "1"', ("reference_rates", "table")),
    (HEAD + 'rules = []\n[role_limits]\nadmin = "1"', ("role_limits.admin", "approving_role")),
    (HEAD + 'rules = []\n[role_limits]\napprover = "1.001"', ("role_limits.approver", "currency_exponent")),
    (HEAD + 'rules = []\nrole_limits = 5', ("role_limits", "table")),
    ("rules = [", ("document", "toml_syntax")),
])
def test_each_validation_rule_names_its_rule_index_and_key(text: str, expected: tuple[str, str]) -> None:
    assert expected in problems(text)


def test_every_problem_of_every_rule_is_reported_at_once() -> None:
    found = problems(HEAD + '[[rules]]\nauto = true\n[[rules]]\namount_below = 1.0\n'
                     'steps = [{ roles = ["auditor"], count = 0 }]')
    assert found == [("rules[1].steps[0].roles", "approving_role"), ("rules[1].steps[0].count", "count_range"),
                     ("rules[1].amount_below", "no_float")]


def test_a_message_names_the_rule_index_and_key() -> None:
    with pytest.raises(PolicyInvalid) as err:
        parse_policy(HEAD + RULE + 'currencies = ["EUR", "ABC"]')
    assert err.value.where == "rules[0].currencies" and err.value.message.startswith("rules[0].currencies:")


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("111.11", "USD", 10_000),   # 99.999 EUR: rounded up, never down
    ("100.00", "USD", 9_000),    # exact: no rounding
    ("0.01", "USD", 1),          # 0.009 EUR → 0.01
    ("1", "JPY", 1),             # 0.0062 EUR → 0.01
    ("1612", "JPY", 1_000),      # 9.9944 → 10.00
    ("42.42", "EUR", 4_242),     # the reporting currency itself
])
def test_amounts_convert_to_the_reporting_currency_rounded_up(amount: str, currency: str, expected: int) -> None:
    policy = parse_policy(HEAD + 'rules = []\n[reference_rates]\nUSD = "0.9"\nJPY = "0.0062"\n')
    assert policy.to_reporting_minor(Money.parse(amount, currency)) == expected


def test_a_currency_without_a_reference_rate_has_no_reporting_amount() -> None:
    assert parse_policy(HEAD + "rules = []").to_reporting_minor(Money.parse("1", "CHF")) is None


def test_a_reporting_currency_with_three_decimals_keeps_them() -> None:
    policy = parse_policy('reporting_currency = "KWD"\nrules = []\n[reference_rates]\nEUR = "0.3333"\n')
    assert policy.to_reporting_minor(Money.parse("1.00", "EUR")) == 334  # 0.3333 KWD → 0.334
    assert parse_policy('reporting_currency = "KWD"\n' + RULE + 'amount_below = "1.234"').rules[0] \
        .conditions.amount_below_minor == 1234


def test_durations_read_minutes_hours_and_days() -> None:
    assert [parse_duration(t).total_seconds() for t in ("30m", "72h", "3d")] == [1800, 259_200, 259_200]


@given(st.text(max_size=300))
def test_any_text_is_a_policy_or_a_policy_invalid_error(text: str) -> None:
    try:
        parse_policy(text)
    except PolicyInvalid as exc:
        assert exc.problems and all(p.code == "POLICY_INVALID" and p.where for p in exc.problems)


values = st.one_of(st.integers(-5, 20), st.floats(allow_nan=True), st.text(max_size=8), st.booleans(),
                   st.lists(st.text(max_size=5), max_size=3), st.just("10000.00"), st.just(["approver"]))
rules = st.dictionaries(st.sampled_from(["name", "auto", "steps", "amount_at_least", "amount_below", "currencies",
                                         "channels", "cross_border", "payee_risk", "sources", "expires_after",
                                         "creators", "metadata", "other"]), values, max_size=6)


@given(st.lists(rules, max_size=4), st.sampled_from(["EUR", "JPY", "XXX", ""]))
def test_any_structure_of_rules_is_valid_or_refused_with_problems_never_another_error(
        raw: list[dict[str, object]], currency: str) -> None:
    import json

    body = "".join("[[rules]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in r.items()
                                            if not isinstance(v, float) or v == v) for r in raw)
    try:
        policy = parse_policy(f'reporting_currency = "{currency}"\n' + (body or "rules = []\n"))
    except PolicyInvalid as exc:
        assert exc.problems
    else:
        assert all(rule.auto != bool(rule.steps) for rule in policy.rules)
        assert all(isinstance(r, Decimal) for r in policy.reference_rates.values())
