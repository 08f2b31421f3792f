"""Orders, policies and principals for the approval domain tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from yinqi.domain.approval.document import parse_policy
from yinqi.domain.approval.plan import ApprovalPlan, make_plan
from yinqi.domain.approval.policy import Policy
from yinqi.domain.identity.principal import Channel, Principal, Role
from yinqi.domain.orders.checks import build_order
from yinqi.domain.orders.commands import AccountInput, AddressInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.holds import Hold
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.orders.order import PaymentOrder

NOW = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
PAYER_IBAN = "DE89370400440532013000"


def order(amount: str = "50000.00", *, currency: str = "EUR", country: str = "FR", urgency: str = "normal",
          source: str = "api", maker: str = "maker", payee_iban: str = "FR1420041010050500013M02606",
          purpose: str | None = None) -> PaymentOrder:
    built = build_order(CreateOrder(
        company_id="ACME", serial="S-1", amount=amount, currency=currency, requested_execution_date=date(2030, 1, 10),
        payer=PayerInput(name="Acme", account=AccountInput(iban=PAYER_IBAN), currency=currency),
        payee=PayeeInput(name="Payee", account=AccountInput(iban=payee_iban), country=country,
                         address=AddressInput(town="Town")),
        urgency=urgency, source=source, purpose_code=purpose), order_id="O-1", today=NOW.date(), actor=maker, at=NOW)
    return replace(built, state=OrderState.PENDING_APPROVAL, version=3)


def policy(body: str, head: str = 'reporting_currency = "EUR"\n') -> Policy:
    return parse_policy(head + body)


def plan_of(o: PaymentOrder, p: Policy, holds: tuple[Hold, ...] = (), *, at: datetime = NOW) -> ApprovalPlan:
    return make_plan(order=o, holds=holds, policy=p, policy_version=7, now=at)


def person(name: str, *roles: Role, limit: int | None = None, stepped_up: timedelta | None = timedelta(0),
           at: datetime = NOW) -> Principal:
    """`stepped_up`: how long ago the TOTP code was verified (None: never)."""
    return Principal(user_id=name, username=name, roles=frozenset(roles or {Role.APPROVER}),
                     companies=frozenset({"ACME"}), channel=Channel.CONSOLE, approval_limit_minor=limit,
                     step_up_at=None if stepped_up is None else at - stepped_up)
