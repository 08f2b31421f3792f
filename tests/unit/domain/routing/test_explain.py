"""A routing decision explained: the JSON contract and the text a person reads."""

from __future__ import annotations

from datetime import UTC, date, datetime

from yinqi.domain.orders.order import Urgency
from yinqi.domain.routing.channel import Channel, ChannelType
from yinqi.domain.routing.explain import explanation_dict, explanation_lines
from yinqi.domain.routing.rules import OrderFacts, evaluate

NOW = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)
FACTS = OrderFacts(order_id="O-1", currency="EUR", amount_minor=10_000, urgency=Urgency.NORMAL,
                   payer_account_key="DE89370400440532013000", payer_country="DE", payee_bank_country="FR",
                   requested_execution_date=date(2026, 3, 2))
CHANNELS = [
    Channel(name="a-batch", bank_id="A", channel_type=ChannelType.BATCH, cost_per_payment_minor=20,
            cutoff="15:00", timezone="Europe/Berlin"),
    Channel(name="b-batch", bank_id="B", channel_type=ChannelType.BATCH, cost_per_payment_minor=35),
    Channel(name="c-usd", bank_id="C", channel_type=ChannelType.BATCH, currencies=frozenset({"USD"})),
]


def test_the_explanation_names_the_choice_and_why_each_alternative_lost() -> None:
    doc = explanation_dict(evaluate(facts=FACTS, channels=CHANNELS, now=NOW))
    assert doc["order_id"] == "O-1"
    assert doc["chosen"]["name"] == "a-batch" and doc["chosen"]["execution_date"] == "2026-03-03"
    assert [n["code"] for n in doc["chosen"]["notes"]] == ["SHIFTED"]
    assert [(a["name"], [r["code"] for r in a["reasons"]]) for a in doc["alternatives"]] == [
        ("b-batch", ["RANKED_LOWER"]), ("c-usd", ["CURRENCY"])]
    assert set(doc["alternatives"][0]) == {"name", "bank_id", "channel_type", "account_key", "execution_date",
                                           "cost_per_payment_minor", "notes", "reasons"}


def test_no_route_is_explained_with_a_null_choice() -> None:
    doc = explanation_dict(evaluate(facts=FACTS, channels=CHANNELS[2:], now=NOW))
    assert doc["chosen"] is None and doc["alternatives"][0]["reasons"][0]["code"] == "CURRENCY"


def test_the_text_has_one_line_for_the_choice_and_one_per_alternative() -> None:
    lines = explanation_lines(evaluate(facts=FACTS, channels=CHANNELS, now=NOW))
    assert lines[1].startswith("chosen: a-batch (A, batch) on 2026-03-03; cut-off 15:00 Europe/Berlin passed")
    assert lines[2] == "  not b-batch (B): more expensive: 35 > 20 at a-batch"
    assert lines[3] == "  not c-usd (C): channel carries USD, not EUR"
    assert "NO ROUTE" in explanation_lines(evaluate(facts=FACTS, channels=[], now=NOW))[1]
