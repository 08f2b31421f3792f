"""`GET /api/v1/ping`: the API's trivial endpoint, through the same authentication and rate
limiting as every other route (unlike `/healthz`, which a load balancer calls without credentials).

It answers `{"ok": true}` and touches no use case: B7 measures it as the framework ceiling (what
the server, the middleware and the authentication cost with no work behind them), and an ERP can
use it to check that its token works.
"""

from __future__ import annotations

from fastapi import APIRouter

from yinqi.entrypoints.api.deps import CurrentPrincipal

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get("/ping", summary="Check a token: answers {\"ok\": true} to any authenticated caller")
def ping(principal: CurrentPrincipal) -> dict[str, bool]:
    del principal  # authenticated and rate-limited by the dependency; nothing else to check
    return {"ok": True}
