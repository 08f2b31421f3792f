"""Who is using the console (`ConsolePrincipal`), for every console route.

INTERIM (identity work in progress): the console still acts as one demo operator with operator,
approver and treasurer roles; sign-in, sessions and TOTP step-up replace this.
Tests act as a given principal with `app.dependency_overrides[console_principal]`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from yinqi.domain.identity.principal import Channel, Principal, Role

CONSOLE_USER = "demo-operator"


def console_principal(request: Request) -> Principal:
    return Principal(user_id=CONSOLE_USER, username=CONSOLE_USER,
                     roles=frozenset({Role.OPERATOR, Role.APPROVER, Role.TREASURER}), companies=frozenset(),
                     channel=Channel.CONSOLE, source_address=request.client.host if request.client else "",
                     all_companies=True)


ConsolePrincipal = Annotated[Principal, Depends(console_principal)]
