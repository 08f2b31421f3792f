"""REST API for payment orders: `/api/v1/payment-orders`.

Every POST needs an `Idempotency-Key` header (see `yinqi.application.idempotency`): a retry with
the same key and body gets the first response again, byte for byte, with `Idempotency-Replayed:
true`. Bodies are read raw and validated inside the idempotent section, so even a malformed request
keeps its first answer. Errors are raised as `DomainError`s; `errors.py` turns them into HTTP.

The router needs `app.state.hub` (see `yinqi.bootstrap.Hub`: `uow()`, `clock`, `settings`).
The acting user comes from the `X-Yinqi-User` header (default "api") for now: authentication
(API keys, sessions, TOTP step-up) comes in a later issue and will replace this header, and the
idempotency scope with it (today: per user).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from yinqi.adapters.db.group_commit import GroupCommit, Grouped
from yinqi.application import order_batch, order_queries, routing
from yinqi.application import orders as cases
from yinqi.application.idempotency import IdempotentRequest, Outcome, StoredResponse, run_idempotent
from yinqi.application.idempotent_batch import run_idempotent_batch
from yinqi.domain.identity.permissions import Permission, allowed
from yinqi.domain.identity.principal import Principal
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.problems import DomainError, Problem, ValidationFailed
from yinqi.entrypoints.api.deps import CurrentPrincipal
from yinqi.entrypoints.api.errors import encode, is_refusal, json_response, render_error, request_problems
from yinqi.entrypoints.api.schemas import (
    CreateOrderRequest,
    ErrorResponse,
    EventList,
    EventOut,
    OrderOut,
    OrderPage,
    ReasonRequest,
)
from yinqi.entrypoints.web.audit import audit_refusal

router = APIRouter(prefix="/api/v1", tags=["payment orders"])

M = TypeVar("M", bound=BaseModel)
MAX_BODY_BYTES = 256 * 1024
_ID = re.compile(r"[A-Za-z0-9\-]{1,64}")

Actor = Annotated[str, Header(alias="X-Yinqi-User", min_length=1, max_length=128,
                              description="acting user; replaced by authentication in a later issue")]
OrderId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9\-]+$", description="the order's id")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255,
                                              description="required on every POST; reuse only to retry")]

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text} for status, text in {
        400: "Idempotency-Key missing or invalid", 404: "no such order",
        409: "illegal transition, duplicate serial, or the same key still in progress",
        422: "validation failed (every problem listed), insufficient funds, key reused with another body",
    }.items()}


class BodyTooLarge(DomainError):
    code = "BODY_TOO_LARGE"


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its `$defs` inlined, to place under `openapi_extra`."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].rsplit("/", 1)[1]])
            return {k: walk(v) for k, v in node.items()}
        return [walk(v) for v in node] if isinstance(node, list) else node

    return walk(schema)  # type: ignore[no-any-return]


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    schema = _inline_refs(model.model_json_schema())
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _parse(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise ValidationFailed(request_problems([dict(e) for e in exc.errors(include_url=False)])) from None


def _order_response(order: Any, status: int = 200) -> StoredResponse:
    """Stored for idempotent replay, so always masked: a replay cannot show more than the weakest
    role may see (ADR 0011); full numbers come from GET, to callers allowed account.reveal."""
    return StoredResponse(status, encode(OrderOut.of(order, reveal=False).model_dump(mode="json")), order.id)


async def _idempotent(request: Request, *, actor: str, key: str | None,
                      work: Callable[[Any, bytes], StoredResponse], grouped: bool = False,
                      group_with: Principal | None = None) -> Response:
    """Run `work` once per Idempotency-Key. `grouped`: in the process's group commit (one
    transaction and one durable commit for the requests that arrive together; the answer comes
    after the batch committed), for the hot path `POST /payment-orders`. `group_with`: a create
    by this principal, stored with the batch's other creates of the same principal by one
    `order_batch.store_orders` call (`work` runs only for a request that ends up alone)."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"request body is larger than {MAX_BODY_BYTES} bytes", rule="max_body_size")
    hub = request.app.state.hub
    idem = IdempotentRequest(scope=f"user:{actor}", key=key, method=request.method,
                             path=request.url.path, body=body)
    refusals: list[DomainError] = []

    def run(new_uow: Callable[[], Any] = hub.uow) -> Any:
        return run_idempotent(request=idem, new_uow=new_uow, clock=hub.clock,
                              work=lambda uow: work(uow, body), render_error=render)

    def render(exc: DomainError) -> StoredResponse:
        """A refusal inside the work never reaches the central error handler (the failure is
        stored as the key's response), so it is audited below, in a transaction of its own once
        the work's has ended (a grouped batch holds SQLite's write lock until it commits)."""
        if is_refusal(exc.code):
            refusals.append(exc)
        return StoredResponse(*render_error(exc))

    try:
        if group_with is not None:
            def alone(new_uow: Callable[[], Any]) -> Any:
                refusals.clear()  # of a grouped attempt that was abandoned: audited only once
                return run(new_uow)

            job = Grouped(key=("payment-orders.create", group_with), item=_Create(idem, body, render),
                          run_all=lambda new_uow, items: _create_all(hub, group_with, new_uow, items), alone=alone)
            outcome = await asyncio.wrap_future(group_commit_for(request.app).submit(job))
        elif grouped:
            outcome = await asyncio.wrap_future(group_commit_for(request.app).submit(run))
        else:
            outcome = await run_in_threadpool(run)
    finally:
        for refusal in refusals:
            await run_in_threadpool(audit_refusal, request, refusal)
    headers = {"Idempotency-Replayed": "true"} if outcome.replayed else {}
    if outcome.response.status == 201 and outcome.response.resource_id:
        headers["Location"] = f"/api/v1/payment-orders/{outcome.response.resource_id}"
    return json_response(outcome.response.status, outcome.response.body, headers=headers)


