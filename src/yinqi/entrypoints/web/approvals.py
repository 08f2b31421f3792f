"""The console's approval queue (`/approvals`) and the approve / reject buttons of the order page.

The queue shows what waits for the signed-in approver (the same `approval_queue` as the API): amount,
payee with the account masked, holds with their reasons, maker and age. Checkboxes pick orders, a
live line shows how many and the total per currency, and one TOTP code approves the selection
(`approve_orders`: one step-up, each order in its own transaction); the answer lists every order's
outcome and the total approved. Each order can be rejected with a reason. Every POST checks the
CSRF token first; a refusal is shown and recorded in the audit trail (`record_refusal`).

The maker's own orders never enter their queue, yet a maker who also approves must see that they
wait, for whom, and why not for them: a second table lists them with the refusal the workflow would
give (SOD_SELF_APPROVAL). A TOTP code typed into a form is always verified, even while an earlier
verification is still fresh: a wrong code is refused, never silently ignored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yinqi.application import approval_queue, approvals, audit, identity
from yinqi.bootstrap import Hub
from yinqi.domain.identity.permissions import Permission, allowed
from yinqi.domain.identity.principal import Principal
from yinqi.domain.money import Money
from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.problems import DomainError
from yinqi.entrypoints.api.errors import status_for
from yinqi.entrypoints.web import csrf
from yinqi.entrypoints.web.console import NO_STORE, TEMPLATES
from yinqi.entrypoints.web.session import ConsolePrincipal

__all__ = ["approval_card", "build_approvals_router"]

PAGE = "/approvals"
OBJECT = "payment_order"


def approval_card(hub: Hub, uow: Any, request: Request, order: PaymentOrder) -> dict[str, Any] | None:
    """The order page's "Approval" card (None for an order without a stored plan)."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return None
    card = approval_queue.approval_status(uow=uow, principal=principal, order=order, now=hub.clock.now())
    if card is not None:
        card["csrf_token"] = csrf.new_token(request)
        card["can_reject"] = allowed(principal, Permission.ORDER_REJECT) and order.state.value == "PENDING_APPROVAL"
    return card


def _step_up(hub: Hub, principal: Principal, code: str) -> Principal:
    if not code.strip():
        return principal
    with hub.uow() as uow:
        stepped: Principal = identity.step_up(uow=uow, clock=hub.clock, principal=principal, code=code.strip())
    return stepped


def _totals(items: list[dict[str, Any]]) -> dict[str, str]:
    sums: dict[str, int] = {}
    for item in items:
        money = Money.parse(item["amount"], item["currency"])
        sums[money.currency] = sums.get(money.currency, 0) + money.minor
    return {ccy: Money(minor, ccy).format() for ccy, minor in sorted(sums.items())}


def _my_pending(uow: Any, principal: Principal, now: Any) -> list[dict[str, Any]]:
    """The principal's own orders pending approval: where their approval stands and why it is not
    the principal's to give."""
    mine = [o for o in uow.orders.list(state="PENDING_APPROVAL", limit=approval_queue.QUEUE_SCAN_MAX)
            if o.created_by == principal.actor_id and principal.can_see_company(o.company_id)]
    rows = []
    for order in sorted(mine, key=lambda o: (o.created_at, o.id)):
        card = approval_queue.approval_status(uow=uow, principal=principal, order=order, now=now) or {}
        step = card.get("current_step")
        rows.append({"order_id": order.id, "serial": order.serial.value, "payee": order.payee.name,
                     "amount": order.amount.format(), "currency": order.amount.currency,
                     "step": step, "steps": len(card.get("steps", [])),
                     "needs": card["steps"][step - 1]["needs"] if step else "",
                     "refusal": card.get("refusal")})
    return rows


