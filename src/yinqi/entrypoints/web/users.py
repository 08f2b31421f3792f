"""The console's users and roles page (`/users`, admins; issue 3 point 8).

One page lists users (roles, companies, approval limit, TOTP, disabled, locked), the role grants
waiting for a second admin, and API tokens; its forms create a user, grant a role, approve a grant,
disable a user, reset a lockout, issue and revoke tokens. Every form is a POST with the session's
CSRF token; each action is the same use case the API calls (which authorises and audits), and a
refused one comes back as the page with the error, recorded through `audit_refusal`.

A newly issued token's secret is shown once, in the body of the POST's own response: never in a
URL, a redirect, a cookie or a log, and the page cannot show it again.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yinqi.application import identity
from yinqi.bootstrap import Hub
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Principal, Role
from yinqi.domain.problems import DomainError, ValidationFailed
from yinqi.entrypoints.api.errors import status_for
from yinqi.entrypoints.api.users import lock_states
from yinqi.entrypoints.web import csrf
from yinqi.entrypoints.web.audit import audit_refusal
from yinqi.entrypoints.web.console import NO_STORE, TEMPLATES
from yinqi.entrypoints.web.session import ConsolePrincipal

REFUSALS = frozenset({"FORBIDDEN", "GRANT_REQUIRES_SECOND_ADMIN"})


def _limit_minor(text: str) -> int | None:
    """An approval limit typed as a decimal amount ("50000.00") in minor units; blank: role default."""
    if not text.strip():
        return None
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        value = Decimal(-1)
    if value < 0 or value != value.quantize(Decimal("0.01")):
        raise ValidationFailed([DomainError("a limit is an amount with at most two decimals, zero or more",
                                            where="approval_limit", rule="amount", value=text[:40]).as_problem()])
    return int(value * 100)


def _page(hub: Hub, request: Request, principal: Principal, *, error: str | None = None,
          issued: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    require(principal, Permission.USER_READ)
    with hub.uow() as uow:
        users = identity.list_users(uow=uow, principal=principal)
        locked = lock_states(uow, users, now=hub.clock.now())
        grants = identity.list_grant_requests(uow=uow, principal=principal)
        tokens = identity.list_tokens(uow=uow, principal=principal)
        companies = identity.list_companies(uow=uow, principal=principal)
    names = {u.id: u.username for u in users}
    token = csrf.new_token(request)
    response = TEMPLATES.TemplateResponse(request, "users.html", {
        "section": "users", "csrf_token": token, "error": error, "issued": issued, "roles": [r.value for r in Role],
        "companies": companies, "names": names,
        "users": [{"u": u, "locked": locked[u.id], "roles": ", ".join(sorted(r.value for r in u.roles)),
                   "companies": ", ".join(sorted(u.companies)),
                   "limit": "role default" if u.approval_limit_minor is None
                   else f"{Decimal(u.approval_limit_minor) / 100:,.2f}"} for u in users],
        "grants": grants, "tokens": [t for t in tokens if t.revoked_at is None],
        "scopes": sorted(p.value for p in Permission), "can_manage": principal.has_role(Role.ADMIN),
    }, status_code=status, headers=NO_STORE)
    csrf.issue(request, response, token)
    return response


def build_users_router(hub: Hub) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def act(request: Request, principal: Principal, csrf_token: str, action: Any) -> Response:
        """CSRF, then the use case; back to the page (303), or the page with the refusal."""
        csrf.check(request, csrf_token)
        require(principal, Permission.USER_READ)  # the page's own permission first: no action it cannot show
        try:
            with hub.uow() as uow:
                result = action(uow)
        except DomainError as exc:
            if exc.code in REFUSALS:
                audit_refusal(request, exc)
            return _page(hub, request, principal, error=f"{exc.code}: {exc.message}", status=status_for(exc.code))
        if isinstance(result, dict):  # a new token: its secret shown in this response only
            return _page(hub, request, principal, issued=result, status=201)
        return RedirectResponse("/users", status_code=303)

    @router.get("/users", response_class=HTMLResponse)
    def users_page(request: Request, principal: ConsolePrincipal) -> Response:
        try:
            return _page(hub, request, principal)
        except DomainError as exc:
            audit_refusal(request, exc)
            raise  # the console's error page in the app layout (entrypoints/web/errors.py)

    @router.post("/users")
    def create(request: Request, principal: ConsolePrincipal, csrf_token: str = Form(""),
               username: str = Form("", max_length=64), display_name: str = Form("", max_length=200),
               password: str = Form("", max_length=256), roles: list[str] = Form([]),
               companies: list[str] = Form([]), approval_limit: str = Form("", max_length=30)) -> Response:
        def run(uow: Any) -> None:
            wanted = {_role(r) for r in roles}
            identity.create_user(uow=uow, clock=hub.clock, principal=principal, username=username, password=password,
                                 display_name=display_name, roles=wanted, companies=set(companies),
                                 approval_limit_minor=_limit_minor(approval_limit))
        return act(request, principal, csrf_token, run)

    @router.post("/users/{user_id}/grants")
    def grant(request: Request, principal: ConsolePrincipal, user_id: str, csrf_token: str = Form(""),
              role: str = Form("")) -> Response:
        def run(uow: Any) -> None:
            identity.request_role_grant(uow=uow, clock=hub.clock, principal=principal, user_id=user_id,
                                        role=_role(role))
        return act(request, principal, csrf_token, run)

    @router.post("/users/grants/{request_id}/approve")
    def approve(request: Request, principal: ConsolePrincipal, request_id: str, csrf_token: str = Form("")) -> Response:
        return act(request, principal, csrf_token, lambda uow: identity.approve_role_grant(
            uow=uow, clock=hub.clock, principal=principal, request_id=request_id))

    @router.post("/users/{user_id}/disable")
    def disable(request: Request, principal: ConsolePrincipal, user_id: str, csrf_token: str = Form("")) -> Response:
        return act(request, principal, csrf_token, lambda uow: identity.disable_user(
            uow=uow, clock=hub.clock, principal=principal, user_id=user_id))

    @router.post("/users/{user_id}/reset-lockout")
    def reset(request: Request, principal: ConsolePrincipal, user_id: str, csrf_token: str = Form("")) -> Response:
        return act(request, principal, csrf_token, lambda uow: identity.reset_lockout(
            uow=uow, clock=hub.clock, principal=principal, user_id=user_id))

    @router.post("/users/tokens")
    def issue(request: Request, principal: ConsolePrincipal, csrf_token: str = Form(""),
              user_id: str = Form("", max_length=64), name: str = Form("", max_length=100),
              scopes: list[str] = Form([]), companies: list[str] = Form([])) -> Response:
        def run(uow: Any) -> dict[str, str]:
            issued = identity.issue_token(uow=uow, clock=hub.clock, principal=principal,
                                          user_id=user_id or principal.user_id, name=name, scopes=set(scopes),
                                          companies=set(companies))
            return {"id": issued.token_id, "name": name, "secret": issued.secret}
        return act(request, principal, csrf_token, run)

    @router.post("/users/tokens/{token_id}/revoke")
    def revoke(request: Request, principal: ConsolePrincipal, token_id: str, csrf_token: str = Form("")) -> Response:
        return act(request, principal, csrf_token, lambda uow: identity.revoke_token(
            uow=uow, clock=hub.clock, principal=principal, token_id=token_id))

    return router


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationFailed([DomainError("choose one of the roles", where="role", rule="known_role",
                                            value=value[:40]).as_problem()]) from None
