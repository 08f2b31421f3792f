"""Errors on console pages are pages: the app layout with a sentence a person can act on, never the
API's JSON body (R18).

The API's handlers (`entrypoints/api/errors.py`) render every `DomainError` and `HTTPException` as
JSON. The hub app serves the console from the same FastAPI app, so `install_console_errors` wraps
those handlers once: a request under `/api/` (or the OpenAPI pages) still gets the API's answer;
any other path gets `error.html` with the same status and code. A refusal is audited exactly as
the API audits it (`audit_refusal`, which records each error once). Installed after the API's
handlers; `NotAuthenticated` keeps its own handler (the redirect to the sign-in page).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from yinqi.domain.problems import DomainError
from yinqi.entrypoints.api.errors import is_refusal, status_for
from yinqi.entrypoints.web.audit import audit_refusal
from yinqi.entrypoints.web.console import NO_STORE, TEMPLATES

__all__ = ["install_console_errors", "is_console"]

_API_PATHS = ("/api/", "/docs", "/openapi.json", "/redoc")
_TEXT = {
    401: ("Please confirm it is you", "This action needs you to sign in again or confirm a fresh code."),
    403: ("Not allowed", "You do not have permission to do this. Ask an administrator if your role should "
                         "allow it."),
    404: ("Not found", "There is nothing here, or it is not visible to you."),
    409: ("Not possible now", "This cannot be done in its current state."),
    429: ("Slow down", "Too many requests. Wait a moment and try again."),
}
_HTTP_CODES = {403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def is_console(request: Request) -> bool:
    return not request.url.path.startswith(_API_PATHS)


def error_page(request: Request, *, status: int, code: str, detail: str = "") -> Response:
    title, text = _TEXT.get(status, ("Something went wrong", "The request could not be completed."))
    return TEMPLATES.TemplateResponse(request, "error.html", {"section": "", "title": title, "code": code,
                                                              "status": status, "text": detail or text},
                                      status_code=status, headers=NO_STORE)


def install_console_errors(app: FastAPI) -> None:
    """Console paths: `DomainError` and `HTTPException` as HTML pages; API paths: unchanged."""
    api_domain: Any = app.exception_handlers[DomainError]
    api_http: Any = app.exception_handlers[StarletteHTTPException]

    async def domain_error(request: Request, exc: Exception) -> Response:
        if not is_console(request) or not isinstance(exc, DomainError):
            return await api_domain(request, exc)  # type: ignore[no-any-return]
        if is_refusal(exc.code):
            await run_in_threadpool(audit_refusal, request, exc)
        status = status_for(exc.code)
        return error_page(request, status=status, code=exc.code,
                          detail=exc.message if status not in (403, 404) else "")

    async def http_error(request: Request, exc: Exception) -> Response:
        if not is_console(request) or not isinstance(exc, StarletteHTTPException):
            return await api_http(request, exc)  # type: ignore[no-any-return]
        code = _HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
        detail = str(exc.detail) if exc.status_code == 403 and "CSRF" in str(exc.detail) else ""
        return error_page(request, status=exc.status_code, code=code, detail=detail)

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
