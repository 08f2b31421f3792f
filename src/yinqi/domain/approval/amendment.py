"""Amending an order pending approval: the maker changes its amount, payee or execution date.

The new values go through exactly the checks of a new order (`checks.build_order`, every problem
at once), so an amendment cannot smuggle in what creation would refuse. The amendment is one more
event in the order's hash chain, PENDING_APPROVAL → PENDING_APPROVAL ("submitted for approval"
again), carrying what changed with accounts masked; the state machine's table is untouched because
the state does not change. The caller re-plans the approvals: none given so far carry over.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from yinqi.domain.orders.checks import build_order
from yinqi.domain.orders.commands import AccountInput, AddressInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.events import OrderEvent
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.parties import AccountRef, Payee, Payer
from yinqi.domain.problems import Problem, ValidationFailed

__all__ = ["amend"]

Changes = dict[str, tuple[str | None, str | None]]


def amend(order: PaymentOrder, *, amount: str | None, payee: PayeeInput | None,
          requested_execution_date: date | None, actor: str, at: datetime,
          reason: str) -> tuple[PaymentOrder, OrderEvent, Changes]:
    """The amended order, its event, and what changed (field → (before, after), masked).

    Raises:
        ValidationFailed (VALIDATION_FAILED): the new values break a rule, or nothing changes.
    """
    assert order.state is OrderState.PENDING_APPROVAL, "only an order pending approval is amended"
    command = CreateOrder(
        company_id=order.company_id, serial=order.serial.value, payer=_payer_input(order.payer),
        payee=payee or _payee_input(order.payee),
        amount=amount if amount is not None else order.amount.format(), currency=order.amount.currency,
        requested_execution_date=requested_execution_date or order.requested_execution_date,
        urgency=order.urgency.value, purpose_code=order.purpose_code, remittance_info=order.remittance_info,
        end_to_end_id=order.end_to_end_id.value, source=order.source.value)
    rebuilt = build_order(command, order_id=order.id, today=at.date(), actor=order.created_by, at=order.created_at)
    changes = _changes(order, rebuilt)
    if not changes:
        raise ValidationFailed([Problem("NOTHING_TO_AMEND", "the amendment changes nothing", where="order",
                                        rule="amendment_changes_something")])
    event = OrderEvent(order_id=order.id, seq=order.version + 1, from_state=order.state, to_state=order.state,
                       actor=actor, at=at, reason=f"amended: {reason.strip()}",
                       data={"amended": {k: {"before": b, "after": a} for k, (b, a) in changes.items()}}
                       ).sealed(order.event_hash)
    amended = replace(order, amount=rebuilt.amount, payee=rebuilt.payee,
                      requested_execution_date=rebuilt.requested_execution_date, version=event.seq,
                      event_hash=event.hash, updated_at=at)
    return amended, event, changes


def _changes(old: PaymentOrder, new: PaymentOrder) -> Changes:
    def view(o: PaymentOrder) -> dict[str, str | None]:
        payee = o.payee
        return {"amount": o.amount.format(), "payee_name": payee.name, "payee_account": payee.account.masked,
                "payee_account_id": payee.account.normalised, "payee_bic": payee.bic.value if payee.bic else None,
                "payee_country": payee.country.value,
                "requested_execution_date": o.requested_execution_date.isoformat()}

    before, after = view(old), view(new)
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    if "payee_account_id" in changed:  # compare in clear, record masked only
        changed.pop("payee_account_id")
        changed.setdefault("payee_account", (before["payee_account"], after["payee_account"]))
    return changed


def _account_input(account: AccountRef) -> AccountInput:
    if account.iban is not None:
        return AccountInput(iban=account.iban.compact)
    assert account.domestic is not None
    return AccountInput(number=account.domestic.number, cnaps=account.domestic.cnaps.value)


def _payer_input(payer: Payer) -> PayerInput:
    return PayerInput(name=payer.name, account=_account_input(payer.account), currency=payer.currency,
                      bic=payer.bic.value if payer.bic else None)


def _payee_input(payee: Payee) -> PayeeInput:
    address = payee.address
    return PayeeInput(name=payee.name, account=_account_input(payee.account), country=payee.country.value,
                      bic=payee.bic.value if payee.bic else None,
                      address=AddressInput(street=address.street, building_number=address.building_number,
                                           postcode=address.postcode, town=address.town) if address else None)
