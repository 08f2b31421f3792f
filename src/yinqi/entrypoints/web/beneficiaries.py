"""The console's beneficiaries page (`/beneficiaries`): payees with their status and pending changes
(old → new account, masked unless the user may `account.reveal`), a form to propose a beneficiary
or a new account, and approve / reject buttons for the changes another user proposed.

Every POST checks the CSRF token first and redirects back (303) on success; a refusal re-renders
the page with the error and is recorded in the audit trail (`audit_refusal`). The same use cases
as the API and the CLI decide who may do what (`yinqi.application.beneficiaries`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yinqi.application import audit
from yinqi.application import beneficiaries as cases
from yinqi.bootstrap import Hub
from yinqi.domain.identity.permissions import Permission, allowed
from yinqi.domain.identity.principal import Principal
from yinqi.domain.orders.commands import AccountInput, AddressInput
from yinqi.domain.problems import DomainError
from yinqi.entrypoints.api.errors import status_for
from yinqi.entrypoints.web import csrf
from yinqi.entrypoints.web.audit import audit_refusal
from yinqi.entrypoints.web.console import NO_STORE, TEMPLATES
from yinqi.entrypoints.web.session import ConsolePrincipal

__all__ = ["build_beneficiaries_router"]

PAGE = "/beneficiaries"


def _rows(hub: Hub, principal: Principal) -> list[dict[str, Any]]:
    reveal = allowed(principal, Permission.ACCOUNT_REVEAL)
    with hub.uow() as uow:
        listings = cases.list_beneficiaries(uow=uow, principal=principal)
    return [{"b": cases.beneficiary_view(x.beneficiary, reveal=reveal),
             "pending": cases.change_view(x.pending, reveal=reveal) if x.pending else None,
             "own": x.pending is not None and x.pending.proposed_by == principal.actor_id} for x in listings]


def _page(hub: Hub, request: Request, principal: Principal, *, error: str | None = None,
          problems: list[dict[str, Any]] | None = None, form: dict[str, str] | None = None,
          status: int = 200) -> Response:
    try:
        rows = _rows(hub, principal)
    except DomainError as exc:
        audit_refusal(request, exc)
        raise  # the console's error page in the app layout (entrypoints/web/errors.py)
    token = csrf.new_token(request)
    response = TEMPLATES.TemplateResponse(request, "beneficiaries.html", {
        "section": "beneficiaries", "csrf_token": token, "rows": rows, "error": error, "problems": problems or [],
        "form": form or {"company_id": hub.settings.company_id},
        "can_propose": allowed(principal, Permission.BENEFICIARY_PROPOSE),
        "can_approve": allowed(principal, Permission.BENEFICIARY_APPROVE),
        "cooling_off_hours": hub.settings.beneficiary_cooling_off_hours,
    }, status_code=status, headers=NO_STORE)
    csrf.issue(request, response, token)
    return response


def _account(iban: str, number: str, cnaps: str) -> AccountInput:
    return AccountInput(iban=iban.strip() or None, number=number.strip() or None, cnaps=cnaps.strip() or None)


def build_beneficiaries_router(hub: Hub) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def act(request: Request, principal: Principal, csrf_token: str, action: Any, *, audit_as: str,
            object_id: str | None = None, form: dict[str, str] | None = None) -> Response:
        """CSRF, then the use case; back to the page (303), or the page with the refusal (audited)."""
        csrf.check(request, csrf_token)
        try:
            with hub.uow() as uow:
                action(uow)
        except DomainError as exc:
            problems = [p.as_dict() for p in getattr(exc, "problems", [])]
            if not problems:
                audit.record_refusal(hub.uow, principal=principal, action=audit_as, object_type=cases.OBJECT,
                                     object_id=object_id, at=hub.clock.now(), error=exc)
            return _page(hub, request, principal, error=f"{exc.code}: {exc.message}", problems=problems, form=form,
                         status=status_for(exc.code))
        return RedirectResponse(PAGE, status_code=303)

    @router.get(PAGE, response_class=HTMLResponse)
    def beneficiaries_page(request: Request, principal: ConsolePrincipal) -> Response:
        return _page(hub, request, principal)

    @router.post(PAGE)
    def propose(request: Request, principal: ConsolePrincipal, csrf_token: str = Form(""),
                company_id: str = Form(""), name: str = Form(""), iban: str = Form(""), number: str = Form(""),
                cnaps: str = Form(""), bic: str = Form(""), country: str = Form(""), town: str = Form(""),
                reason: str = Form("")) -> Response:
        form = {"company_id": company_id, "name": name, "iban": iban, "number": number, "cnaps": cnaps, "bic": bic,
                "country": country, "town": town, "reason": reason}
        return act(request, principal, csrf_token, lambda uow: cases.propose_beneficiary(
            uow=uow, clock=hub.clock, principal=principal, company_id=company_id.strip(), name=name,
            account=_account(iban, number, cnaps), country=country.strip().upper(), bic=bic.strip() or None,
            address=AddressInput(town=town.strip()) if town.strip() else None, reason=reason.strip()),
            audit_as="beneficiary.propose", form=form)

    @router.post(PAGE + "/{beneficiary_id}/changes")
    def propose_change(request: Request, principal: ConsolePrincipal, beneficiary_id: str,
                       csrf_token: str = Form(""), iban: str = Form(""), number: str = Form(""),
                       cnaps: str = Form(""), bic: str = Form(""), reason: str = Form("")) -> Response:
        return act(request, principal, csrf_token, lambda uow: cases.propose_change(
            uow=uow, clock=hub.clock, principal=principal, beneficiary_id=beneficiary_id,
            account=_account(iban, number, cnaps), bic=bic.strip() or None, reason=reason.strip()),
            audit_as="beneficiary.change.propose", object_id=beneficiary_id)

    @router.post(PAGE + "/changes/{change_id}/approve")
    def approve(request: Request, principal: ConsolePrincipal, change_id: str, csrf_token: str = Form("")) -> Response:
        return act(request, principal, csrf_token, lambda uow: cases.approve_change(
            uow=uow, clock=hub.clock, principal=principal, change_id=change_id,
            cooling_off=timedelta(hours=hub.settings.beneficiary_cooling_off_hours)),
            audit_as="beneficiary.change.approve", object_id=change_id)

    @router.post(PAGE + "/changes/{change_id}/reject")
    def reject(request: Request, principal: ConsolePrincipal, change_id: str, csrf_token: str = Form(""),
               reason: str = Form("")) -> Response:
        return act(request, principal, csrf_token, lambda uow: cases.reject_change(
            uow=uow, clock=hub.clock, principal=principal, change_id=change_id, reason=reason.strip() or "rejected"),
            audit_as="beneficiary.change.reject", object_id=change_id)

    return router
