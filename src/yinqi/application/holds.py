"""Which holds a new order gets (`yinqi.domain.orders.holds.Hold`): suspected duplicates, payee
accounts that differ from the approved beneficiary, beneficiaries in their cooling-off period.

`find_holds` runs inside `create_order`'s unit of work, after validation; each hold becomes an
approval step that a person with the hold's role must clear.

INTERIM: returns no holds until duplicate detection and beneficiary master data land.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from yinqi.domain.orders.holds import Hold
from yinqi.domain.orders.order import PaymentOrder


def find_holds(uow: Any, order: PaymentOrder, *, now: datetime) -> list[Hold]:
    return []
