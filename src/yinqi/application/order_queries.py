"""Reading payment orders as a principal: the one place the API and the console ask "which orders may
this person see?" (R18, object level).

Reading needs `order.read`; an order of a company not granted to the principal is ORDER_NOT_FOUND,
word for word the answer for an id that never existed, so an id probe learns nothing (no existence
leak). A list shows only the granted companies' orders: with several companies each is read
through the repository's own company filter and the pages are merged newest first, so a page is
exact and bounded (companies × limit rows) without a repository change.
"""

from __future__ import annotations

import heapq
import itertools
from datetime import datetime
from typing import Any

from yinqi.application.approvals import visible_order
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Principal
from yinqi.domain.orders.order import PaymentOrder

__all__ = ["get_order", "list_orders"]


def get_order(*, uow: Any, principal: Principal, order_id: str) -> PaymentOrder:
    """Raises:
        Forbidden (FORBIDDEN): no `order.read`.
        OrderNotFound (ORDER_NOT_FOUND): no such order, or another company's.
    """
    require(principal, Permission.ORDER_READ)
    return visible_order(uow, principal, order_id)


def list_orders(*, uow: Any, principal: Principal, company_id: str | None = None, state: str | None = None,
                limit: int = 50, after: tuple[datetime, str] | None = None) -> list[PaymentOrder]:
    """Newest first, at most `limit`, only of companies granted to the principal (a company asked
    for but not granted gives an empty page, as an unknown one does).

    Raises:
        Forbidden (FORBIDDEN): no `order.read`.
    """
    require(principal, Permission.ORDER_READ)
    if principal.all_companies:
        return list(uow.orders.list(company_id=company_id, state=state, limit=limit, after=after))
    companies = sorted(principal.companies if company_id is None else principal.companies & {company_id})
    pages = [uow.orders.list(company_id=c, state=state, limit=limit, after=after) for c in companies]
    merged = heapq.merge(*pages, key=lambda o: (o.created_at, o.id), reverse=True)
    return list(itertools.islice(merged, limit))
