"""CSRF protection for console forms: a double-submit token.

A random value goes into an HttpOnly, SameSite=Strict cookie and into the form's hidden
`csrf_token` field; a POST is refused (403) unless both are present and equal (constant-time
compare). Every console page with a form calls `issue`, every POST handler calls `check` first.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request
from fastapi.responses import Response

CSRF_COOKIE = "yinqi_csrf"


def issue(request: Request, response: Response, token: str) -> None:
    """Set the cookie that pairs with `token` (from `new_token`) on a rendered form."""
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")


def new_token(request: Request) -> str:
    """A token for a form; reuses the browser's current one so several open tabs keep working."""
    current = request.cookies.get(CSRF_COOKIE, "")
    return current if len(current) >= 32 else secrets.token_urlsafe(32)


def check(request: Request, submitted: str) -> None:
    """Raises HTTPException(403) when the form's token is missing or differs from the cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not submitted or not hmac.compare_digest(cookie.encode(), submitted.encode()):
        raise HTTPException(403, "CSRF token missing or wrong: reload the form and submit again")
