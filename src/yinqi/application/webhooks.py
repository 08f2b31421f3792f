"""Order status webhooks to the ERP, signed the Standard Webhooks way, sent from the outbox.

Emission: every order state change queues one `webhook.order_status` outbox row in the same
transaction as the change (`application.orders._save`), deduplicated on `webhook:<order>:<seq>`.
Delivery (`deliver_due`, a worker step): each row is posted to every configured endpoint whose
event-type filter matches, with the `webhook-id` derived from the row (`msg_<order>_<seq>`), so a
redelivery after a crash carries the same id and the receiver can drop it (R21). A row is delivered
when every matching endpoint answered 2xx; otherwise it is retried with back-off and resent to all
of them (at least once; receivers deduplicate on `webhook-id`).

Order per order is kept: rows are claimed oldest first per order and a pass never delivers a row of
an order while an earlier row of that order is pending (failed and backing off, or leased by
another worker). With no endpoint configured, rows are marked delivered at once (no subscriber) so
they do not pile up.

The body is the Standard Webhooks envelope: `{"type", "timestamp", "data"}`, canonical JSON.
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from yinqi.application.ports import Clock
from yinqi.domain.orders.events import OrderEvent
from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.webhooks import signed_headers
from yinqi.testing.failpoints import failpoint

__all__ = ["AFTER_SEND_FAILPOINT", "WEBHOOK_TOPIC", "Endpoint", "WebhookSendError", "WebhookSender",
           "deliver_due", "event_body", "queue_order_status", "status_payload", "webhook_id"]

WEBHOOK_TOPIC = "webhook.order_status"
AFTER_SEND_FAILPOINT = "outbox.dispatch.after_send"
DEFAULT_TIMEOUT_S = 10.0

log = logging.getLogger("yinqi.webhooks")

UowFactory = Callable[[], Any]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A resolved subscriber: where to post, the secrets to sign with (newest first; all of them
    sign during a rotation), and the event types it wants (`payment_order.*` style; empty = all)."""

    url: str
    secrets: tuple[str, ...]
    event_types: tuple[str, ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S

    def wants(self, event_type: str) -> bool:
        return not self.event_types or any(fnmatch.fnmatchcase(event_type, p) for p in self.event_types)


class WebhookSendError(RuntimeError):
    """The request did not get an HTTP answer (connection refused, timeout, TLS failure)."""


class WebhookSender(Protocol):
    def post(self, url: str, *, headers: dict[str, str], body: bytes, timeout_s: float) -> int:
        """POST `body`; return the HTTP status. Raises WebhookSendError without an answer."""
        ...


class Outbox(Protocol):
    def add(self, *, topic: str, aggregate_id: str, payload: dict[str, Any], at: datetime,
            dedupe_key: str | None = None) -> int | None: ...


# --- emission ---------------------------------------------------------------------------------
def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def status_payload(order: PaymentOrder, event: OrderEvent, *, bank_status: str | None) -> dict[str, Any]:
    """The outbox payload for one state change of `order` (identity fields do not change)."""
    return {"type": f"payment_order.{event.to_state.value.lower()}", "order_id": order.id, "seq": event.seq,
            "serial": order.serial.value, "company_id": order.company_id, "state": event.to_state.value,
            "previous_state": None if event.from_state is None else event.from_state.value,
            "at": _utc(event.at), "reason": event.reason, "bank_status": bank_status}


def queue_order_status(outbox: Outbox, order: PaymentOrder, events: Sequence[OrderEvent], *,
                       bank_status_before: str | None = None) -> None:
    """One `webhook.order_status` row per event; call inside the use case's transaction."""
    bank_status = bank_status_before
    for event in events:
        bank_status = event.data.get("status") or bank_status
        outbox.add(topic=WEBHOOK_TOPIC, aggregate_id=order.id, at=event.at,
                   dedupe_key=f"webhook:{order.id}:{event.seq}",
                   payload=status_payload(order, event, bank_status=bank_status))


def webhook_id(payload: dict[str, Any]) -> str:
    """Stable per outbox row: the same order event always goes out under the same id."""
    return f"msg_{payload['order_id']}_{payload['seq']}"


def event_body(payload: dict[str, Any]) -> bytes:
    """The Standard Webhooks envelope, canonical JSON (same bytes on every attempt)."""
    data = {k: v for k, v in payload.items() if k != "type"}
    envelope = {"type": payload["type"], "timestamp": payload["at"], "data": data}
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --- delivery ---------------------------------------------------------------------------------
def deliver_due(*, uow_factory: UowFactory, clock: Clock, sender: WebhookSender | None,
                endpoints: Sequence[Endpoint], limit: int = 100, lease_s: int = 60) -> int:
    """One delivery pass; returns how many rows were settled (delivered, or had no subscriber)."""
    if not endpoints:
        return _settle_unsubscribed(uow_factory, clock, limit)
    if sender is None:
        raise ValueError("webhook endpoints are configured but no sender was given")
    with uow_factory() as uow:
        batches = uow.outbox.claim_in_order(topics=[WEBHOOK_TOPIC], now=clock.now(), limit=limit,
                                            lease_s=lease_s)
        uow.commit()
    settled = 0
    for items in batches:
        for n, item in enumerate(items):
            if not _deliver_one(item, uow_factory=uow_factory, clock=clock, sender=sender, endpoints=endpoints):
                _release([i.id for i in items[n + 1:]], uow_factory)  # never skip past a failed row
                break
            settled += 1
    return settled


def _settle_unsubscribed(uow_factory: UowFactory, clock: Clock, limit: int) -> int:
    with uow_factory() as uow:
        now = clock.now()
        claimed = uow.outbox.claim_due(topics=[WEBHOOK_TOPIC], now=now, limit=limit)
        for item in claimed:
            uow.outbox.mark_delivered(item.id, at=now)
        uow.commit()
    return len(claimed)


def _deliver_one(item: Any, *, uow_factory: UowFactory, clock: Clock, sender: WebhookSender,
                 endpoints: Sequence[Endpoint]) -> bool:
    payload = item.payload
    targets = [e for e in endpoints if e.wants(payload["type"])]
    errors: list[str] = []
    if targets:
        msg_id, body = webhook_id(payload), event_body(payload)
        timestamp = int(clock.now().timestamp())
        for endpoint in targets:
            headers = {"content-type": "application/json",
                       **signed_headers(endpoint.secrets, msg_id=msg_id, timestamp=timestamp, body=body)}
            try:
                status = sender.post(endpoint.url, headers=headers, body=body, timeout_s=endpoint.timeout_s)
            except WebhookSendError as exc:
                errors.append(f"{endpoint.url}: {exc}")
                continue
            if not 200 <= status < 300:
                errors.append(f"{endpoint.url}: HTTP {status}")
        if not errors:
            failpoint(AFTER_SEND_FAILPOINT)  # sent, not yet marked: a crash here redelivers the same id
    with uow_factory() as uow:
        if errors:
            uow.outbox.mark_failed(item.id, at=clock.now(), error="; ".join(errors))
            log.warning("webhook %s not delivered: %s", webhook_id(payload), "; ".join(errors))
        else:
            uow.outbox.mark_delivered(item.id, at=clock.now())
        uow.commit()
    return not errors


def _release(ids: list[int], uow_factory: UowFactory) -> None:
    if not ids:
        return
    with uow_factory() as uow:
        uow.outbox.release(ids)
        uow.commit()
