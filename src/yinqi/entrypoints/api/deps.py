"""Dependencies shared by the API routers: who is calling (`CurrentPrincipal`).

An API request proves who it is in one of two ways, tried in this order:

1. `Authorization: Bearer yq_<id>_<secret>`: an API token of an ERP client
   (`identity_tokens.verify_token`; channel API, narrowed to the token's scopes and companies): a
   token verified in the last few seconds is not looked up again, and a lookup is a read-only
   unit of work that does not queue behind the group commit's write lock (docs/adr/0012);
2. the console's session cookie, so the console's own fetch calls work
   (`identity.authenticate_session`). A cookie-authenticated request that changes state must come
   from the console's own origin (`Origin` / `Sec-Fetch-Site`), since the browser attaches cookies
   by itself — tokens in a header it never attaches.

Neither → `NotAuthenticated` (401 with `WWW-Authenticate: Bearer`). Every authenticated request
then takes one token from the caller's rate-limit bucket (`yinqi.entrypoints.rate_limits`; 429
`RATE_LIMITED` with `Retry-After` above it). The principal is also left on `request.state.principal`
for the error handlers (refusal auditing). Routers declare `principal: CurrentPrincipal` and pass
it to the use cases, which authorise. Tests act as a given principal with
`app.dependency_overrides[current_principal]` (tests/support/auth.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from yinqi.application import identity
from yinqi.application.identity_tokens import verify_token
from yinqi.domain.identity.principal import NotAuthenticated, Principal
from yinqi.entrypoints.rate_limits import rate_limits_for
from yinqi.entrypoints.web.csrf import refuse_cross_site
from yinqi.entrypoints.web.session import client_address, session_token

BEARER = "bearer "
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(request: Request) -> str:
    """The token of an `Authorization: Bearer …` header ("" when absent or another scheme)."""
    value = request.headers.get("authorization", "")
    return value[len(BEARER):].strip() if value[:len(BEARER)].lower() == BEARER else ""


def current_principal(request: Request) -> Principal:
    """Raises:
        NotAuthenticated (NOT_AUTHENTICATED): no credentials, or a token or session that is not
            (or no longer) valid.
        RateLimited (RATE_LIMITED): the token's (or session's) request budget is spent.
        HTTPException(403): a cookie-authenticated state change from another origin.
    """
    hub = request.app.state.hub
    token, cookie = bearer_token(request), session_token(request)
    if not token and not cookie:
        raise NotAuthenticated("send an API token (Authorization: Bearer yq_…) or sign in", rule="authenticated")
    if token:
        principal = verify_token(read_uow=hub.read_uow, write_uow=hub.uow, clock=hub.clock, secret=token,
                                 source_address=client_address(request))
    else:
        with hub.uow() as uow:  # a session's idle timeout slides: every request writes its last use
            principal = identity.authenticate_session(uow=uow, clock=hub.clock, session_token=cookie,
                                                      source_address=client_address(request))
    request.state.principal = principal
    if not token and request.method not in SAFE_METHODS:
        refuse_cross_site(request)
    client_key = f"token:{principal.token_id}" if principal.token_id else f"session:{principal.session_id}"
    rate_limits_for(request.app.state).api_request(client_key=client_key)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]

__all__ = ["CurrentPrincipal", "bearer_token", "current_principal"]
