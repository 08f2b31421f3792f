"""Console sign-in: password, then a TOTP code (or, the first time, TOTP enrolment with a QR
code), sign-out and step-up (R14-R17).

    GET/POST /login          username + password  → session in state password_ok (new session id)
    GET/POST /login/totp     6-digit code         → authenticated (the session id changes again)
    GET /login/enrol         explains, offers "show my set-up code"
    POST /login/enrol/start  new secret: QR code (inline SVG, `segno`) and the secret for manual entry
    POST /login/enrol        the first code confirms the secret → authenticated
    POST /logout             ends the session, drops the cookie
    GET/POST /step-up        a fresh code for actions that need one (approvals), then back to `next`

Every POST checks CSRF first (`csrf.check`) and every sign-in attempt takes a token from the
per-address and per-username rate limits (`yinqi.entrypoints.rate_limits`) before any password or
code is checked. No GET changes state: enrolment starts with a POST, so the secret is generated
once per button press and never by a prefetch or a crawler. The error text never says whether the
username exists (ASVS 6.3.8); the use cases count failures toward the lockout and audit them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yinqi.application import audit, identity
from yinqi.application.identity_base import anonymous
from yinqi.domain.identity.principal import Forbidden, NotAuthenticated, StepUpRequired
from yinqi.domain.identity.rate_limit import RateLimited
from yinqi.domain.problems import DomainError
from yinqi.entrypoints.rate_limits import rate_limits_for
from yinqi.entrypoints.web import csrf
from yinqi.entrypoints.web.console import NO_STORE, TEMPLATES
from yinqi.entrypoints.web.session import (
    ConsolePrincipal,
    clear_session_cookie,
    client_address,
    safe_next,
    session_token,
    set_session_cookie,
)

WRONG_CREDENTIALS = "Wrong username or password."
WRONG_CODE = "That code is not valid (or was already used). Wait for the next code and try again."
SESSION_GONE = "Your sign-in expired or was ended. Please sign in again."

router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, context: dict[str, Any], *, status: int = 200,
            headers: dict[str, str] | None = None) -> HTMLResponse:
    token = csrf.new_token(request)
    response = TEMPLATES.TemplateResponse(request, name, {"section": "login", "csrf_token": token, **context},
                                          status_code=status, headers={**NO_STORE, **(headers or {})})
    csrf.issue(request, response, token)
    return response


def _redirect(target: str, *, new_session: str | None = None, drop_session: bool = False) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    if new_session:
        set_session_cookie(response, new_session)
    elif drop_session:
        clear_session_cookie(response)
    return response


def _with_next(path: str, next_: str) -> str:
    return f"{path}?next={quote(safe_next(next_), safe='')}"


def _rate_limited(request: Request, template: str, exc: RateLimited, context: dict[str, Any],
                  *, username: str = "") -> HTMLResponse:
    """A 429 page, and the refusal in the audit trail (it never reaches the use case)."""
    hub = request.app.state.hub
    actor = anonymous(client_address(request))
    audit.record_refusal(hub.uow, principal=actor, action="user.login.rate_limited", object_type="user",
                         object_id=username.strip().lower() or None, at=hub.clock.now(), error=exc)
    return _render(request, template, {**context, "error": f"Too many attempts. Try again in {exc.retry_after_s} s."},
                   status=429, headers={"Retry-After": str(exc.retry_after_s)})


# --- password ----------------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/orders") -> HTMLResponse:
    return _render(request, "login.html", {"next": safe_next(next), "username": "", "error": None,
                                           "notice": request.query_params.get("notice")})


@router.post("/login")
def login_submit(request: Request, csrf_token: str = Form(""), username: str = Form("", max_length=256),
                 password: str = Form("", max_length=1024), next: str = Form("/orders")) -> Response:
    csrf.check(request, csrf_token)
    context = {"next": safe_next(next), "username": username[:64], "notice": None}
    try:
        rate_limits_for(request.app.state).sign_in_attempt(source_address=client_address(request), username=username)
    except RateLimited as exc:
        return _rate_limited(request, "login.html", exc, context, username=username)
    hub = request.app.state.hub
    try:
        with hub.uow() as uow:
            step = identity.login(uow=uow, clock=hub.clock, username=username, password=password,
                                  source_address=client_address(request))
    except DomainError:  # NOT_AUTHENTICATED (also while locked: the same answer), never which part was wrong
        return _render(request, "login.html", {**context, "error": WRONG_CREDENTIALS}, status=401)
    target = "/login/enrol" if step.next == "enrol_totp" else "/login/totp"
    return _redirect(_with_next(target, next), new_session=step.session_token)


# --- second factor -----------------------------------------------------------------------------
@router.get("/login/totp", response_class=HTMLResponse)
def totp_page(request: Request, next: str = "/orders") -> Response:
    if not session_token(request):
        return _redirect(_with_next("/login", next))
    return _render(request, "login_totp.html", {"next": safe_next(next), "error": None})


@router.post("/login/totp")
def totp_submit(request: Request, csrf_token: str = Form(""), code: str = Form("", max_length=16),
                next: str = Form("/orders")) -> Response:
    csrf.check(request, csrf_token)
    context = {"next": safe_next(next)}
    try:
        rate_limits_for(request.app.state).sign_in_attempt(source_address=client_address(request))
    except RateLimited as exc:
        return _rate_limited(request, "login_totp.html", exc, context)
    hub = request.app.state.hub
    try:
        with hub.uow() as uow:
            signed_in = identity.verify_totp(uow=uow, clock=hub.clock, session_token=session_token(request),
                                             code=code.strip())
    except NotAuthenticated:
        return _redirect(_with_next("/login", next) + "&notice=" + "expired", drop_session=True)
    except DomainError:  # TOTP_INVALID, TOTP_REPLAYED: counted toward the lockout by the use case
        return _render(request, "login_totp.html", {**context, "error": WRONG_CODE}, status=401)
    return _redirect(safe_next(next), new_session=signed_in.session_token)


@router.get("/login/enrol", response_class=HTMLResponse)
def enrol_page(request: Request, next: str = "/orders") -> Response:
    if not session_token(request):
        return _redirect(_with_next("/login", next))
    return _render(request, "enrol_start.html", {"next": safe_next(next), "error": None})


@router.post("/login/enrol/start")
def enrol_start(request: Request, csrf_token: str = Form(""), next: str = Form("/orders")) -> Response:
    csrf.check(request, csrf_token)
    hub = request.app.state.hub
    try:
        with hub.uow() as uow:
            enrolment = identity.begin_totp_enrolment(uow=uow, clock=hub.clock, session_token=session_token(request))
    except NotAuthenticated:
        return _redirect(_with_next("/login", next), drop_session=True)
    except StepUpRequired:  # re-enrolling a signed-in user: prove the current authenticator first
        return _redirect(_with_next("/step-up", "/login/enrol"))
    except Forbidden:  # enrolled already: the code is the way in
        return _redirect(_with_next("/login/totp", next))
    return _render(request, "enrol.html", {"next": safe_next(next), "error": None, **_enrolment_view(enrolment)})


@router.post("/login/enrol")
def enrol_confirm(request: Request, csrf_token: str = Form(""), code: str = Form("", max_length=16),
                  next: str = Form("/orders")) -> Response:
    csrf.check(request, csrf_token)
    context = {"next": safe_next(next)}
    try:
        rate_limits_for(request.app.state).sign_in_attempt(source_address=client_address(request))
    except RateLimited as exc:
        return _rate_limited(request, "enrol_start.html", exc, context)
    hub = request.app.state.hub
    try:
        with hub.uow() as uow:
            signed_in = identity.confirm_totp_enrolment(uow=uow, clock=hub.clock,
                                                        session_token=session_token(request), code=code.strip())
    except NotAuthenticated:
        return _redirect(_with_next("/login", next), drop_session=True)
    except DomainError:
        return _render(request, "enrol_start.html", {**context, "error": WRONG_CODE + " Start the set-up again "
                                                     "and scan the new code."}, status=401)
    return _redirect(safe_next(next), new_session=signed_in.session_token)


def _enrolment_view(enrolment: Any) -> dict[str, Any]:
    secret: str = enrolment.secret_base32
    qr = segno.make(enrolment.provisioning_uri, error="m")
    svg = qr.svg_inline(scale=5, title="Scan with your authenticator app")
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return {"qr_svg": svg, "secret": secret, "secret_grouped": grouped,
            "account": unquote(enrolment.provisioning_uri.split("?")[0].rsplit("/", 1)[-1])}


# --- sign-out and step-up ---------------------------------------------------------------------
@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("")) -> Response:
    csrf.check(request, csrf_token)
    token = session_token(request)
    if token:
        hub = request.app.state.hub
        with hub.uow() as uow:
            identity.logout(uow=uow, clock=hub.clock, session_token=token)
    return _redirect("/login?notice=signed-out", drop_session=True)


@router.get("/step-up", response_class=HTMLResponse)
def step_up_page(request: Request, principal: ConsolePrincipal, next: str = "/orders") -> HTMLResponse:
    return _render(request, "step_up.html", {"next": safe_next(next), "error": None})


@router.post("/step-up")
def step_up_submit(request: Request, principal: ConsolePrincipal, csrf_token: str = Form(""),
                   code: str = Form("", max_length=16), next: str = Form("/orders")) -> Response:
    csrf.check(request, csrf_token)
    context = {"next": safe_next(next)}
    try:
        rate_limits_for(request.app.state).sign_in_attempt(source_address=client_address(request),
                                                         username=principal.username)
    except RateLimited as exc:
        return _rate_limited(request, "step_up.html", exc, context, username=principal.username)
    hub = request.app.state.hub
    try:
        with hub.uow() as uow:
            identity.step_up(uow=uow, clock=hub.clock, principal=principal, code=code.strip())
    except NotAuthenticated:
        raise
    except DomainError:
        return _render(request, "step_up.html", {**context, "error": WRONG_CODE}, status=401)
    return _redirect(safe_next(next))

