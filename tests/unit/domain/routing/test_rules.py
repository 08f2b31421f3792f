"""Channel selection rules: each rule rejects with its code, and the ranking is deterministic."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from yinqi.domain.orders.checks import build_order
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.order import Urgency
from yinqi.domain.routing.channel import Channel, ChannelInvalid, ChannelType, default_channels
from yinqi.domain.routing.rules import NoRoute, OrderFacts, evaluate, next_business_day, route

IBAN = "DE89370400440532013000"
MONDAY_MORNING = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
MONDAY_EVENING = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)  # 17:30 in Berlin
FRIDAY_EVENING = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)

FACTS = OrderFacts(order_id="O-1", currency="EUR", amount_minor=10_000, urgency=Urgency.NORMAL,
                   payer_account_key=IBAN, payer_country="DE", payee_bank_country="FR",
                   requested_execution_date=date(2026, 3, 2))


def channel(name: str, **kw: object) -> Channel:
    values: dict[str, object] = {"bank_id": "BANK-A", "channel_type": ChannelType.BATCH, "account_key": IBAN,
                                 "currencies": frozenset({"EUR"}), **kw}
    return Channel(name=name, **values)  # type: ignore[arg-type]


def codes(facts: OrderFacts, c: Channel, now: datetime = MONDAY_MORNING) -> list[str]:
    explanation = evaluate(facts=facts, channels=[c], now=now)
    return [r.code for v in explanation.alternatives for r in v.rejections]


def test_a_channel_that_passes_every_rule_is_chosen() -> None:
    explanation = route(facts=FACTS, channels=[channel("a")], now=MONDAY_MORNING)
    assert explanation.chosen is not None and explanation.chosen.channel.name == "a"
    assert explanation.chosen.execution_date == date(2026, 3, 2) and explanation.alternatives == ()


def test_an_unavailable_bank_is_rejected() -> None:
    assert codes(FACTS, channel("a", available=False)) == ["UNAVAILABLE"]


def test_a_channel_of_another_debtor_account_is_rejected() -> None:
    assert codes(FACTS, channel("a", account_key="FR7630006000011234567890189")) == ["ACCOUNT"]


def test_a_channel_without_the_currency_is_rejected() -> None:
    assert codes(FACTS, channel("a", currencies=frozenset({"CNY", "USD"}))) == ["CURRENCY"]


def test_a_channel_that_does_not_reach_the_payee_bank_country_is_rejected() -> None:
    assert codes(FACTS, channel("a", countries=frozenset({"DE"}))) == ["REACH"]


@pytest.mark.parametrize(("urgency", "channel_type"), [(Urgency.URGENT, ChannelType.BATCH),
                                                       (Urgency.INSTANT, ChannelType.URGENT),
                                                       (Urgency.INSTANT, ChannelType.BATCH)])
def test_a_channel_too_slow_for_the_urgency_is_rejected(urgency: Urgency, channel_type: ChannelType) -> None:
    assert codes(replace(FACTS, urgency=urgency), channel("a", channel_type=channel_type)) == ["URGENCY"]


def test_an_amount_above_the_per_payment_limit_is_rejected() -> None:
    assert codes(FACTS, channel("a", per_payment_limit_minor=9_999)) == ["PAYMENT_LIMIT"]
    assert codes(FACTS, channel("a", per_payment_limit_minor=10_000)) == []


def test_the_daily_limit_counts_what_was_already_routed_today() -> None:
    c = channel("a", daily_limit_minor=50_000)
    fits = evaluate(facts=FACTS, channels=[c], now=MONDAY_MORNING, routed_today_minor={"a": 40_000})
    over = evaluate(facts=FACTS, channels=[c], now=MONDAY_MORNING, routed_today_minor={"a": 40_001})
    assert fits.chosen is not None
    assert over.chosen is None and [r.code for r in over.alternatives[0].rejections] == ["DAILY_LIMIT"]


def test_every_failed_rule_is_reported_not_just_the_first() -> None:
    c = channel("a", available=False, currencies=frozenset({"USD"}), per_payment_limit_minor=1)
    assert codes(FACTS, c) == ["UNAVAILABLE", "CURRENCY", "PAYMENT_LIMIT"]


def test_a_passed_cut_off_moves_a_normal_order_to_the_next_business_day_with_a_note() -> None:
    c = channel("a", cutoff="15:00", timezone="Europe/Berlin")
    explanation = route(facts=FACTS, channels=[c], now=MONDAY_EVENING)
    assert explanation.chosen is not None and explanation.chosen.execution_date == date(2026, 3, 3)
    assert [n.code for n in explanation.chosen.notes] == ["SHIFTED"]
    assert "15:00 Europe/Berlin" in explanation.chosen.notes[0].message


def test_the_cut_off_is_read_in_the_channel_time_zone() -> None:
    before_in_shanghai = datetime(2026, 3, 2, 8, 59, tzinfo=UTC)  # 16:59 in Shanghai
    c = channel("a", cutoff="17:00", timezone="Asia/Shanghai")
    chosen = route(facts=FACTS, channels=[c], now=before_in_shanghai).chosen
    assert chosen is not None and chosen.execution_date == date(2026, 3, 2) and chosen.notes == ()


def test_a_cut_off_passed_on_friday_moves_the_order_to_monday() -> None:
    c = channel("a", cutoff="15:00", timezone="Europe/Berlin")
    facts = replace(FACTS, requested_execution_date=date(2026, 3, 6))
    chosen = route(facts=facts, channels=[c], now=FRIDAY_EVENING).chosen
    assert chosen is not None and chosen.execution_date == date(2026, 3, 9)


def test_a_passed_cut_off_rejects_an_instant_order() -> None:
    c = channel("a", channel_type=ChannelType.INSTANT, cutoff="15:00", timezone="Europe/Berlin")
    assert codes(replace(FACTS, urgency=Urgency.INSTANT), c, MONDAY_EVENING) == ["CUT_OFF"]


def test_a_future_execution_date_is_not_affected_by_today_s_cut_off() -> None:
    c = channel("a", cutoff="15:00", timezone="Europe/Berlin")
    chosen = route(facts=replace(FACTS, requested_execution_date=date(2026, 3, 4)), channels=[c],
                   now=MONDAY_EVENING).chosen
    assert chosen is not None and chosen.execution_date == date(2026, 3, 4)


def test_urgency_fit_wins_over_cost() -> None:
    cheap_urgent = channel("u", channel_type=ChannelType.URGENT, cost_per_payment_minor=1)
    dear_batch = channel("b", channel_type=ChannelType.BATCH, cost_per_payment_minor=500)
    chosen = route(facts=FACTS, channels=[cheap_urgent, dear_batch], now=MONDAY_MORNING).chosen
    assert chosen is not None and chosen.channel.name == "b"


def test_the_cheaper_channel_wins_between_equal_fits_and_the_other_is_told_why() -> None:
    explanation = route(facts=FACTS, channels=[channel("dear", cost_per_payment_minor=90),
                                               channel("cheap", bank_id="BANK-B", cost_per_payment_minor=20)],
                        now=MONDAY_MORNING)
    assert explanation.chosen is not None and explanation.chosen.channel.name == "cheap"
    (loser,) = explanation.alternatives
    assert loser.rejections[0].code == "RANKED_LOWER" and "more expensive: 90 > 20" in loser.rejections[0].message


def test_equal_fit_and_cost_are_decided_by_name_whatever_the_input_order() -> None:
    channels = [channel("zeta"), channel("alpha"), channel("mid")]
    for ordering in (channels, channels[::-1]):
        chosen = route(facts=FACTS, channels=ordering, now=MONDAY_MORNING).chosen
        assert chosen is not None and chosen.channel.name == "alpha"


def test_a_cross_border_order_prefers_a_cross_border_channel() -> None:
    usd = replace(FACTS, currency="USD", payee_bank_country="US")
    channels = [channel("batch", currencies=None), channel("swift", channel_type=ChannelType.CROSS_BORDER,
                                                            currencies=None, cost_per_payment_minor=2_500)]
    chosen = route(facts=usd, channels=channels, now=MONDAY_MORNING).chosen
    assert chosen is not None and chosen.channel.name == "swift"


def test_eur_within_sepa_is_not_cross_border() -> None:
    assert not FACTS.cross_border
    assert replace(FACTS, currency="USD").cross_border


def test_the_order_falls_back_to_another_bank_when_its_first_choice_is_down() -> None:
    channels = [channel("a-batch", available=False), channel("b-batch", bank_id="BANK-B", cost_per_payment_minor=9)]
    chosen = route(facts=FACTS, channels=channels, now=MONDAY_MORNING).chosen
    assert chosen is not None and chosen.channel.bank_id == "BANK-B"


def test_no_route_raises_with_every_channel_s_reasons() -> None:
    channels = [channel("a", available=False), channel("b", currencies=frozenset({"USD"}))]
    with pytest.raises(NoRoute) as caught:
        route(facts=FACTS, channels=channels, now=MONDAY_MORNING)
    assert caught.value.code == "NO_ROUTE"
    assert caught.value.details["channels"] == {"a": ["UNAVAILABLE"], "b": ["CURRENCY"]}
    assert "a: bank BANK-A channel a is unavailable" in caught.value.message


def test_no_channels_at_all_is_no_route() -> None:
    with pytest.raises(NoRoute, match="no channel is configured"):
        route(facts=FACTS, channels=[], now=MONDAY_MORNING)


def test_the_default_channels_carry_every_urgency_to_their_bank() -> None:
    defaults = default_channels(bank_id="SANDBOX")
    for urgency in Urgency:
        chosen = route(facts=replace(FACTS, urgency=urgency), channels=defaults, now=MONDAY_EVENING).chosen
        assert chosen is not None and chosen.channel.bank_id == "SANDBOX"
        assert chosen.execution_date == FACTS.requested_execution_date


@pytest.mark.parametrize("kw", [{"cutoff": "25:00"}, {"timezone": "Mars/Olympus"}, {"daily_limit_minor": -1},
                                {"name": " "}])
def test_an_invalid_channel_cannot_be_built(kw: dict[str, object]) -> None:
    with pytest.raises(ChannelInvalid):
        channel(str(kw.pop("name", "a")), **kw)


def test_next_business_day_skips_the_weekend_and_the_currency_holidays() -> None:
    assert next_business_day(date(2026, 3, 5), "EUR") == date(2026, 3, 6)
    assert next_business_day(date(2026, 3, 7), "EUR") == date(2026, 3, 9)
    assert next_business_day(date(2026, 12, 24), "EUR") == date(2026, 12, 28)  # TARGET2 closes 25 and 26 Dec
    assert next_business_day(date(2026, 9, 30), "CNY") == date(2026, 10, 8)  # National Day week


def test_a_requested_bank_holiday_moves_to_the_next_business_day_with_a_note() -> None:
    facts = replace(FACTS, requested_execution_date=date(2030, 4, 19))  # Good Friday, TARGET2 closed
    chosen = route(facts=facts, channels=[channel("a")], now=datetime(2030, 4, 15, 9, 0, tzinfo=UTC)).chosen
    assert chosen is not None and chosen.execution_date == date(2030, 4, 23)
    assert [n.code for n in chosen.notes] == ["SHIFTED"] and "2030-04-19" in chosen.notes[0].message


def test_order_facts_come_from_the_order() -> None:
    order = build_order(CreateOrder(
        company_id="C1", serial="S1", amount="12.34", currency="EUR", requested_execution_date=date(2026, 3, 2),
        urgency="urgent", payer=PayerInput(name="P", account=AccountInput(iban=IBAN), currency="EUR"),
        payee=PayeeInput(name="Q", account=AccountInput(iban="FR7630006000011234567890189"), country="DE",
                         bic="BNPAFRPPXXX")), order_id="O-9", today=date(2026, 3, 2), actor="m", at=MONDAY_MORNING)
    facts = OrderFacts.of(order)
    assert (facts.amount_minor, facts.urgency, facts.payer_account_key, facts.payer_country,
            facts.payee_bank_country) == (1234, Urgency.URGENT, IBAN, "DE", "FR")
