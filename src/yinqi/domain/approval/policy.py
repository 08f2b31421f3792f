"""The approval policy: declarative rules that say who must approve which payment orders.

A policy is a TOML document (docs/approval-policy.md). Each `[[rules]]` entry has conditions
(all must hold) and either `steps` (n-of-m approvers from named roles, in order) or `auto = true`
(passes with no person). Amount conditions are in the policy's reporting currency: an order in
another currency is converted with the policy's `[reference_rates]` (reporting units per one unit
of the order currency, as decimal strings, never floats) and the result is rounded UP to the
reporting currency's minor unit, so rounding can never slip an amount under a limit. An order in a
currency without a rate matches every amount condition of a rule that needs approvers and none of
an auto rule: an unknown value fails closed.

`yinqi.domain.approval.document.parse_policy` validates a whole document and reports every problem
at once as `PolicyInvalid` (POLICY_INVALID), each naming the rule index and key.

>>> from yinqi.domain.approval.document import parse_policy
>>> policy = parse_policy('''
... reporting_currency = "EUR"
... [reference_rates]
... USD = "0.9"
... [[rules]]
... name = "small"
... amount_below = "100.00"
... auto = true
... ''')
>>> policy.to_reporting_minor(Money(11111, "USD"))  # 111.11 USD * 0.9 = 99.999 EUR, rounded up
10000
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_UP, Decimal

from yinqi.domain.currency import EXPONENTS
from yinqi.domain.identity.permissions import PERMISSIONS, Permission
from yinqi.domain.identity.principal import Role
from yinqi.domain.money import Money
from yinqi.domain.problems import DomainError, Problem

__all__ = ["APPROVING_ROLES", "CHANNELS", "RISK_LEVELS", "SOURCES", "Conditions", "OrderFacts", "Policy",
           "PolicyInvalid", "Rule", "Step"]

CHANNELS = frozenset({"normal", "urgent", "instant"})  # the order's urgency: which kind of channel carries it
SOURCES = frozenset({"api", "import", "console"})
RISK_LEVELS = frozenset({"low", "medium", "high"})
APPROVING_ROLES = frozenset(r for r, perms in PERMISSIONS.items() if Permission.ORDER_APPROVE in perms)
DEFAULT_EXPIRY = timedelta(hours=72)


class PolicyInvalid(DomainError):
    """The policy document breaks a rule; `problems` lists every one (`where` = rule index and key)."""

    code = "POLICY_INVALID"

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first.message + more, where=first.where, rule=first.rule, value=first.value)
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Step:
    """`count` distinct people, each holding one of `roles`, approve at this step (n of m)."""

    roles: frozenset[Role]
    count: int = 1


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What rule conditions read about an order (built by `plan.order_facts`)."""

    amount: Money
    reporting_minor: int | None  # None: no reference rate for the order's currency
    channel: str
    cross_border: bool
    payee_risk: str
    creator: str
    source: str
    metadata: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Conditions:
    """Every condition that is set must hold; an unset one (None) holds for every order."""

    amount_at_least_minor: int | None = None
    amount_below_minor: int | None = None
    currencies: frozenset[str] | None = None
    channels: frozenset[str] | None = None
    cross_border: bool | None = None
    payee_risk: frozenset[str] | None = None
    creators: frozenset[str] | None = None
    sources: frozenset[str] | None = None
    metadata: tuple[tuple[str, str], ...] = ()

    def hold_for(self, facts: OrderFacts, *, unknown_amount_matches: bool) -> bool:
        return self._amount_holds(facts.reporting_minor, unknown_amount_matches) and all((
            _within(self.currencies, facts.amount.currency), _within(self.channels, facts.channel),
            self.cross_border is None or self.cross_border == facts.cross_border,
            _within(self.payee_risk, facts.payee_risk), _within(self.creators, facts.creator),
            _within(self.sources, facts.source),
            all(facts.metadata.get(key) == value for key, value in self.metadata)))

    def _amount_holds(self, minor: int | None, unknown_matches: bool) -> bool:
        if self.amount_at_least_minor is None and self.amount_below_minor is None:
            return True
        if minor is None:
            return unknown_matches
        return ((self.amount_at_least_minor is None or minor >= self.amount_at_least_minor)
                and (self.amount_below_minor is None or minor < self.amount_below_minor))


def _within(allowed: frozenset[str] | None, value: str) -> bool:
    return allowed is None or value in allowed


@dataclass(frozen=True, slots=True)
class Rule:
    index: int
    name: str
    conditions: Conditions
    steps: tuple[Step, ...] = ()
    auto: bool = False
    expires_after: timedelta | None = None

    def matches(self, facts: OrderFacts) -> bool:
        """An amount that cannot be converted matches a rule with approvers, never an auto rule."""
        return self.conditions.hold_for(facts, unknown_amount_matches=not self.auto)


@dataclass(frozen=True, slots=True)
class Policy:
    reporting_currency: str
    rules: tuple[Rule, ...]
    reference_rates: Mapping[str, Decimal]
    role_limits_minor: Mapping[Role, int]  # in the reporting currency; a role not listed has no limit
    expires_after: timedelta = DEFAULT_EXPIRY

    def to_reporting_minor(self, money: Money) -> int | None:
        """`money` in reporting-currency minor units, rounded up; None without a reference rate."""
        if money.currency == self.reporting_currency:
            return money.minor
        rate = self.reference_rates.get(money.currency)
        if rate is None:
            return None
        scaled = (money.amount * rate).scaleb(EXPONENTS[self.reporting_currency])
        return int(scaled.to_integral_value(rounding=ROUND_UP))

    def format_reporting(self, minor: int) -> str:
        return str(Money(minor, self.reporting_currency))
