"""Who is using the console (`ConsolePrincipal`): the signed-in user behind the session cookie.

The cookie `__Host-yinqi_session` holds the session token (≥ 128 random bits, issued by
`yinqi.application.identity.login` and replaced at full sign-in); the database keeps only its
SHA-256. The `__Host-` prefix makes the browser insist on `Secure`, `Path=/` and no `Domain`, so a
sibling subdomain cannot plant or overwrite it; `HttpOnly` keeps it from scripts; `SameSite=Strict`
keeps it off cross-site requests. Every console request re-checks the session through
`authenticate_session` (idle 15 min, absolute 8 h, logout, disable, password change: R16).

A console page without a valid session redirects (303) to `/login?next=<path>`: the exception
handler installed by `install_sign_in_redirect` turns a `NotAuthenticated` raised in any console
route into that redirect, while API routes keep their JSON 401. Tests act as a given principal
with `app.dependency_overrides[console_principal]` (see tests/support/auth.py).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from yinqi.application import identity
from yinqi.domain.identity.principal import NotAuthenticated, Principal
from yinqi.domain.problems import DomainError
from yinqi.entrypoints.web import csrf

SESSION_COOKIE = csrf.SESSION_COOKIE  # "__Host-yinqi_session"
API_PREFIX = "/api/"
SESSION_MAX_AGE_S = 8 * 3600  # the absolute lifetime; the server enforces it (and the idle timeout) anyway


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def session_token(request: Request) -> str:
    """The raw session token from the cookie ("" when there is none)."""
    return request.cookies.get(SESSION_COOKIE, "")


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_MAX_AGE_S, path="/", secure=True, httponly=True,
                        samesite="strict")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")


def principal_from_session(request: Request) -> Principal:
    """The fully signed-in principal of this request's session cookie.

    Raises:
        NotAuthenticated (NOT_AUTHENTICATED): no cookie, or the session is unknown, ended, idle,
            too old, not past TOTP yet, or its user disabled.
    """
    token = session_token(request)
    if not token:
        raise NotAuthenticated("sign in to use the console", rule="session_required")
    hub = request.app.state.hub
    with hub.uow() as uow:
        principal = identity.authenticate_session(uow=uow, clock=hub.clock, session_token=token,
                                                  source_address=client_address(request))
    request.state.principal = principal
    request.state.csrf_token = csrf.new_token(request)  # for the sign-out form in every page's header
    return principal


def console_principal(request: Request) -> Principal:
    """Raises NotAuthenticated (redirected to the sign-in page by `install_sign_in_redirect`)."""
    return principal_from_session(request)


ConsolePrincipal = Annotated[Principal, Depends(console_principal)]


def safe_next(target: str | None, default: str = "/orders") -> str:
    """A local path to go back to after sign-in; anything else (another host, `//host`,
    `/\\host`, a scheme) becomes `default`, so `next` cannot be an open redirect."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return default
    if any(ord(c) < 0x20 for c in target):
        return default
    return target


def sign_in_redirect(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(safe_next(here), safe='')}", status_code=303)


def install_sign_in_redirect(app: FastAPI) -> None:
    """A `NotAuthenticated` in a console route redirects to the sign-in page; in an API route it
    goes on to the app's `DomainError` handler (JSON 401, refusal audited)."""

    async def handler(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(API_PREFIX) or request.url.path in ("/docs", "/openapi.json"):
            domain_handler: Any = app.exception_handlers[DomainError]
            response: Response = await domain_handler(request, exc)
            return response
        response = sign_in_redirect(request)
        if session_token(request):
            clear_session_cookie(response)  # an ended or expired session: drop the stale cookie
        return response

    app.add_exception_handler(NotAuthenticated, handler)
