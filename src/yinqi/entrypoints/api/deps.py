"""Dependencies shared by the API routers: who is calling (`CurrentPrincipal`).

Routers declare `principal: CurrentPrincipal` and pass it to the use cases, which authorise.
Tests act as a given principal with `app.dependency_overrides[current_principal]`.

INTERIM (identity work in progress): the principal still comes from the `X-Yinqi-User` header
with operator, approver and treasurer roles on every company; sessions and API tokens replace it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from yinqi.domain.identity.principal import Channel, NotAuthenticated, Principal, Role


def current_principal(request: Request) -> Principal:
    """Raises:
        NotAuthenticated (NOT_AUTHENTICATED): no credentials on the request.
    """
    user = request.headers.get("X-Yinqi-User", "").strip()
    if not user:
        raise NotAuthenticated("sign in or send an API token", rule="authenticated")
    return Principal(user_id=user, username=user,
                     roles=frozenset({Role.OPERATOR, Role.APPROVER, Role.TREASURER}),
                     companies=frozenset(), channel=Channel.API,
                     source_address=request.client.host if request.client else "", all_companies=True)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