@dataclass(frozen=True, slots=True)
class _Create:
    """One create request waiting in a group-commit batch."""

    idem: IdempotentRequest
    body: bytes
    render: Callable[[DomainError], StoredResponse]


def _create_all(hub: Any, principal: Principal, new_uow: Callable[[], Any],
                items: Sequence[_Create]) -> list[Outcome | DomainError]:
    """The creates of one principal in one batch: keys claimed together, the orders stored by one
    `store_orders` call (accept-valid: a refused order fails only its own request), each key
    completed with its own answer. Raises when something unexpected fails (the group commit then
    runs the requests one by one)."""

    def work(uow: Any, indices: Sequence[int]) -> dict[int, StoredResponse | DomainError]:
        answers: dict[int, StoredResponse | DomainError] = {}
        commands, of = [], []
        for i in indices:
            try:
                commands.append(_parse(CreateOrderRequest, items[i].body).to_command(source="api"))
                of.append(i)
            except DomainError as exc:
                answers[i] = exc
        if commands:
            outcome = order_batch.store_orders(uow=uow, clock=hub.clock, principal=principal, commands=commands,
                                               auto_release=hub.settings.auto_release)
            for n, i in enumerate(of):
                order = outcome.orders[n]
                answers[i] = _order_response(order, 201) if order is not None else outcome.refused[n]
        return answers

    return run_idempotent_batch(requests=[item.idem for item in items], new_uow=new_uow, clock=hub.clock, work=work,
                                render_error=lambda i, exc: items[i].render(exc))


_GROUP_LOCK = threading.Lock()


def group_commit_for(app: Any) -> GroupCommit:
    """The app's group commit (one writer thread), created on first use for its hub."""
    group: GroupCommit | None = getattr(app.state, "group_commit", None)
    if group is None:
        with _GROUP_LOCK:
            group = getattr(app.state, "group_commit", None)
            if group is None:
                group = GroupCommit(app.state.hub.uow)
                app.state.group_commit = group
    return group


# --- commands --------------------------------------------------------------------------------
@router.post("/payment-orders", status_code=201, response_model=OrderOut, responses=_ERRORS,
             openapi_extra=_body_doc(CreateOrderRequest), summary="Create a payment order")
async def create_payment_order(request: Request, principal: CurrentPrincipal,
                               idempotency_key: IdempotencyKey = None) -> Response:
    """Validate and store an order. The approval policy decides: APPROVED at once (funds reserved)
    under its auto-approval rule, else PENDING_APPROVAL for the approvers its plan names; with
    auto-release on, auto-approved orders are RELEASED to the bank at once."""

    def work(uow: Any, body: bytes) -> StoredResponse:
        hub = request.app.state.hub
        command = _parse(CreateOrderRequest, body).to_command(source="api")
        order = cases.create_order(uow=uow, clock=hub.clock, principal=principal, command=command,
                                   auto_release=hub.settings.auto_release)
        return _order_response(order, 201)

    return await _idempotent(request, actor=principal.actor_id, key=idempotency_key, work=work, grouped=True,
                             group_with=principal)


# Approve and reject: `entrypoints/api/approvals.py`.


@router.post("/payment-orders/{order_id}/release", response_model=OrderOut, responses=_ERRORS,
             summary="Release an approved order to the bank")