def build_approvals_router(hub: Hub) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(request: Request, principal: Principal, *, error: str | None = None,
             result: dict[str, Any] | None = None, status: int = 200) -> Response:
        try:
            with hub.uow() as uow:
                queue = approval_queue.approval_queue(uow=uow, principal=principal, now=hub.clock.now())
                mine = _my_pending(uow, principal, hub.clock.now())
        except DomainError as exc:
            audit.record_refusal(hub.uow, principal=principal, action="approval.queue.read", object_type=OBJECT,
                                 object_id=None, at=hub.clock.now(), error=exc)
            raise  # the console's error page in the app layout (entrypoints/web/errors.py)
        items = [q.as_dict() for q in queue]
        token = csrf.new_token(request)
        response = TEMPLATES.TemplateResponse(request, "approvals.html", {
            "section": "approvals", "items": items, "totals": _totals(items), "mine": mine, "csrf_token": token,
            "error": error,
            "result": result, "fresh": principal.step_up_fresh(hub.clock.now())}, status_code=status, headers=NO_STORE)
        csrf.issue(request, response, token)
        return response

    def refused(request: Request, principal: Principal, exc: DomainError, *, action: str,
                object_id: str | None) -> Response:
        if not getattr(exc, "problems", None):
            audit.record_refusal(hub.uow, principal=principal, action=action, object_type=OBJECT,
                                 object_id=object_id, at=hub.clock.now(), error=exc)
        return page(request, principal, error=f"{exc.code}: {exc.message}", status=status_for(exc.code))

    @router.get(PAGE, response_class=HTMLResponse)
    def queue_page(request: Request, principal: ConsolePrincipal) -> Response:
        return page(request, principal)

    @router.post(PAGE + "/batch")
    def approve_selected(request: Request, principal: ConsolePrincipal, csrf_token: str = Form(""),
                         totp_code: str = Form(""), order_id: list[str] = Form(default=[])) -> Response:
        csrf.check(request, csrf_token)
        try:
            acting = _step_up(hub, principal, totp_code)
            result = approvals.approve_orders(new_uow=hub.uow, clock=hub.clock, principal=acting,
                                              order_ids=order_id, auto_release=hub.settings.auto_release)
        except DomainError as exc:
            return refused(request, principal, exc, action="order.approve", object_id=None)
        return page(request, principal, result=result.as_dict())

    @router.post(PAGE + "/{order_id}/reject")
    def reject_from_queue(request: Request, principal: ConsolePrincipal, order_id: str, csrf_token: str = Form(""),
                          reason: str = Form("")) -> Response:
        csrf.check(request, csrf_token)
        try:
            with hub.uow() as uow:
                approvals.reject_order(uow=uow, clock=hub.clock, principal=principal, order_id=order_id, reason=reason)
        except DomainError as exc:
            return refused(request, principal, exc, action="order.reject", object_id=order_id)
        return RedirectResponse(PAGE, status_code=303)

    @router.post("/orders/{order_id}/approve")
    def approve_one(request: Request, principal: ConsolePrincipal, order_id: str, csrf_token: str = Form(""),
                    totp_code: str = Form("")) -> Response:
        csrf.check(request, csrf_token)
        try:
            acting = _step_up(hub, principal, totp_code)
            with hub.uow() as uow:
                approvals.approve_order(uow=uow, clock=hub.clock, principal=acting, order_id=order_id,
                                        auto_release=hub.settings.auto_release)
        except DomainError as exc:
            return _back(hub, principal, exc, order_id, action="order.approve")
        return RedirectResponse(f"/orders/{order_id}", status_code=303)

    @router.post("/orders/{order_id}/reject")
    def reject_one(request: Request, principal: ConsolePrincipal, order_id: str, csrf_token: str = Form(""),
                   reason: str = Form("")) -> Response:
        csrf.check(request, csrf_token)
        try:
            with hub.uow() as uow:
                approvals.reject_order(uow=uow, clock=hub.clock, principal=principal, order_id=order_id, reason=reason)
        except DomainError as exc:
            return _back(hub, principal, exc, order_id, action="order.reject")
        return RedirectResponse(f"/orders/{order_id}", status_code=303)

    return router


def _back(hub: Hub, principal: Principal, exc: DomainError, order_id: str, *, action: str) -> Response:
    """Back to the order page, which shows the refusal's code (recorded in the audit trail here)."""
    if not getattr(exc, "problems", None):
        audit.record_refusal(hub.uow, principal=principal, action=action, object_type=OBJECT, object_id=order_id,
                             at=hub.clock.now(), error=exc)
    if exc.code in ("FORBIDDEN", "ORDER_NOT_FOUND"):
        raise exc  # the console's 403 / 404 page (entrypoints/web/errors.py), not a redirect (R18)
    return RedirectResponse(f"/orders/{order_id}?approval_error={exc.code}", status_code=303)
