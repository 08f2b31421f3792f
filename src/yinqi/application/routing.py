"""Routing use cases: choose the channel for released orders, and explain a choice.

The rules are pure (`yinqi.domain.routing.rules`); this module supplies what they need from
storage: the channels (from configuration, passed in), `now` (from the clock, passed in) and the
amounts each channel has already carried today. Today's usage is counted per bank, currency set
and debtor account from the stored bank messages (messages do not record their channel yet), so
two channel types at the same bank account share one count: conservative, never over the limit.
Within one build pass, each routed order adds to its channel at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.routing.channel import Channel, default_channels
from yinqi.domain.routing.explain import explanation_dict
from yinqi.domain.routing.rules import NoRoute, OrderFacts, RouteExplanation, evaluate, route

Routed = tuple[PaymentOrder, RouteExplanation]
Refused = tuple[PaymentOrder, NoRoute]

__all__ = ["Refused", "RouteReport", "Routed", "channels_or_default", "explain_order_route", "report_dict",
           "route_orders", "routed_today"]


def channels_or_default(channels: Sequence[Channel], *, bank_id: str) -> tuple[Channel, ...]:
    """The configured channels, or, with none, the one-bank defaults (the hub before routing)."""
    return tuple(channels) or default_channels(bank_id=bank_id)


def _day_start(channel: Channel, now: datetime) -> datetime:
    local = now.astimezone(channel.zone)
    return datetime.combine(local.date(), time(0), tzinfo=channel.zone)


def _debtor_number(account_key: str | None) -> str | None:
    return account_key.split("@", 1)[0] if account_key else None


def routed_today(uow: Any, channels: Iterable[Channel], *, now: datetime) -> dict[str, int]:
    """Minor units each channel with a daily limit has carried since its local midnight."""
    return {c.name: uow.bank_messages.routed_minor_since(
                bank_id=c.bank_id, since=_day_start(c, now), currencies=c.currencies,
                debtor_account=_debtor_number(c.account_key))
            for c in channels if c.daily_limit_minor is not None}


def route_orders(uow: Any, orders: Iterable[PaymentOrder], *, channels: Sequence[Channel],
                 now: datetime) -> tuple[list[Routed], list[Refused]]:
    """Route each order in turn (ordered by id, so a pass is reproducible); returns the routed
    orders and the ones no channel can carry, each with its `NoRoute` error."""
    used = routed_today(uow, channels, now=now)
    routed: list[Routed] = []
    refused: list[Refused] = []
    for order in sorted(orders, key=lambda o: o.id):
        try:
            explanation = route(facts=OrderFacts.of(order), channels=channels, now=now, routed_today_minor=used)
        except NoRoute as exc:
            refused.append((order, exc))
            continue
        assert explanation.chosen is not None
        name = explanation.chosen.channel.name
        used[name] = used.get(name, 0) + order.amount.minor
        routed.append((order, explanation))
    return routed, refused


@dataclass(frozen=True, slots=True)
class RouteReport:
    """What `route explain` shows: the decision as of now, and where the order actually went."""

    order: PaymentOrder
    explanation: RouteExplanation
    sent_message_id: str | None
    sent_bank_id: str | None


def explain_order_route(*, uow: Any, order_id: str, channels: Sequence[Channel], now: datetime) -> RouteReport:
    """The route the hub would choose for the order now, every alternative's reasons, and the
    bank message it is already in, if any.

    Raises:
        OrderNotFound (ORDER_NOT_FOUND): no such order.
    """
    order = uow.orders.get(order_id)
    explanation = evaluate(facts=OrderFacts.of(order), channels=channels, now=now,
                           routed_today_minor=routed_today(uow, channels, now=now))
    item = uow.bank_messages.item_for_order(order_id)
    message = uow.bank_messages.get(item.message_id) if item is not None else None
    return RouteReport(order=order, explanation=explanation, sent_message_id=item.message_id if item else None,
                       sent_bank_id=message.bank_id if message is not None else None)


def report_dict(report: RouteReport) -> dict[str, Any]:
    """The JSON contract of `route explain --json` and `GET …/route` (see `routing.explain`),
    plus the order's state and the bank message it went out in (null before it is built)."""
    return {**explanation_dict(report.explanation), "state": report.order.state.value,
            "sent": {"message_id": report.sent_message_id, "bank_id": report.sent_bank_id}
            if report.sent_message_id else None}
