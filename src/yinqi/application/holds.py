"""Which holds a new order gets (`yinqi.domain.orders.holds.Hold`): suspected duplicates, payee
accounts that differ from the approved beneficiary, beneficiaries in their cooling-off period.

`HoldFinder` runs inside the creating unit of work, after validation; each hold becomes an
approval step that a person with the hold's role must clear. Nothing here refuses an order: a
suspicion is for a person to judge, so it is neither accepted silently nor dropped silently.
It serves a whole batch of new orders with one query per company for possible duplicates and one
for beneficiaries, and gives each order the holds it would get if the orders were created one
after another: an order of the batch is a possible duplicate of the later ones (`created`).
`find_holds` is the finder for one order.

- DUPLICATE_SUSPECTED: another order of the same company to the same payee account, same amount
  and currency, with a requested execution date at most `duplicate_window_days` away, that is not
  cancelled, rejected or failed (one hold per such order, the other order named).
- BENEFICIARY_MISMATCH: the payee's name matches an approved beneficiary, but the account differs
  (an ERP still paying an old account, or a forged one); both accounts are shown masked.
- BENEFICIARY_COOLING_OFF: the payee account is a beneficiary account changed less than the
  cooling-off period ago.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from yinqi.domain.beneficiaries import Beneficiary, BeneficiaryStatus, normalise_name
from yinqi.domain.identity.principal import Role
from yinqi.domain.orders.holds import Hold
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.orders.order import PaymentOrder

__all__ = ["DEFAULT_DUPLICATE_WINDOW_DAYS", "MAX_DUPLICATE_HOLDS", "HoldFinder", "find_holds"]

DEFAULT_DUPLICATE_WINDOW_DAYS = 3  # Settings.duplicate_window_days
MAX_DUPLICATE_HOLDS = 10  # one is enough to hold the order; a few more show the pattern
MAX_SAME_AMOUNT = 200  # same-amount orders looked at per order, oldest first
_NOT_COUNTED = frozenset({OrderState.CANCELLED, OrderState.REJECTED, OrderState.FAILED})


def find_holds(uow: Any, order: PaymentOrder, *, now: datetime,
               duplicate_window_days: int = DEFAULT_DUPLICATE_WINDOW_DAYS) -> list[Hold]:
    """Every hold for `order` (empty: nothing for a person to review before approval)."""
    return HoldFinder(uow, [order], now=now, duplicate_window_days=duplicate_window_days).holds(order)


class HoldFinder:
    """The holds of a run of orders, from what is stored now plus the orders of the run that were
    `created` before: call `holds(order)` and then `created(order)` for each order in turn."""

    def __init__(self, uow: Any, orders: Sequence[PaymentOrder], *, now: datetime,
                 duplicate_window_days: int = DEFAULT_DUPLICATE_WINDOW_DAYS) -> None:
        self._now = now
        self._window = timedelta(days=duplicate_window_days)
        self._window_days = duplicate_window_days
        self._same_amount: dict[tuple[str, str, int], list[PaymentOrder]] = {}
        self._beneficiaries: dict[str, list[Beneficiary]] = {}
        for company in sorted({o.company_id for o in orders}):
            mine = [o for o in orders if o.company_id == company]
            self._load(uow, company, mine)

    def _load(self, uow: Any, company: str, orders: Sequence[PaymentOrder]) -> None:
        dates = [o.requested_execution_date for o in orders]
        stored = uow.orders.find_same_amounts(
            company_id=company, amounts=[(o.amount.currency, o.amount.minor) for o in orders],
            execution_from=min(dates) - self._window, execution_to=max(dates) + self._window)
        for other in stored:
            self._same_amount.setdefault(_amount_key(other), []).append(other)
        found = uow.beneficiaries.find_for_payees(company, [(o.payee.name, o.payee.account) for o in orders])
        self._beneficiaries[company] = sorted(found, key=lambda b: b.id)

    def created(self, order: PaymentOrder) -> None:
        """`order` is stored now: the orders after it see it as a possible duplicate."""
        others = self._same_amount.setdefault(_amount_key(order), [])
        others[:] = sorted([o for o in others if o.id != order.id] + [order], key=lambda o: (o.created_at, o.id))

    def holds(self, order: PaymentOrder) -> list[Hold]:
        """Every hold for `order` (empty: nothing for a person to review before approval)."""
        return [*self._duplicates(order), *self._beneficiary_holds(order)]

    def _duplicates(self, order: PaymentOrder) -> list[Hold]:
        day = order.requested_execution_date
        same = [o for o in self._same_amount.get(_amount_key(order), [])
                if day - self._window <= o.requested_execution_date <= day + self._window][:MAX_SAME_AMOUNT]
        others = [o for o in same if o.id != order.id and o.state not in _NOT_COUNTED
                  and o.payee.account == order.payee.account]
        return [_duplicate_hold(other, self._window_days) for other in others[:MAX_DUPLICATE_HOLDS]]

    def _beneficiary_holds(self, order: PaymentOrder) -> list[Hold]:
        payee = order.payee
        holds: list[Hold] = []
        for b in self._beneficiaries.get(order.company_id, []):
            if not b.matches(name=payee.name, account=payee.account) or b.status is not BeneficiaryStatus.ACTIVE:
                continue  # pending ones are refused at approval by check_payable
            if b.account != payee.account and b.name_key == normalise_name(payee.name):
                holds.append(Hold(
                    "BENEFICIARY_MISMATCH",
                    f"payee {payee.name} is approved beneficiary {b.name} with account {b.account.masked}; this "
                    f"order pays {payee.account.masked}", Role.RISK_OFFICER,
                    details={"beneficiary_id": b.id, "beneficiary_name": b.name,
                             "beneficiary_account": b.account.masked, "order_account": payee.account.masked}))
            elif b.account == payee.account and b.cooling_off(self._now):
                assert b.cooling_off_until is not None
                holds.append(Hold(
                    "BENEFICIARY_COOLING_OFF",
                    f"the account {b.account.masked} of beneficiary {b.name} changed recently; it cools off until "
                    f"{b.cooling_off_until.isoformat()}", Role.RISK_OFFICER,
                    details={"beneficiary_id": b.id, "account": b.account.masked,
                             "cooling_off_until": b.cooling_off_until.isoformat()}))
        return holds


def _amount_key(order: PaymentOrder) -> tuple[str, str, int]:
    return order.company_id, order.amount.currency, order.amount.minor


def _duplicate_hold(other: PaymentOrder, window_days: int) -> Hold:
    return Hold("DUPLICATE_SUSPECTED",
                f"order {other.serial} pays {other.amount.format()} {other.amount.currency} to the same account "
                f"{other.payee.account.masked} on {other.requested_execution_date} ({other.state})",
                Role.RISK_OFFICER,
                details={"other_order_id": other.id, "other_serial": other.serial.value,
                         "other_state": other.state.value,
                         "other_execution_date": other.requested_execution_date.isoformat(),
                         "amount": other.amount.format(), "currency": other.amount.currency,
                         "payee_account": other.payee.account.masked, "window_days": window_days})
