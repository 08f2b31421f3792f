"""Properties: whatever the channels, a chosen channel carries the currency, stays within its
limits and is available; and the decision does not depend on the order channels are listed in."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from yinqi.domain.orders.order import Urgency
from yinqi.domain.routing.channel import Channel, ChannelType
from yinqi.domain.routing.rules import OrderFacts, evaluate

ACCOUNTS = ["DE89370400440532013000", "6222020200112233445@102100099996"]
CURRENCIES = ["EUR", "CNY", "USD"]

limits = st.none() | st.integers(min_value=0, max_value=2_000_000)
channels = st.builds(
    Channel, name=st.text("abcdefgh", min_size=1, max_size=6), bank_id=st.sampled_from(["A", "B", "C"]),
    channel_type=st.sampled_from(list(ChannelType)), account_key=st.none() | st.sampled_from(ACCOUNTS),
    currencies=st.none() | st.frozensets(st.sampled_from(CURRENCIES), min_size=1),
    countries=st.none() | st.frozensets(st.sampled_from(["DE", "FR", "CN", "US"]), min_size=1),
    cutoff=st.none() | st.sampled_from(["09:00", "15:00", "23:59"]),
    timezone=st.sampled_from(["UTC", "Europe/Berlin", "Asia/Shanghai"]),
    per_payment_limit_minor=limits, daily_limit_minor=limits,
    cost_per_payment_minor=st.integers(min_value=0, max_value=5_000), available=st.booleans())
facts = st.builds(
    OrderFacts, order_id=st.just("O"), currency=st.sampled_from(CURRENCIES),
    amount_minor=st.integers(min_value=1, max_value=3_000_000), urgency=st.sampled_from(list(Urgency)),
    payer_account_key=st.sampled_from(ACCOUNTS), payer_country=st.sampled_from(["DE", "CN"]),
    payee_bank_country=st.sampled_from(["DE", "FR", "CN", "US"]),
    requested_execution_date=st.dates(date(2026, 3, 1), date(2026, 3, 10)))
nows = st.datetimes(datetime(2026, 3, 1), datetime(2026, 3, 10), timezones=st.just(UTC))


def _unique(cs: list[Channel]) -> list[Channel]:
    return list({c.name: c for c in cs}.values())


@given(facts, st.lists(channels, max_size=8).map(_unique), nows,
       st.dictionaries(st.text("abcdefgh", min_size=1, max_size=6), st.integers(0, 2_000_000)))
def test_the_chosen_channel_always_satisfies_currency_account_and_limits(
        f: OrderFacts, cs: list[Channel], now: datetime, used: dict[str, int]) -> None:
    explanation = evaluate(facts=f, channels=cs, now=now, routed_today_minor=used)
    assert len(explanation.alternatives) + (explanation.chosen is not None) == len(cs)
    if explanation.chosen is None:
        assert all(v.rejections for v in explanation.alternatives)
        return
    c = explanation.chosen.channel
    assert c.available and (c.currencies is None or f.currency in c.currencies)
    assert c.account_key in (None, f.payer_account_key)
    assert c.per_payment_limit_minor is None or f.amount_minor <= c.per_payment_limit_minor
    assert c.daily_limit_minor is None or used.get(c.name, 0) + f.amount_minor <= c.daily_limit_minor
    assert explanation.chosen.execution_date >= f.requested_execution_date


@given(facts, st.lists(channels, max_size=8).map(_unique), nows)
def test_the_decision_does_not_depend_on_the_order_of_the_channels(
        f: OrderFacts, cs: list[Channel], now: datetime) -> None:
    forward = evaluate(facts=f, channels=cs, now=now)
    backward = evaluate(facts=f, channels=cs[::-1], now=now)
    assert forward == backward
