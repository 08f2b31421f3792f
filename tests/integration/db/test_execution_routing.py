"""Routing wired into execution, on SQLite and PostgreSQL: each released order goes into a message
for the bank its route chose, is submitted to that bank's connector, and an order no channel can
carry fails with the reasons and its funds released."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from tests.support.orders import make_order
from tests.support.vault import TEST_VAULT, funds_codes
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.adapters.iso20022.codec import Iso20022Codec
from yinqi.application import execution
from yinqi.application.bank_connector import SubmissionReceipt
from yinqi.domain.money import Money
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.routing.channel import Channel, ChannelType

KEY = b"k" * 32
IBAN = "DE89370400440532013000"
AVAILABLE = funds_codes(IBAN)[0]
NOW = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
CODEC = Iso20022Codec()
CHANNELS = (
    Channel(name="a-batch", bank_id="BANK-A", channel_type=ChannelType.BATCH, account_key=IBAN,
            currencies=frozenset({"EUR"}), per_payment_limit_minor=50_000, cost_per_payment_minor=20),
    Channel(name="b-batch", bank_id="BANK-B", channel_type=ChannelType.BATCH, account_key=IBAN,
            currencies=frozenset({"EUR"}), cost_per_payment_minor=80),
)


class Clock:
    def now(self) -> datetime:
        return NOW


class RecordingConnector:
    def __init__(self, bank_id: str) -> None:
        self.bank_id, self.received = bank_id, []  # type: list[str]

    def submit(self, *, message_id: str, payload: bytes) -> SubmissionReceipt:
        self.received.append(message_id)
        return SubmissionReceipt(self.bank_id, message_id, NOW)


@pytest.fixture
def uow_factory(engine: Engine):  # type: ignore[no-untyped-def]
    def new() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, ledger_key=KEY, vault=TEST_VAULT)

    with new() as u:
        u.ledger.ensure_account(code=AVAILABLE, currency="EUR", kind="asset", allow_overdraft=False)
        u.ledger.ensure_account(code="equity:opening:EUR", currency="EUR", kind="equity")
        u.ledger.post(idempotency_key="opening", memo="opening", actor="test", at=NOW,
                      postings=[(AVAILABLE, Money.parse("10000.00", "EUR")),
                                ("equity:opening:EUR", Money.parse("-10000.00", "EUR"))])
        u.commit()
    return new


def release(uow_factory, serial: str, amount: str, urgency: str = "normal") -> str:  # type: ignore[no-untyped-def]
    command = CreateOrder(
        company_id="ACME", serial=serial, amount=amount, currency="EUR", requested_execution_date=date(2030, 1, 10),
        urgency=urgency, payer=PayerInput(name="Acme", account=AccountInput(iban=IBAN), currency="EUR"),
        payee=PayeeInput(name="Payee", account=AccountInput(iban="FR1420041010050500013M02606"), country="FR"))
    with uow_factory() as u:
        order = make_order(u, Clock(), command, auto_limit_minor=10_000_000, auto_release=True)
    assert order.state is OrderState.RELEASED
    return order.id


def build(uow_factory, channels: tuple[Channel, ...] = CHANNELS) -> list[str]:  # type: ignore[no-untyped-def]
    return execution.build_messages(uow_factory=uow_factory, clock=Clock(), codec=CODEC,
                                    config=execution.ExecutionConfig(channels=channels))


def bank_of(uow_factory, order_id: str) -> str:  # type: ignore[no-untyped-def]
    with uow_factory() as u:
        item = u.bank_messages.item_for_order(order_id)
        assert item is not None
        message = u.bank_messages.get(item.message_id)
        assert message is not None
        return message.bank_id


def test_each_order_goes_to_the_bank_its_route_chose_and_is_submitted_there(uow_factory) -> None:  # type: ignore[no-untyped-def]
    small, large = release(uow_factory, "S-1", "100.00"), release(uow_factory, "S-2", "900.00")

    assert len(build(uow_factory)) == 2

    assert (bank_of(uow_factory, small), bank_of(uow_factory, large)) == ("BANK-A", "BANK-B")
    connectors = {b: RecordingConnector(b) for b in ("BANK-A", "BANK-B")}
    assert execution.submit_due(uow_factory=uow_factory, clock=Clock(), codec=CODEC,
                                connector_for=connectors.__getitem__) == 2
    assert [len(c.received) for c in connectors.values()] == [1, 1]
    with uow_factory() as u:
        assert {u.orders.get(i).state for i in (small, large)} == {OrderState.SENT}


def test_orders_on_the_same_channel_share_one_message(uow_factory) -> None:  # type: ignore[no-untyped-def]
    first, second = release(uow_factory, "S-1", "10.00"), release(uow_factory, "S-2", "20.00")
    (message_id,) = build(uow_factory)
    with uow_factory() as u:
        assert {i.order_id for i in u.bank_messages.items(message_id)} == {first, second}


def test_an_order_no_channel_can_carry_fails_with_every_reason_and_its_funds_come_back(uow_factory) -> None:  # type: ignore[no-untyped-def]
    urgent = release(uow_factory, "S-1", "100.00", urgency="urgent")

    assert build(uow_factory) == []

    with uow_factory() as u:
        order = u.orders.get(urgent)
        events = u.orders.events(urgent)
        assert order.state is OrderState.FAILED
        assert u.bank_messages.item_for_order(urgent) is None
        assert u.ledger.balance(AVAILABLE).minor == 1_000_000
    reason = events[-1].reason
    assert reason.startswith("NO_ROUTE: ") and "a-batch:" in reason and "b-batch:" in reason
    assert "too slow for a urgent order" in reason


def test_the_daily_limit_counts_messages_built_in_earlier_passes(uow_factory) -> None:  # type: ignore[no-untyped-def]
    limited = (Channel(name="a-batch", bank_id="BANK-A", channel_type=ChannelType.BATCH, account_key=IBAN,
                       daily_limit_minor=15_000, cost_per_payment_minor=1), CHANNELS[1])
    first = release(uow_factory, "S-1", "100.00")
    build(uow_factory, limited)
    second = release(uow_factory, "S-2", "100.01")  # not the same amount: that would be held as a duplicate
    build(uow_factory, limited)
    assert (bank_of(uow_factory, first), bank_of(uow_factory, second)) == ("BANK-A", "BANK-B")


def test_without_configured_channels_every_order_goes_to_the_configured_bank_as_before(uow_factory) -> None:  # type: ignore[no-untyped-def]
    orders = [release(uow_factory, "S-1", "100.00"), release(uow_factory, "S-2", "5.00", urgency="instant")]
    assert len(build(uow_factory, ())) == 2
    assert {bank_of(uow_factory, o) for o in orders} == {"SANDBOX"}
