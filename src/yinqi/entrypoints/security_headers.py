"""Response headers every API and console response carries (R17, ASVS 3.4 / 14.4).

A pure ASGI middleware (no `BaseHTTPMiddleware`: it would buffer streamed responses and break
background tasks) that sets, on every response, whatever route produced it — error pages,
redirects and 404s included:

- `X-Content-Type-Options: nosniff`: a browser never guesses a script out of a JSON or CSV body;
- `Cache-Control: no-store`: pages and API bodies carry account data, so no shared or browser cache
  keeps them (a route may set its own value; static assets keep theirs and may be cached);
- `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`: no clickjacking frame around the
  console (the old header for old browsers, the CSP directive for current ones);
- `Referrer-Policy: no-referrer`: order ids and query filters never leak to another site.

The CSP stays narrow on purpose (framing, `<base>`, plugins, form targets): console pages use
small inline scripts, so a `script-src` policy is a separate decision.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'"
ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CSP.encode()),
)
CACHEABLE_PREFIXES = ("/static/",)


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith(CACHEABLE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_security_headers(list(message.get("headers", [])), cacheable=cacheable)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _with_security_headers(headers: list[tuple[bytes, bytes]], *, cacheable: bool) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    added = [(name, value) for name, value in ALWAYS if name not in present]
    if not cacheable and b"cache-control" not in present:
        added.append((b"cache-control", b"no-store"))
    return headers + added


def install_security_headers(app: Starlette) -> None:
    """Add the middleware once to an app (a second call, e.g. from the composed hub app, is a no-op)."""
    if getattr(app.state, "security_headers_installed", False):
        return
    app.add_middleware(SecurityHeaders)
    app.state.security_headers_installed = True
