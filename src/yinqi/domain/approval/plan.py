"""The approval plan: which approvals one order needs, in which order, until when.

`make_plan` reads the order (and its holds) against a policy:
- every hold adds a step first: one person with the hold's `required_role` clears it;
- every matching rule with steps adds its steps, rule after rule, in document order;
- a matching auto rule adds nothing; when nothing at all is needed the order is auto-approved;
- when NO rule matches, one approver is needed: a gap in the policy never approves silently.

The plan keeps what its checks need later, so a policy change applies to new orders only: the
role limits and the reporting amount of the policy it was made with, and a digest of the order's
payment content (`order_digest`): approvals given to one amount, payee or date never carry over
to another.

>>> [sorted(map(str, step.roles)) for step in default_steps()]
[['approver']]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from yinqi.domain.approval.policy import RISK_LEVELS, OrderFacts, Policy
from yinqi.domain.identity.principal import Role
from yinqi.domain.orders.holds import Hold
from yinqi.domain.orders.order import PaymentOrder

__all__ = ["ApprovalPlan", "PlannedStep", "default_steps", "make_plan", "order_digest", "order_facts"]

_RISK_ORDER = ("low", "medium", "high")


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """`count` distinct people holding one of `roles`; `source` says which rule or hold asked."""

    roles: frozenset[Role]
    count: int
    source: str
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"roles": sorted(self.roles), "count": self.count, "source": self.source, "reason": self.reason}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PlannedStep:
        return cls(roles=frozenset(Role(r) for r in raw["roles"]), count=int(raw["count"]),
                   source=str(raw["source"]), reason=str(raw.get("reason", "")))


@dataclass(frozen=True, slots=True)
class ApprovalPlan:
    steps: tuple[PlannedStep, ...]
    expires_at: datetime | None  # None for an auto-approved order (nothing to wait for)
    order_digest: str
    reporting_currency: str
    reporting_minor: int | None  # the order amount in the reporting currency; None: no reference rate
    role_limits_minor: Mapping[Role, int]
    matched_rules: tuple[str, ...]
    policy_version: int

    @property
    def auto(self) -> bool:
        return not self.steps

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def as_dict(self) -> dict[str, Any]:
        """The JSON form stored with the plan (times are kept in their own column)."""
        return {"steps": [s.as_dict() for s in self.steps], "order_digest": self.order_digest,
                "reporting_currency": self.reporting_currency, "reporting_minor": self.reporting_minor,
                "role_limits_minor": {str(r): v for r, v in sorted(self.role_limits_minor.items())},
                "matched_rules": list(self.matched_rules)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, policy_version: int, expires_at: datetime | None) -> ApprovalPlan:
        return cls(steps=tuple(PlannedStep.from_dict(s) for s in raw["steps"]), expires_at=expires_at,
                   order_digest=str(raw["order_digest"]), reporting_currency=str(raw["reporting_currency"]),
                   reporting_minor=raw["reporting_minor"],
                   role_limits_minor={Role(r): int(v) for r, v in raw["role_limits_minor"].items()},
                   matched_rules=tuple(raw["matched_rules"]), policy_version=policy_version)


def default_steps() -> tuple[PlannedStep, ...]:
    """What an order no rule matches needs: one approver (never a silent auto-approval)."""
    return (PlannedStep(frozenset({Role.APPROVER}), 1, source="default", reason="no policy rule matched"),)


def payer_country(order: PaymentOrder) -> str:
    account = order.payer.account
    return account.iban.country_code if account.iban is not None else "CN"


def payee_risk(holds: Sequence[Hold]) -> str:
    """The highest risk a hold reports (`details['risk']`); a hold without one counts as high."""
    levels = [str(h.details.get("risk", "high")).lower() for h in holds]
    known = [lvl if lvl in RISK_LEVELS else "high" for lvl in levels]
    return max(known, key=_RISK_ORDER.index, default="low")


def order_facts(order: PaymentOrder, holds: Sequence[Hold], policy: Policy) -> OrderFacts:
    metadata = {"company_id": order.company_id, "payee_country": order.payee.country.value,
                "purpose_code": order.purpose_code or "", "payer_country": payer_country(order)}
    extra = getattr(order, "metadata", None) or {}
    metadata.update({str(k): str(v) for k, v in extra.items()})
    return OrderFacts(amount=order.amount, reporting_minor=policy.to_reporting_minor(order.amount),
                      channel=order.urgency.value, cross_border=order.payee.country.value != payer_country(order),
                      payee_risk=payee_risk(holds), creator=order.created_by, source=order.source.value,
                      metadata=metadata)


def _plain(normalised: str) -> str:
    return normalised


def order_digest(order: PaymentOrder, account_id: Callable[[str], str] = _plain) -> str:
    """sha256 of what an approver approves: amount, payer and payee accounts, payee, date, urgency.
    `account_id` turns an account into what is hashed: the caller passes its keyed blind index, so
    the stored digest cannot be brute-forced back into an account number (R19)."""
    payee = order.payee
    content = {"amount_minor": order.amount.minor, "currency": order.amount.currency,
               "payer_account": account_id(order.payer.account.normalised), "payee_name": payee.name,
               "payee_account": account_id(payee.account.normalised),
               "payee_bic": payee.bic.value if payee.bic else None,
               "payee_country": payee.country.value, "date": order.requested_execution_date.isoformat(),
               "urgency": order.urgency.value}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def make_plan(*, order: PaymentOrder, holds: Sequence[Hold], policy: Policy, policy_version: int,
              now: datetime, digest: str | None = None) -> ApprovalPlan:
    """The plan for `order`; `digest` is its `order_digest` as the caller computes it (keyed)."""
    facts = order_facts(order, holds, policy)
    matched = [rule for rule in policy.rules if rule.matches(facts)]
    hold_steps = [PlannedStep(frozenset({h.required_role}), 1, source=f"hold {h.code}", reason=h.reason)
                  for h in holds]
    rule_steps = [PlannedStep(step.roles, step.count, source=f"rules[{rule.index}] {rule.name}")
                  for rule in matched for step in rule.steps]
    steps = tuple(hold_steps + rule_steps) if matched else (*hold_steps, *default_steps())
    expiries = [r.expires_after for r in matched if r.expires_after is not None and not r.auto]
    expires_at = now + min(expiries, default=policy.expires_after) if steps else None
    return ApprovalPlan(steps=steps, expires_at=expires_at, order_digest=digest or order_digest(order),
                        reporting_currency=policy.reporting_currency, reporting_minor=facts.reporting_minor,
                        role_limits_minor=dict(policy.role_limits_minor),
                        matched_rules=tuple(f"rules[{r.index}] {r.name}" for r in matched),
                        policy_version=policy_version)
