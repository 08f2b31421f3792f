"""Payment order use cases: create, release, send, bank status, settle, cancel, return, fail
(approve, reject and amend are in `application.approvals`, re-exported here).

Each use case takes a unit of work, a clock and the acting user (keyword-only), loads the order
under a row lock, moves it through the state machine, books the money effect in the ledger,
queues external effects in the outbox, and commits once: the state change, its event, its
postings and its outbox rows are all there or none is. Every state change also queues one
`webhook.order_status` row for the ERP (`application.webhooks`), in `create_order` and `_save`.

Money follows the order (per payer bank account and currency):
- reserve, when approved:       Dr funds:held:<acct>      / Cr funds:available:<acct>
- settle, when the bank books:  Dr payments:outgoing:<CCY> / Cr funds:held:<acct>
- a reject, cancel or failure reverses the reservation; a return reverses both.
`funds:available` and `funds:held` never go below zero, so an order can only be approved when its
payer account has the money (INSUFFICIENT_FUNDS otherwise). Ledger idempotency keys are derived
from the order id and the step (`order:<id>:reserve`), so a re-driven step never books twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from yinqi.application import accounts, audit
from yinqi.application.ports import AccountVault, Clock, Ledger
from yinqi.application.webhooks import queue_order_status
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Forbidden, Principal, StepUpRequired
from yinqi.domain.ledger.accounts import InsufficientFunds
from yinqi.domain.orders.commands import CreateOrder
from yinqi.domain.orders.events import OrderEvent
from yinqi.domain.orders.lifecycle import OrderState, require_transition
from yinqi.domain.orders.order import (
    BankMessageMismatch,
    BankStatusUnknown,
    OrderNotFound,
    PaymentOrder,
)
from yinqi.domain.problems import ProblemList

__all__ = [
    "AUTO_APPROVER", "OrderRepository", "OrderUnitOfWork", "apply_bank_status", "cancel_order", "create_order",
    "fail_order", "mark_sent", "release_order", "return_order", "settle_order",
]
# The maker–checker use cases live in `application.approvals` (which builds on the steps below);
# they are re-exported here, lazily, so `orders.approve_order` keeps working for callers.
_APPROVAL_CASES = frozenset({"approve_order", "approve_orders", "reject_order", "amend_order"})


def __getattr__(name: str) -> Any:
    if name in _APPROVAL_CASES:
        from yinqi.application import approvals

        return getattr(approvals, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


AUTO_APPROVER = "system:auto-approval"
AUTO_RELEASER = "system:auto-release"
S = OrderState
# pain.002 ExternalPaymentTransactionStatus1Code. ACWC (accepted with change), ACFC (funds checked)
# and ACCC (settled at the creditor's bank) are acceptances too; receipt, technical validation,
# pending and partial (a group-level summary) change nothing.
ACCEPTED_STATUSES = frozenset({"ACCP", "ACSC", "ACSP", "ACWC", "ACFC", "ACCC"})
INTERIM_STATUSES = frozenset({"RCVD", "ACTC", "PDNG", "PART"})
AFTER_SEND = frozenset({S.SENT, S.ACCEPTED, S.SETTLED, S.REJECTED, S.RETURNED, S.FAILED})


class OrderRepository(Protocol):
    def get(self, order_id: str, *, for_update: bool = False) -> PaymentOrder: ...
    def find_by_serial(self, company_id: str, serial: str) -> PaymentOrder | None: ...
    def find_by_end_to_end_id(self, end_to_end_id: str, *,
                              for_update: bool = False) -> PaymentOrder | None: ...
    def add(self, order: PaymentOrder, events: Sequence[OrderEvent]) -> None: ...
    def save(self, order: PaymentOrder, events: Sequence[OrderEvent], *, expected_version: int) -> None: ...
    def events(self, order_id: str) -> list[OrderEvent]: ...


class Outbox(Protocol):
    def add(self, *, topic: str, aggregate_id: str, payload: dict[str, Any], at: datetime,
            dedupe_key: str | None = None) -> int | None: ...


class OrderUnitOfWork(Protocol):
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def vault(self) -> AccountVault: ...
    def commit(self) -> None: ...


UoW = OrderUnitOfWork


# --- account names ------------------------------------------------------------------------------
def available_account(order: PaymentOrder, vault: AccountVault) -> str:
    return accounts.available_account(accounts.ledger_key(vault, order.payer.account))


def held_account(order: PaymentOrder, vault: AccountVault) -> str:
    return accounts.held_account(accounts.ledger_key(vault, order.payer.account))


def outgoing_account(currency: str) -> str:
    return f"payments:outgoing:{currency}"


# --- create -------------------------------------------------------------------------------------
def create_order(*, uow: UoW, clock: Clock, principal: Principal, command: CreateOrder, auto_release: bool = False,
                 order_id: str | None = None) -> PaymentOrder:
    """Validate and store a new order and give it its approval plan (`application.approval_policy`:
    the active policy plus the order's holds). A plan with no step approves it at once as
    `system:auto-approval`, funds reserved (and RELEASED with `auto_release`); otherwise the order
    waits in PENDING_APPROVAL. A batch of one for `order_batch`, which holds the steps.

    Raises:
        Forbidden (FORBIDDEN): no `order.create` (`order.import` for source "import"), or the
            company is not granted to the principal.
        ValidationFailed (VALIDATION_FAILED): every problem with the input.
        DuplicateSerial (DUPLICATE_SERIAL): the company already used this serial.
        InsufficientFunds (INSUFFICIENT_FUNDS): auto-approval could not reserve the amount.
    """
    from yinqi.application.order_batch import store_orders  # it builds on the steps below

    outcome = store_orders(uow=uow, clock=clock, principal=principal, commands=[command], auto_release=auto_release,
                           order_ids=None if order_id is None else [order_id])
    if outcome.refused:
        raise outcome.refused[0]
    return outcome.stored[0]


def _require_company(principal: Principal, company_id: str) -> None:
    if not principal.can_see_company(company_id):
        raise Forbidden(f"{principal.actor_id} may not act for company {company_id}", where="company_id",
                        rule="company_granted", value=company_id)


# --- release and sending ------------------------------------------------------------------------
def release_order(*, uow: UoW, clock: Clock, principal: Principal, order_id: str) -> PaymentOrder:
    """APPROVED → RELEASED; queues `order.released` for the bank worker in the same transaction.

    Raises:
        Forbidden (FORBIDDEN), OrderNotFound (ORDER_NOT_FOUND, also for another company's order),
        StepUpRequired (STEP_UP_REQUIRED): no TOTP verification in the last 5 minutes (R14).
    """
    require(principal, Permission.ORDER_RELEASE)
    now = clock.now()
    order = _visible(uow, principal, order_id)
    if not principal.step_up_fresh(now):
        raise StepUpRequired("releasing a payment needs a TOTP code verified in the last 5 minutes",
                             where="totp_code", rule="step_up_fresh")
    events: list[OrderEvent] = []
    released = _release(uow, order, events, actor=principal.actor_id, at=now)
    audit.record(uow, principal=principal, action="order.release", object_type="payment_order", object_id=order.id,
                 at=now, before={"state": order.state.value}, after={"state": released.state.value},
                 company_id=order.company_id)
    return _save(uow, order, released, events)


def _visible(uow: UoW, principal: Principal, order_id: str) -> PaymentOrder:
    """The order under a row lock, if the principal's companies include it (else ORDER_NOT_FOUND:
    no existence leak, R18)."""
    order = uow.orders.get(order_id, for_update=True)
    if not principal.can_see_company(order.company_id):
        raise OrderNotFound(f"payment order {order_id} does not exist", where="order_id", rule="exists",
                            value=order_id)
    return order


def mark_sent(*, uow: UoW, clock: Clock, actor: str, order_id: str, message_id: str) -> PaymentOrder:
    """RELEASED → SENT, recording the bank message id. Marking it again with the same message id
    is a no-op (the bank worker re-drives after a crash, R2); another id is refused.

    Raises:
        BankMessageMismatch (BANK_MESSAGE_MISMATCH): already sent under another message id.
    """
    order = uow.orders.get(order_id, for_update=True)
    if order.state is not S.RELEASED:
        if order.bank_message_id not in (None, message_id):
            raise BankMessageMismatch(
                f"payment order {order.id} was sent as message {order.bank_message_id}",
                where="message_id", rule="sent_once", value=message_id)
        if order.state in AFTER_SEND:  # already sent, or the bank answered before we marked it
            return order
    events: list[OrderEvent] = []
    sent = _record(order, events, S.SENT, actor=actor, at=clock.now(), reason="submitted to the bank",
                   data={"message_id": message_id}).with_bank(message_id=message_id)
    return _save(uow, order, sent, events)


def apply_bank_status(*, uow: UoW, clock: Clock, actor: str, status: str,
                      end_to_end_id: str | None = None, order_id: str | None = None,
                      reason: str | None = None) -> PaymentOrder:
    """Apply one pain.002 transaction status. ACCP/ACSC/ACSP (and ACWC/ACFC/ACCC) → ACCEPTED; RJCT →
    REJECTED with the reservation reversed; RCVD/ACTC/PDNG/PART change nothing. A status the order already reflects (a
    duplicate report) is a no-op. A RELEASED order is first marked SENT: the bank has it.

    Raises:
        OrderNotFound (ORDER_NOT_FOUND), BankStatusUnknown (BANK_STATUS_UNKNOWN),
        IllegalTransition (ORDER_ILLEGAL_TRANSITION): e.g. RJCT for a settled order.
    """
    code = status.strip().upper()
    if code not in ACCEPTED_STATUSES | INTERIM_STATUSES | {"RJCT"}:
        raise BankStatusUnknown(f"unknown bank status {status!r}", where="status",
                                rule="iso20022_status_code", value=status)
    order = _find_for_status(uow, end_to_end_id=end_to_end_id, order_id=order_id)
    target = S.REJECTED if code == "RJCT" else S.ACCEPTED
    if code in INTERIM_STATUSES or _already_reflects(order.state, target):
        return order
    now = clock.now()
    events: list[OrderEvent] = []
    current = order
    if current.state is S.RELEASED:
        current = _record(current, events, S.SENT, actor=actor, at=now, reason=f"bank reported {code}")
    require_transition(current.state, target)
    if target is S.REJECTED:
        current = _unreserve(uow, current, actor=actor, at=now, reason=f"bank rejected: {reason or code}")
    data = {"status": code, "reason": reason}
    changed = _record(current, events, target, actor=actor, at=now, reason=reason or code, data=data)
    return _save(uow, order, changed.with_bank(status=code, reason=reason), events)


def _already_reflects(state: OrderState, target: OrderState) -> bool:
    if target is S.ACCEPTED:
        return state in {S.ACCEPTED, S.SETTLED, S.RETURNED}
    return state is S.REJECTED


def _find_for_status(uow: UoW, *, end_to_end_id: str | None, order_id: str | None) -> PaymentOrder:
    if order_id:
        return uow.orders.get(order_id, for_update=True)
    found = uow.orders.find_by_end_to_end_id(end_to_end_id or "", for_update=True)
    if found is None:
        raise OrderNotFound(f"no payment order has end-to-end id {end_to_end_id!r}", where="end_to_end_id",
                            rule="exists", value=end_to_end_id)
    return found


# --- settlement and after -----------------------------------------------------------------------
def settle_order(*, uow: UoW, clock: Clock, actor: str, order_id: str) -> PaymentOrder:
    """ACCEPTED or SENT → SETTLED: Dr payments:outgoing:<CCY> / Cr funds:held:<acct>."""
    now = clock.now()
    order = uow.orders.get(order_id, for_update=True)
    require_transition(order.state, S.SETTLED)
    outgoing = outgoing_account(order.amount.currency)
    uow.ledger.ensure_account(code=outgoing, currency=order.amount.currency, kind="expense",
                              name=f"Outgoing payments {order.amount.currency}")
    seq = uow.ledger.post(idempotency_key=f"order:{order.id}:settle",
                          postings=[(outgoing, order.amount), (held_account(order, uow.vault), -order.amount)],
                          memo=f"settle payment order {order.serial}", actor=actor, at=now,
                          metadata=_ledger_metadata(order))
    events: list[OrderEvent] = []
    settled = _record(order.with_ledger(settlement_seq=seq), events, S.SETTLED, actor=actor, at=now,
                      reason="settled", data={"settlement_seq": seq})
    return _save(uow, order, settled, events)


def cancel_order(*, uow: UoW, clock: Clock, principal: Principal, order_id: str, reason: str) -> PaymentOrder:
    """Cancel before release (after release the bank may already have it: use a recall instead).
    Reserved funds go back to available.

    Raises:
        Forbidden (FORBIDDEN), OrderNotFound (ORDER_NOT_FOUND), FIELD_REQUIRED (no reason),
        IllegalTransition (ORDER_ILLEGAL_TRANSITION): released or later.
    """
    require(principal, Permission.ORDER_CANCEL)
    _require_reason(reason)
    now = clock.now()
    actor = principal.actor_id
    order = _visible(uow, principal, order_id)
    require_transition(order.state, S.CANCELLED)
    current = _unreserve(uow, order, actor=actor, at=now, reason=f"cancelled: {reason}")
    events: list[OrderEvent] = []
    cancelled = _record(current, events, S.CANCELLED, actor=actor, at=now, reason=reason)
    audit.record(uow, principal=principal, action="order.cancel", object_type="payment_order", object_id=order.id,
                 at=now, before={"state": order.state.value}, after={"state": cancelled.state.value}, reason=reason,
                 company_id=order.company_id)
    return _save(uow, order, cancelled, events)


def return_order(*, uow: UoW, clock: Clock, actor: str, order_id: str, reason: str) -> PaymentOrder:
    """SETTLED → RETURNED (the payee's bank sent the money back): the settlement and the
    reservation are both reversed, so the amount is available again."""
    _require_reason(reason)
    now = clock.now()
    order = uow.orders.get(order_id, for_update=True)
    require_transition(order.state, S.RETURNED)
    assert order.settlement_seq is not None and order.reservation_seq is not None
    uow.ledger.reverse(seq=order.settlement_seq, idempotency_key=f"order:{order.id}:return:settle",
                       actor=actor, at=now, reason=f"returned: {reason}")
    uow.ledger.reverse(seq=order.reservation_seq, idempotency_key=f"order:{order.id}:return:reserve",
                       actor=actor, at=now, reason=f"returned: {reason}")
    events: list[OrderEvent] = []
    returned = _record(order, events, S.RETURNED, actor=actor, at=now, reason=reason)
    return _save(uow, order, returned, events)


def fail_order(*, uow: UoW, clock: Clock, actor: str, order_id: str, reason: str) -> PaymentOrder:
    """RELEASED or SENT → FAILED (the channel gave up for good); the reservation is reversed."""
    _require_reason(reason)
    now = clock.now()
    order = uow.orders.get(order_id, for_update=True)
    require_transition(order.state, S.FAILED)
    current = _unreserve(uow, order, actor=actor, at=now, reason=f"failed: {reason}")
    events: list[OrderEvent] = []
    failed = _record(current, events, S.FAILED, actor=actor, at=now, reason=reason)
    return _save(uow, order, failed, events)


# --- steps shared by the use cases --------------------------------------------------------------
def _record(order: PaymentOrder, events: list[OrderEvent], to_state: OrderState, *, actor: str,
            at: datetime, reason: str, data: dict[str, Any] | None = None) -> PaymentOrder:
    moved, event = order.move_to(to_state, actor=actor, at=at, reason=reason, data=data)
    events.append(event)
    return moved


def _approve(uow: UoW, order: PaymentOrder, events: list[OrderEvent], *, actor: str,
             at: datetime, reason: str) -> PaymentOrder:
    require_transition(order.state, S.APPROVED)  # before booking anything
    seq = _reserve(uow, order, actor=actor, at=at)
    return _record(order.with_ledger(reservation_seq=seq), events, S.APPROVED, actor=actor, at=at,
                   reason=reason, data={"reservation_seq": seq})


def _release(uow: UoW, order: PaymentOrder, events: list[OrderEvent], *, actor: str,
             at: datetime) -> PaymentOrder:
    released = _record(order, events, S.RELEASED, actor=actor, at=at, reason="released to the bank")
    uow.outbox.add(topic="order.released", aggregate_id=order.id, at=at,
                   dedupe_key=f"order.released:{order.id}",
                   payload={"order_id": order.id, "company_id": order.company_id,
                            "end_to_end_id": order.end_to_end_id.value, "amount": order.amount.format(),
                            "currency": order.amount.currency, "urgency": order.urgency.value,
                            "requested_execution_date": order.requested_execution_date.isoformat()})
    return released


def _reserve(uow: UoW, order: PaymentOrder, *, actor: str, at: datetime) -> int:
    currency = order.amount.currency
    available, held = available_account(order, uow.vault), held_account(order, uow.vault)
    masked = order.payer.account.masked
    uow.ledger.ensure_account(code=available, currency=currency, kind="asset", allow_overdraft=False,
                              name=f"Available funds {masked} {currency}")
    uow.ledger.ensure_account(code=held, currency=currency, kind="asset", allow_overdraft=False,
                              name=f"Funds held for payments {masked} {currency}")
    try:
        return uow.ledger.post(idempotency_key=f"order:{order.id}:reserve",
                               postings=[(held, order.amount), (available, -order.amount)],
                               memo=f"reserve payment order {order.serial}", actor=actor, at=at,
                               metadata=_ledger_metadata(order))
    except InsufficientFunds as exc:  # say it in the order's terms, and never echo a full account number
        raise InsufficientFunds(
            f"payer account {masked} has too little available {currency} for {order.amount.format()}",
            where="payer.account", rule="funds_available", value=order.amount.format(),
            details={"order_id": order.id, "shortfall_minor": -int(exc.value or 0)}) from None


def _unreserve(uow: UoW, order: PaymentOrder, *, actor: str, at: datetime, reason: str) -> PaymentOrder:
    if not order.funds_reserved:
        return order
    assert order.reservation_seq is not None
    uow.ledger.reverse(seq=order.reservation_seq, idempotency_key=f"order:{order.id}:unreserve",
                       actor=actor, at=at, reason=reason)
    return order


def _ledger_metadata(order: PaymentOrder) -> dict[str, Any]:
    return {"order_id": order.id, "company_id": order.company_id, "serial": order.serial.value,
            "end_to_end_id": order.end_to_end_id.value}


def _save(uow: UoW, before: PaymentOrder, after: PaymentOrder,
          events: Sequence[OrderEvent]) -> PaymentOrder:
    uow.orders.save(after, events, expected_version=before.version)
    queue_order_status(uow.outbox, after, events, bank_status_before=before.bank_status)
    uow.commit()
    return after


def _require_reason(reason: str) -> None:
    if not isinstance(reason, str) or not reason.strip():
        problems = ProblemList()
        problems.add("FIELD_REQUIRED", "a reason is required", where="reason", rule="required")
        problems.raise_if_any()