async def release_payment_order(order_id: OrderId, request: Request, principal: CurrentPrincipal,
                                idempotency_key: IdempotencyKey = None) -> Response:
    def work(uow: Any, _body: bytes) -> StoredResponse:
        return _order_response(cases.release_order(uow=uow, clock=request.app.state.hub.clock, principal=principal,
                                                   order_id=order_id))

    return await _idempotent(request, actor=principal.actor_id, key=idempotency_key, work=work)


@router.post("/payment-orders/{order_id}/cancel", response_model=OrderOut, responses=_ERRORS,
             openapi_extra=_body_doc(ReasonRequest), summary="Cancel an order before its release")
async def cancel_payment_order(order_id: OrderId, request: Request, principal: CurrentPrincipal,
                               idempotency_key: IdempotencyKey = None) -> Response:
    def work(uow: Any, body: bytes) -> StoredResponse:
        reason = _parse(ReasonRequest, body).reason
        return _order_response(cases.cancel_order(uow=uow, clock=request.app.state.hub.clock, principal=principal,
                                                  order_id=order_id, reason=reason))

    return await _idempotent(request, actor=principal.actor_id, key=idempotency_key, work=work)


# --- queries ---------------------------------------------------------------------------------
@router.get("/payment-orders", response_model=OrderPage, responses=_ERRORS, summary="List payment orders")
def list_payment_orders(request: Request, principal: CurrentPrincipal,
                        company_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9\-_.]{1,64}$")] = None,
                        state: Annotated[str | None, Query(description="e.g. PENDING_APPROVAL")] = None,
                        limit: Annotated[int, Query(ge=1, le=200)] = 50,
                        cursor: Annotated[str | None, Query(max_length=200)] = None) -> OrderPage:
    """Newest first, `limit` per page; follow `next_cursor` for the next page."""
    _check_state(state)
    after = _decode_cursor(cursor) if cursor else None
    with request.app.state.hub.read_uow() as uow:
        orders = order_queries.list_orders(uow=uow, principal=principal, company_id=company_id, state=state,
                                           limit=limit, after=after)
    last = orders[-1] if len(orders) == limit else None
    reveal = allowed(principal, Permission.ACCOUNT_REVEAL)
    return OrderPage(items=[OrderOut.of(o, reveal=reveal) for o in orders],
                     next_cursor=_encode_cursor(last.created_at, last.id) if last else None)


@router.get("/payment-orders/{order_id}", response_model=OrderOut, responses=_ERRORS, summary="One order")
def get_payment_order(order_id: OrderId, request: Request, principal: CurrentPrincipal) -> OrderOut:
    with request.app.state.hub.read_uow() as uow:
        order = order_queries.get_order(uow=uow, principal=principal, order_id=order_id)
        return OrderOut.of(order, reveal=allowed(principal, Permission.ACCOUNT_REVEAL))


@router.get("/payment-orders/{order_id}/events", response_model=EventList, responses=_ERRORS,
            summary="The order's hash-chained history")
def list_payment_order_events(order_id: OrderId, request: Request, principal: CurrentPrincipal) -> EventList:
    with request.app.state.hub.read_uow() as uow:
        order_queries.get_order(uow=uow, principal=principal, order_id=order_id)  # 404 also for another company's
        events = uow.orders.events(order_id)  # verifies the chain; raises if broken
    return EventList(order_id=order_id, chain_verified=True, items=[EventOut.of(e) for e in events])


@router.get("/payment-orders/{order_id}/route", responses=_ERRORS,
            summary="The order's route: the chosen bank channel and why each alternative was not")
def get_payment_order_route(order_id: OrderId, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """The routing decision as of now (`chosen` null: no channel can carry the order), each
    alternative with its reasons, and `sent`: the bank message the order went out in, if any."""
    hub = request.app.state.hub
    with hub.read_uow() as uow:
        order_queries.get_order(uow=uow, principal=principal, order_id=order_id)  # 404 also for another company's
        report = routing.explain_order_route(uow=uow, order_id=order_id, channels=hub.settings.routing_channels(),
                                             now=hub.clock.now())
    return routing.report_dict(report)


def _check_state(state: str | None) -> None:
    if state is not None and state not in OrderState.__members__:
        raise ValidationFailed([Problem("FIELD_INVALID", f"state must be one of {', '.join(OrderState)}",
                                        where="state", rule="one_of", value=state)])


def _encode_cursor(at: datetime, order_id: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{order_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, order_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        if not _ID.fullmatch(order_id):
            raise ValueError(order_id)
        return datetime.fromisoformat(at), order_id
    except (ValueError, binascii.Error):
        raise ValidationFailed([Problem("FIELD_INVALID", "cursor is not one this API returned", where="cursor",
                                        rule="opaque_cursor", value=cursor[:40])]) from None
