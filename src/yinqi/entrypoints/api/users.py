"""REST API for users, role grants and API tokens (administration; issue 3 points 4 and 8).

    GET  /api/v1/users                          users with roles, companies, limits, TOTP, lock state
    POST /api/v1/users                          create (ADMIN becomes a grant request for a 2nd admin)
    POST /api/v1/users/{id}/disable             disable, ending every session at once
    POST /api/v1/users/{id}/reset-lockout       clear failed sign-ins and the lock
    POST /api/v1/users/{id}/grants              grant a role (or file a request a 2nd admin approves)
    GET  /api/v1/role-grants[?pending=false]    grant requests (pending ones by default)
    POST /api/v1/role-grants/{id}/approve       a second admin approves
    GET  /api/v1/api-tokens                     tokens (never their secrets)
    POST /api/v1/api-tokens                     issue: the secret is in this response only
    DELETE /api/v1/api-tokens/{id}              revoke

Authorisation, four-eyes on grants and auditing are the use cases' (`yinqi.application.identity`).
These POSTs take no `Idempotency-Key`: their repeats are refused by the use cases (USER_EXISTS,
CONFLICT) and a token's secret must never be stored for a replay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from yinqi.application import identity
from yinqi.domain.identity.grants import GrantRequest
from yinqi.domain.identity.principal import Role
from yinqi.domain.identity.tokens import ApiToken
from yinqi.domain.identity.users import User
from yinqi.entrypoints.api.deps import CurrentPrincipal

router = APIRouter(prefix="/api/v1", tags=["users and access"])

UserId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9\-]+$", description="the user's id")]
ObjectId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9\-]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateUserRequest(Strict):
    username: str = Field(max_length=64, examples=["olivia"])
    password: str = Field(max_length=256, description="at least 12 characters, not the username")
    display_name: str = Field("", max_length=200)
    roles: list[Role] = Field(default_factory=list, max_length=6)
    companies: list[str] = Field(default_factory=list, max_length=100)
    approval_limit_minor: int | None = Field(None, ge=0, description="minor units of the reporting currency; "
                                                                    "null: the role default")


class GrantRoleRequest(Strict):
    role: Role


class IssueTokenRequest(Strict):
    name: str = Field(max_length=100, examples=["ERP production"])
    user_id: str | None = Field(None, max_length=64, description="the owner; default: the caller")
    scopes: list[str] = Field(max_length=40, examples=[["order.create", "order.read"]])
    companies: list[str] = Field(max_length=100, examples=[["ACME"]])


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    roles: list[str]
    companies: list[str]
    approval_limit_minor: int | None
    disabled: bool
    totp_enrolled: bool
    locked: bool | None = None
    created_at: datetime

    @classmethod
    def of(cls, user: User, *, locked: bool | None = None) -> UserOut:
        return cls(id=user.id, username=user.username, display_name=user.display_name,
                   roles=sorted(r.value for r in user.roles), companies=sorted(user.companies),
                   approval_limit_minor=user.approval_limit_minor, disabled=user.disabled,
                   totp_enrolled=user.totp_enrolled, locked=locked, created_at=user.created_at)


class GrantOut(BaseModel):
    id: str
    user_id: str
    role: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    outcome: str

    @classmethod
    def of(cls, g: GrantRequest) -> GrantOut:
        return cls(id=g.id, user_id=g.user_id, role=g.role.value, requested_by=g.requested_by,
                   requested_at=g.requested_at, decided_by=g.decided_by, decided_at=g.decided_at,
                   outcome=g.outcome.value)


class TokenOut(BaseModel):
    id: str
    user_id: str
    name: str
    scopes: list[str]
    companies: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, t: ApiToken) -> TokenOut:
        return cls(id=t.id, user_id=t.user_id, name=t.name, scopes=sorted(t.scopes), companies=sorted(t.companies),
                   created_at=t.created_at, last_used_at=t.last_used_at, revoked_at=t.revoked_at)


class IssuedTokenOut(TokenOut):
    token: str = Field(description="the secret `yq_…` token: shown in this response only, never again")


def _hub(request: Request) -> Any:
    return request.app.state.hub


def lock_states(uow: Any, users: list[User], *, now: datetime) -> dict[str, bool]:
    """Whether each user is locked out now (the counter is per username; see the lockout policy)."""
    return {u.id: bool(uow.identity.failures(u.username).is_locked(now)) for u in users}


# --- users -----------------------------------------------------------------------------------
@router.get("/users", summary="List users with roles, companies, limits and sign-in state")
def list_users(request: Request, principal: CurrentPrincipal) -> dict[str, list[UserOut]]:
    hub = _hub(request)
    with hub.uow() as uow:
        users = identity.list_users(uow=uow, principal=principal)
        locked = lock_states(uow, users, now=hub.clock.now())
    return {"items": [UserOut.of(u, locked=locked[u.id]) for u in users]}


@router.post("/users", status_code=201, summary="Create a user (an ADMIN role becomes a pending grant)")
def create_user(request: Request, body: CreateUserRequest, principal: CurrentPrincipal) -> UserOut:
    hub = _hub(request)
    with hub.uow() as uow:
        user = identity.create_user(uow=uow, clock=hub.clock, principal=principal, username=body.username,
                                    password=body.password, display_name=body.display_name, roles=set(body.roles),
                                    companies=set(body.companies), approval_limit_minor=body.approval_limit_minor)
    return UserOut.of(user, locked=False)


@router.post("/users/{user_id}/disable", summary="Disable a user; their sessions end at once")
def disable_user(request: Request, principal: CurrentPrincipal, user_id: UserId) -> UserOut:
    hub = _hub(request)
    with hub.uow() as uow:
        user = identity.disable_user(uow=uow, clock=hub.clock, principal=principal, user_id=user_id)
    return UserOut.of(user)


@router.post("/users/{user_id}/reset-lockout", summary="Clear a user's failed sign-ins and lock")
def reset_lockout(request: Request, principal: CurrentPrincipal, user_id: UserId) -> dict[str, Any]:
    hub = _hub(request)
    with hub.uow() as uow:
        identity.reset_lockout(uow=uow, clock=hub.clock, principal=principal, user_id=user_id)
    return {"user_id": user_id, "locked": False}


@router.post("/users/{user_id}/grants", status_code=201,
             summary="Grant a role (to oneself, or ADMIN: a request a second admin approves)")
def grant_role(request: Request, body: GrantRoleRequest, principal: CurrentPrincipal,
               user_id: UserId) -> GrantOut:
    hub = _hub(request)
    with hub.uow() as uow:
        grant = identity.request_role_grant(uow=uow, clock=hub.clock, principal=principal, user_id=user_id,
                                            role=body.role)
    return GrantOut.of(grant)


@router.get("/role-grants", summary="Role grant requests (pending ones unless pending=false)")
def list_grants(request: Request, principal: CurrentPrincipal,
                pending: bool = Query(True)) -> dict[str, list[GrantOut]]:
    with _hub(request).uow() as uow:
        grants = identity.list_grant_requests(uow=uow, principal=principal, pending_only=pending)
    return {"items": [GrantOut.of(g) for g in grants]}


@router.post("/role-grants/{request_id}/approve", summary="Approve a pending grant (a second, different admin)")
def approve_grant(request: Request, principal: CurrentPrincipal, request_id: ObjectId) -> UserOut:
    hub = _hub(request)
    with hub.uow() as uow:
        user = identity.approve_role_grant(uow=uow, clock=hub.clock, principal=principal, request_id=request_id)
    return UserOut.of(user)


# --- API tokens --------------------------------------------------------------------------------
@router.get("/api-tokens", summary="API tokens: one's own, or all with token.manage (never the secrets)")
def list_tokens(request: Request, principal: CurrentPrincipal,
                user_id: str | None = Query(None, max_length=64)) -> dict[str, list[TokenOut]]:
    with _hub(request).uow() as uow:
        tokens = identity.list_tokens(uow=uow, principal=principal, user_id=user_id)
    return {"items": [TokenOut.of(t) for t in tokens]}


@router.post("/api-tokens", status_code=201, summary="Issue an API token; its secret is shown once, here")
def issue_token(request: Request, body: IssueTokenRequest, principal: CurrentPrincipal) -> IssuedTokenOut:
    hub = _hub(request)
    with hub.uow() as uow:
        issued = identity.issue_token(uow=uow, clock=hub.clock, principal=principal,
                                      user_id=body.user_id or principal.user_id, name=body.name,
                                      scopes=set(body.scopes), companies=set(body.companies))
        token = next(t for t in identity.list_tokens(uow=uow, principal=principal,
                                                     user_id=body.user_id or principal.user_id)
                     if t.id == issued.token_id)
    return IssuedTokenOut(**TokenOut.of(token).model_dump(), token=issued.secret)


@router.delete("/api-tokens/{token_id}", status_code=204, summary="Revoke an API token")
def revoke_token(request: Request, principal: CurrentPrincipal, token_id: ObjectId) -> Response:
    hub = _hub(request)
    with hub.uow() as uow:
        identity.revoke_token(uow=uow, clock=hub.clock, principal=principal, token_id=token_id)
    return Response(status_code=204)
