"""Which holds a new order gets (`yinqi.domain.orders.holds.Hold`): suspected duplicates, payee
accounts that differ from the approved beneficiary, beneficiaries in their cooling-off period.

`find_holds` runs inside `create_order`'s unit of work, after validation; each hold becomes an
approval step that a person with the hold's role must clear. Nothing here refuses an order: a
suspicion is for a person to judge, so it is neither accepted silently nor dropped silently.

- DUPLICATE_SUSPECTED: another order of the same company to the same payee account, same amount
  and currency, with a requested execution date at most `duplicate_window_days` away, that is not
  cancelled, rejected or failed (one hold per such order, the other order named).
- BENEFICIARY_MISMATCH: the payee's name matches an approved beneficiary, but the account differs
  (an ERP still paying an old account, or a forged one); both accounts are shown masked.
- BENEFICIARY_COOLING_OFF: the payee account is a beneficiary account changed less than the
  cooling-off period ago.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from yinqi.domain.beneficiaries import BeneficiaryStatus, normalise_name
from yinqi.domain.identity.principal import Role
from yinqi.domain.orders.holds import Hold
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.orders.order import PaymentOrder

__all__ = ["DEFAULT_DUPLICATE_WINDOW_DAYS", "MAX_DUPLICATE_HOLDS", "find_holds"]

DEFAULT_DUPLICATE_WINDOW_DAYS = 3  # Settings.duplicate_window_days
MAX_DUPLICATE_HOLDS = 10  # one is enough to hold the order; a few more show the pattern
_NOT_COUNTED = frozenset({OrderState.CANCELLED, OrderState.REJECTED, OrderState.FAILED})


def find_holds(uow: Any, order: PaymentOrder, *, now: datetime,
               duplicate_window_days: int = DEFAULT_DUPLICATE_WINDOW_DAYS) -> list[Hold]:
    """Every hold for `order` (empty: nothing for a person to review before approval)."""
    return [*_duplicates(uow, order, window_days=duplicate_window_days), *_beneficiary_holds(uow, order, now=now)]


def _duplicates(uow: Any, order: PaymentOrder, *, window_days: int) -> list[Hold]:
    window = timedelta(days=window_days)
    candidates = uow.orders.find_same_amount(
        company_id=order.company_id, currency=order.amount.currency, amount_minor=order.amount.minor,
        execution_from=order.requested_execution_date - window, execution_to=order.requested_execution_date + window)
    others = [o for o in candidates if o.id != order.id and o.state not in _NOT_COUNTED
              and o.payee.account == order.payee.account]
    return [Hold("DUPLICATE_SUSPECTED",
                 f"order {other.serial} pays {other.amount.format()} {other.amount.currency} to the same account "
                 f"{other.payee.account.masked} on {other.requested_execution_date} ({other.state})",
                 Role.RISK_OFFICER,
                 details={"other_order_id": other.id, "other_serial": other.serial.value,
                          "other_state": other.state.value,
                          "other_execution_date": other.requested_execution_date.isoformat(),
                          "amount": other.amount.format(), "currency": other.amount.currency,
                          "payee_account": other.payee.account.masked, "window_days": window_days})
            for other in others[:MAX_DUPLICATE_HOLDS]]


def _beneficiary_holds(uow: Any, order: PaymentOrder, *, now: datetime) -> list[Hold]:
    payee = order.payee
    holds: list[Hold] = []
    for b in uow.beneficiaries.find_for_payee(order.company_id, name=payee.name, account=payee.account):
        if b.status is not BeneficiaryStatus.ACTIVE:
            continue  # pending ones are refused at approval by check_payable
        if b.account != payee.account and b.name_key == normalise_name(payee.name):
            holds.append(Hold(
                "BENEFICIARY_MISMATCH",
                f"payee {payee.name} is approved beneficiary {b.name} with account {b.account.masked}; this order "
                f"pays {payee.account.masked}", Role.RISK_OFFICER,
                details={"beneficiary_id": b.id, "beneficiary_name": b.name,
                         "beneficiary_account": b.account.masked, "order_account": payee.account.masked}))
        elif b.account == payee.account and b.cooling_off(now):
            assert b.cooling_off_until is not None
            holds.append(Hold(
                "BENEFICIARY_COOLING_OFF",
                f"the account {b.account.masked} of beneficiary {b.name} changed recently; it cools off until "
                f"{b.cooling_off_until.isoformat()}", Role.RISK_OFFICER,
                details={"beneficiary_id": b.id, "account": b.account.masked,
                         "cooling_off_until": b.cooling_off_until.isoformat()}))
    return holds
