"""The console's reconciliation page (`/reconciliation`): the exceptions queue.

Unmatched statement lines (amount, date, reference, why they are here) and unmatched orders, each
with a tick box: "Match ticked" puts the ticked lines and orders into one group (1:1, 1:N, N:1,
M:N), "Write off ticked lines" books the ticked lines to the write-off account (reason required).
The engine's suggestions show their confidence and reason codes with accept / reject buttons; the
active match groups have an unmatch button (reason required). Step-up is not asked: matching books
what the bank already did, it moves no money out (the approval policy covers payments).

Every POST checks the CSRF token first and redirects back (303) on success; a refusal re-renders
the page with the error and is recorded in the audit trail. The same use cases as the API and the
CLI decide who may do what (`recon.read` to see, `recon.resolve` to decide).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yinqi.application import audit
from yinqi.application import recon_decisions as decisions
from yinqi.application.recon_queue import list_exceptions, queue_dict
from yinqi.bootstrap import Hub
from yinqi.domain.identity.permissions import Permission, allowed
from yinqi.domain.identity.principal import Principal
from yinqi.domain.problems import DomainError
from yinqi.entrypoints.api.errors import status_for
from yinqi.entrypoints.web import csrf
from yinqi.entrypoints.web.console import NO_STORE, TEMPLATES
from yinqi.entrypoints.web.session import ConsolePrincipal

__all__ = ["build_reconciliation_router"]

PAGE = "/reconciliation"


def _page(hub: Hub, request: Request, principal: Principal, *, error: str | None = None,
          status: int = 200) -> Response:
    with hub.uow() as uow:  # a refusal becomes the console's 403 page (web/errors.py), audited there
        view = queue_dict(list_exceptions(uow=uow, principal=principal, home_company=hub.settings.company_id))
    token = csrf.new_token(request)
    response = TEMPLATES.TemplateResponse(request, "reconciliation.html", {
        "section": "reconciliation", "csrf_token": token, "q": view, "error": error,
        "can_decide": allowed(principal, Permission.RECON_RESOLVE)}, status_code=status, headers=NO_STORE)
    csrf.issue(request, response, token)
    return response


def build_reconciliation_router(hub: Hub) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def act(request: Request, principal: Principal, csrf_token: str, action: str, object_id: str | None,
            case: Any, **kwargs: Any) -> Response:
        """CSRF, then the decision; back to the page (303), or the page with the refusal (audited)."""
        csrf.check(request, csrf_token)
        try:
            with hub.uow() as uow:
                case(uow=uow, clock=hub.clock, principal=principal, home_company=hub.settings.company_id, **kwargs)
        except DomainError as exc:
            audit.record_refusal(hub.uow, principal=principal, action=action, object_type=decisions.OBJECT,
                                 object_id=object_id, at=hub.clock.now(), error=exc)
            return _page(hub, request, principal, error=f"{exc.code}: {exc.message}", status=status_for(exc.code))
        return RedirectResponse(PAGE, status_code=303)

    @router.get(PAGE, response_class=HTMLResponse)
    def reconciliation_page(request: Request, principal: ConsolePrincipal) -> Response:
        return _page(hub, request, principal)

    @router.post(PAGE + "/match")
    def match(request: Request, principal: ConsolePrincipal, csrf_token: str = Form(""),
              entry_ids: list[int] = Form([]), order_ids: list[str] = Form([]),
              reason: str = Form("")) -> Response:
        return act(request, principal, csrf_token, "recon.match.manual", None, decisions.match_manually,
                   entry_ids=entry_ids, order_ids=order_ids, reason=reason)

    @router.post(PAGE + "/write-off")
    def write_off(request: Request, principal: ConsolePrincipal, csrf_token: str = Form(""),
                  entry_ids: list[int] = Form([]), reason: str = Form("")) -> Response:
        return act(request, principal, csrf_token, "recon.write_off", None, decisions.write_off,
                   entry_ids=entry_ids, reason=reason)

    @router.post(PAGE + "/suggestions/{suggestion_id}/accept")
    def accept(request: Request, principal: ConsolePrincipal, suggestion_id: str,
               csrf_token: str = Form("")) -> Response:
        return act(request, principal, csrf_token, "recon.match.accept", suggestion_id, decisions.accept_suggestion,
                   suggestion_id=suggestion_id)

    @router.post(PAGE + "/suggestions/{suggestion_id}/reject")
    def reject(request: Request, principal: ConsolePrincipal, suggestion_id: str, csrf_token: str = Form(""),
               reason: str = Form("")) -> Response:
        return act(request, principal, csrf_token, "recon.match.reject", suggestion_id, decisions.reject_suggestion,
                   suggestion_id=suggestion_id, reason=reason)

    @router.post(PAGE + "/groups/{group_id}/unmatch")
    def unmatch(request: Request, principal: ConsolePrincipal, group_id: str, csrf_token: str = Form(""),
                reason: str = Form("")) -> Response:
        return act(request, principal, csrf_token, "recon.unmatch", group_id, decisions.unmatch, group_id=group_id,
                   reason=reason)

    return router
