"""CSRF protection for console forms (R17, ASVS 3.5): a token bound to the session, plus an
origin check.

Signed in (a session cookie present), the form token is HMAC-SHA256(server key, SHA-256(session
token)): it needs no server-side storage, is the same in every tab of the session, and dies with
the session (a new session id at sign-in gives new tokens). Before sign-in (the login form) there is
no session to bind to, so the token is a random value that must equal the `__Host-yinqi_csrf`
cookie (double submit). Either way a POST is refused with 403 when the token is missing or wrong
(constant-time compare), and also when the browser says the request is cross-site
(`Sec-Fetch-Site`) or its `Origin` is another host — belt and braces with the SameSite=Strict
cookies. Every console page with a form calls `new_token` + `issue`; every POST handler calls
`check` first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from fastapi.responses import Response

from yinqi.adapters.crypto.keys import load_or_create_secret

CSRF_COOKIE = "__Host-yinqi_csrf"
SESSION_COOKIE = "__Host-yinqi_session"  # owned by session.py; read here to bind tokens to it
KEY_FILE = "keys/console-csrf.key"
_RANDOM_TOKEN_MIN = 32
_SAME_ORIGIN_FETCH = {"same-origin", "none"}


def _server_key(request: Request) -> bytes:
    state = request.app.state
    key: bytes | None = getattr(state, "csrf_key", None)
    if key is None:
        key = load_or_create_secret(state.hub.settings.path(KEY_FILE))
        state.csrf_key = key
    return key


def _session_bound(request: Request, session_token: str) -> str:
    session_id = hashlib.sha256(session_token.encode()).hexdigest()
    return hmac.new(_server_key(request), f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()


def new_token(request: Request) -> str:
    """The form token for this browser: bound to its session, else its current random one."""
    session = request.cookies.get(SESSION_COOKIE, "")
    if session:
        return _session_bound(request, session)
    current = request.cookies.get(CSRF_COOKIE, "")
    return current if len(current) >= _RANDOM_TOKEN_MIN else secrets.token_urlsafe(32)


def issue(request: Request, response: Response, token: str) -> None:
    """Set the cookie that pairs with `token` on a rendered form (needed before sign-in only, kept
    after it so a session that ends mid-form still gets a clean 403 rather than a crash)."""
    response.set_cookie(CSRF_COOKIE, token, secure=True, httponly=True, samesite="strict", path="/")


def check(request: Request, submitted: str) -> None:
    """Raises HTTPException(403) when the request is cross-site or the form's token is missing or
    not the one for this browser's session (or, before sign-in, not the cookie's)."""
    refuse_cross_site(request)
    session = request.cookies.get(SESSION_COOKIE, "")
    expected = _session_bound(request, session) if session else request.cookies.get(CSRF_COOKIE, "")
    if not expected or not submitted or not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise HTTPException(403, "CSRF token missing or wrong: reload the form and submit again")


def refuse_cross_site(request: Request) -> None:
    """Raises HTTPException(403) when `Sec-Fetch-Site` or `Origin` shows another site sent it.

    Current browsers send `Sec-Fetch-Site` on every request; it is authoritative when present. Only
    without it is `Origin` compared with `Host` (our `Referrer-Policy: no-referrer` makes browsers
    send `Origin: null` even on same-origin POSTs, so Origin alone cannot vouch for them). Clients
    that send neither (curl, the ERP) are not browsers, so no hostile page can drive them.
    """
    fetch_site = request.headers.get("sec-fetch-site", "").lower()
    if fetch_site:
        if fetch_site not in _SAME_ORIGIN_FETCH:
            raise HTTPException(403, f"cross-site request refused (Sec-Fetch-Site: {fetch_site})")
        return
    origin = request.headers.get("origin")
    if origin is not None and not _same_host(origin, request.headers.get("host", "")):
        raise HTTPException(403, "cross-origin request refused (Origin is another site)")


def _same_host(origin: str, host: str) -> bool:
    if origin == "null" or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()
