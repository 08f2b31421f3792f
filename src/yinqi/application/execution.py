"""Execution: released orders → pain.001 messages → the bank, and the bank's answers back.

The path, each step its own short transaction so a crash anywhere loses nothing (docs/adr/0003):
1. `build_messages`: claim `order.released` outbox rows, route each order to a channel
   (`yinqi.application.routing`; an order no channel can carry fails with every reason), group the
   orders by bank, debtor account, currency, execution date, channel and urgency, write one
   XSD-valid pain.001 per group for the channel's bank, store its bytes and the order↔message
   links, queue a `bank.submit` outbox row. Nothing has left the hub yet.
2. `submit_due`: claim `bank.submit` rows and send the *stored* bytes. Only after the bank
   acknowledged do the orders move RELEASED → SENT. A crash between the two resubmits the same
   MsgId; the bank deduplicates it and answers with its original acknowledgement.
3. `poll_statuses`: fetch pain.002 reports for sent messages and apply each transaction status.
Statements and settlement are in `yinqi.application.statements`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from typing import Any

from yinqi.application import orders as order_cases
from yinqi.application.bank_connector import BankRejectedMessage, BankTransportError, BankUnavailable
from yinqi.application.ports import Clock, MessageCodec
from yinqi.application.routing import Routed, channels_or_default, route_orders
from yinqi.domain.bank_messages import (
    AccountId,
    CreditTransfer,
    CreditTransferMessage,
    PaymentInfo,
    PostalAddress,
    StatusReport,
)
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.parties import AccountRef
from yinqi.domain.problems import DomainError
from yinqi.domain.routing.channel import Channel
from yinqi.testing.failpoints import failpoint

RELEASED_TOPIC = "order.released"
SUBMIT_TOPIC = "bank.submit"
WORKER = "worker"

UowFactory = Callable[[], Any]


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    """`channels` empty: every order goes to `bank_id` (`routing.channels_or_default`)."""

    bank_id: str = "SANDBOX"
    pain001_version: str = "pain.001.001.09"
    initiating_party: str = "Yinqi demo company"
    batch_limit: int = 500
    channels: tuple[Channel, ...] = ()

MAX_REASON_CHARS = 1500  # the failure reason is also the ledger memo (≤ 2000 characters)


def new_message_id(today: date) -> str:
    """MsgId: ≤ 35 chars, unique. The date prefix helps a person find it in bank portals."""
    return f"YQ{today:%Y%m%d}{uuid.uuid4().hex[:20].upper()}"


# --- 1. build ------------------------------------------------------------------------------
def build_messages(*, uow_factory: UowFactory, clock: Clock, codec: MessageCodec, config: ExecutionConfig,
                   new_id: Callable[[date], str] = new_message_id) -> list[str]:
    """Turn released orders into stored, XSD-valid pain.001 messages queued for submission."""
    with uow_factory() as uow:
        with uow.atomic():
            built = _build_in(uow, clock=clock, config=config, new_id=new_id, write=codec.write_credit_transfers)
        uow.commit()
    return built


def _build_in(uow: Any, *, clock: Clock, config: ExecutionConfig, new_id: Callable[[date], str],
              write: Callable[..., bytes]) -> list[str]:
    now = clock.now()
    claimed = uow.outbox.claim_due(topics=[RELEASED_TOPIC], now=now, limit=config.batch_limit)
    orders = [o for o in (uow.orders.get(i.aggregate_id) for i in claimed) if _ready(uow, o)]
    routed, refused = route_orders(uow, orders, channels=channels_or_default(config.channels, bank_id=config.bank_id),
                                   now=now)
    for order, exc in refused:
        order_cases.fail_order(uow=uow, order_id=order.id, actor=WORKER, clock=clock,
                               reason=f"{exc.code}: {exc.message}"[:MAX_REASON_CHARS])
    built = [m for group in _groups(routed)
             if (m := _build_group(uow, group, now=now, clock=clock, config=config, new_id=new_id, write=write))]
    for item in claimed:
        uow.outbox.mark_delivered(item.id, at=now)
    return built


def _build_group(uow: Any, group: list[Routed], *, now: Any, clock: Clock,
                 config: ExecutionConfig, new_id: Callable[[date], str], write: Callable[..., bytes]) -> str | None:
    """One pain.001 for one group, stored with its bank and queued; None if it could not be written."""
    orders = [o for o, _ in group]
    chosen = group[0][1].chosen
    assert chosen is not None, "only routed orders are grouped"
    bank_id = chosen.channel.bank_id
    message_id = new_id(now.date())
    message = to_credit_transfer_message(orders, message_id=message_id, created_at=now,
                                         initiating_party=config.initiating_party, today=chosen.execution_date)
    try:
        payload = write(message, version=config.pain001_version)
    except DomainError as exc:
        _fail_all(uow, orders, reason=f"{exc.code}: {exc.message}", clock=clock)
        return None
    info = message.payment_infos[0]
    uow.bank_messages.add(message_id=message_id, bank_id=bank_id,
                          message_type=config.pain001_version, debtor_account=orders[0].payer.account.number,
                          payload=payload, at=now,
                          items=[(o.id, info.payment_info_id, o.end_to_end_id.value) for o in orders])
    uow.outbox.add(topic=SUBMIT_TOPIC, aggregate_id=message_id, at=now,
                   payload={"message_id": message_id, "bank_id": bank_id, "channel": chosen.channel.name},
                   dedupe_key=f"{SUBMIT_TOPIC}:{message_id}")
    return message_id


def _ready(uow: Any, order: PaymentOrder) -> bool:
    return order.state is OrderState.RELEASED and uow.bank_messages.item_for_order(order.id) is None


def _group_key(routed: Routed) -> tuple[str, str, str, date, str, str]:
    """Urgency stays in the key: it sets the message's instruction priority (InstrPrty)."""
    o, explanation = routed
    chosen = explanation.chosen
    assert chosen is not None
    return (chosen.channel.bank_id, o.payer.account.number, o.amount.currency, chosen.execution_date,
            chosen.channel.name, o.urgency.value)


def _groups(routed: list[Routed]) -> Iterable[list[Routed]]:
    for _, group in groupby(sorted(routed, key=_group_key), key=_group_key):
        yield list(group)


def _fail_all(uow: Any, group: list[PaymentOrder], *, reason: str, clock: Clock) -> None:
    for order in group:
        order_cases.fail_order(uow=uow, order_id=order.id, actor=WORKER, clock=clock, reason=reason)


# --- mapping orders → ISO 20022 model ---------------------------------------------------------
def _account_id(ref: AccountRef, currency: str | None = None) -> AccountId:
    if ref.iban is not None:
        return AccountId(iban=ref.iban.compact, currency=currency)
    return AccountId(other_id=ref.number, currency=currency)


def to_credit_transfer(order: PaymentOrder) -> CreditTransfer:
    payee = order.payee
    address = payee.address
    postal = PostalAddress(country=payee.country.value,
                           street=address.street if address else None,
                           building_number=address.building_number if address else None,
                           postcode=address.postcode if address else None,
                           town=address.town if address else None)
    return CreditTransfer(
        instruction_id=order.serial.value, end_to_end_id=order.end_to_end_id.value, amount=order.amount,
        creditor_name=payee.name, creditor_account=_account_id(payee.account),
        creditor_bic=payee.bic.value if payee.bic else None, creditor_bank_code=payee.account.bank_code,
        creditor_address=postal, remittance=order.remittance_info, purpose_code=order.purpose_code,
        uetr=str(uuid.UUID(order.id)) if _is_uuid(order.id) else None)


def to_credit_transfer_message(group: list[PaymentOrder], *, message_id: str, created_at: Any,
                               initiating_party: str, today: date) -> CreditTransferMessage:
    """One message, one PmtInf: all orders share debtor account, currency, date and urgency."""
    first = group[0]
    info = PaymentInfo(
        payment_info_id=f"{message_id[:32]}-1", debtor_name=first.payer.name,
        debtor_account=_account_id(first.payer.account, first.payer.currency),
        debtor_bic=first.payer.bic.value if first.payer.bic else None,
        requested_execution_date=max(first.requested_execution_date, today),
        transfers=tuple(to_credit_transfer(o) for o in group), batch_booking=False,
        instruction_priority=first.urgency.instruction_priority)
    return CreditTransferMessage(message_id=message_id, created_at=created_at,
                                 initiating_party=initiating_party, payment_infos=(info,))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- 2. submit ---------------------------------------------------------------------------------
def submit_due(*, uow_factory: UowFactory, clock: Clock, codec: MessageCodec,
               connector_for: Callable[[str], Any], limit: int = 20) -> int:
    """Send queued messages; returns how many the bank acknowledged in this pass."""
    with uow_factory() as uow:
        claimed = uow.outbox.claim_due(topics=[SUBMIT_TOPIC], now=clock.now(), limit=limit, lease_s=120)
        uow.commit()
    return sum(_submit_one(item, uow_factory=uow_factory, clock=clock, codec=codec, connector_for=connector_for)
               for item in claimed)


def _submit_one(item: Any, *, uow_factory: UowFactory, clock: Clock, codec: MessageCodec,
                connector_for: Callable[[str], Any]) -> int:
    with uow_factory() as uow:
        message = uow.bank_messages.get(item.payload["message_id"])
    if message is None:  # cannot happen: message and outbox row commit together
        raise RuntimeError(f"outbox row {item.id} names unknown message {item.payload}")
    try:
        connector_for(message.bank_id).submit(message_id=message.message_id, payload=message.payload)
    except BankUnavailable as exc:
        _record_failure(uow_factory, clock, item.id, f"{exc.code}: {exc.message}", exc.retry_after_s)
        return 0
    except BankTransportError as exc:  # outcome unknown: resubmit the same MsgId later
        _record_failure(uow_factory, clock, item.id, f"{exc.code}: {exc.message}", None)
        return 0
    except BankRejectedMessage as exc:
        _record_rejection(uow_factory, clock, codec, item.id, message.message_id, exc)
        return 0
    failpoint("outbox.dispatch.before_mark_sent")
    with uow_factory() as uow:
        with uow.atomic():
            now = clock.now()
            uow.bank_messages.mark_sent(message.message_id, at=now)
            for link in uow.bank_messages.items(message.message_id):
                order_cases.mark_sent(uow=uow, order_id=link.order_id, message_id=message.message_id,
                                      actor=WORKER, clock=clock)
            uow.outbox.mark_delivered(item.id, at=now)
        uow.commit()
    return 1


def _record_failure(uow_factory: UowFactory, clock: Clock, item_id: int, error: str,
                    retry_after_s: int | None) -> None:
    with uow_factory() as uow:
        uow.outbox.mark_failed(item_id, at=clock.now(), error=error, retry_after_s=retry_after_s)
        uow.commit()


def _record_rejection(uow_factory: UowFactory, clock: Clock, codec: MessageCodec, item_id: int, message_id: str,
                      exc: BankRejectedMessage) -> None:
    """The bank refused the whole file: every order in it is rejected with the bank's reason."""
    report = _parse_report(codec, exc.status_report) if exc.status_report else None
    with uow_factory() as uow:
        with uow.atomic():
            now = clock.now()
            uow.bank_messages.mark_sent(message_id, at=now)
            if report is not None:
                apply_status_report(uow, report, raw=exc.status_report, clock=clock, message_id=message_id)
            else:
                for link in uow.bank_messages.items(message_id):
                    order_cases.apply_bank_status(uow=uow, order_id=link.order_id, status="RJCT",
                                                  reason=f"{exc.code}: {exc.message}", actor=WORKER, clock=clock)
            uow.outbox.mark_delivered(item_id, at=now)
        uow.commit()


# --- 3. status -----------------------------------------------------------------------------------
def poll_statuses(*, uow_factory: UowFactory, clock: Clock, codec: MessageCodec,
                  connector_for: Callable[[str], Any], limit: int = 50) -> int:
    """Fetch and apply status reports for messages still waiting; returns reports applied."""
    with uow_factory() as uow:
        waiting = uow.bank_messages.awaiting_status(limit=limit)
    applied = 0
    for message in waiting:
        try:
            raw = connector_for(message.bank_id).fetch_status(message_id=message.message_id)
        except (BankUnavailable, BankTransportError):
            continue  # next pass; an overdue alert is raised from the age of the message
        if raw is None:
            continue
        report = _parse_report(codec, raw)
        with uow_factory() as uow:
            with uow.atomic():
                apply_status_report(uow, report, raw=raw, clock=clock, message_id=message.message_id)
            uow.commit()
        applied += 1
    return applied


def _parse_report(codec: MessageCodec, raw: bytes) -> StatusReport:
    return codec.read_status_report(raw, source="bank status report")


def item_status(report: StatusReport, *, payment_info_id: str, end_to_end_id: str) -> tuple[str | None, str | None]:
    """The most specific status the report gives for one transaction: its own, else its
    PmtInf's, else the group's. Returns (status, reason code)."""
    for payment in report.payments:
        for tx in payment.transactions:
            if tx.end_to_end_id == end_to_end_id and tx.status:
                return tx.status, tx.reason_code or tx.additional_info
    for payment in report.payments:
        if payment.payment_info_id == payment_info_id and payment.status:
            return payment.status, payment.reason_code
    return report.group_status, report.group_reason_code


def apply_status_report(uow: Any, report: StatusReport, *, raw: bytes, clock: Clock, message_id: str) -> None:
    """Apply a pain.002 to every order of the message. Replaying a report changes nothing.
    Call inside `uow.atomic()`: the report is applied to all orders or to none."""
    for link in uow.bank_messages.items(message_id):
        status, reason = item_status(report, payment_info_id=link.payment_info_id,
                                     end_to_end_id=link.end_to_end_id)
        if status is None or status == link.last_status:
            continue
        uow.bank_messages.record_item_status(message_id, link.end_to_end_id, status=status, reason=reason)
        order_cases.apply_bank_status(uow=uow, order_id=link.order_id, status=status, reason=reason,
                                      actor=WORKER, clock=clock)
    uow.bank_messages.record_report(message_id, group_status=report.group_status, report=raw)
