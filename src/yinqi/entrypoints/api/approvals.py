"""REST API of the maker–checker workflow and the approval policy.

- `GET /api/v1/approvals`: what waits for me (orders whose current step I may fill);
- `POST /api/v1/payment-orders/{id}/approve`, `/reject`, `/amend`; `POST /api/v1/approvals/batch`;
- `GET|PUT /api/v1/approval-policy`, `GET …/versions`, `POST …/simulate`.

Every POST keeps the Idempotency-Key behaviour of `api/orders.py` (its helper). An approval needs
a TOTP verification in the last five minutes (R14): a body's `totp_code` is verified first
(`identity.step_up`, its own transaction) unless the session is still fresh, so a retried request
with the same key and code replays instead of failing on the spent code. A batch runs each order
in a savepoint of the request's transaction: one refusal leaves the others approved, and the
whole answer is stored under the key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from yinqi.application import approval_policy, approval_queue, approvals, identity
from yinqi.application.idempotency import StoredResponse
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Principal
from yinqi.domain.money import Money
from yinqi.domain.orders.commands import AddressInput, PayeeInput
from yinqi.entrypoints.api.deps import CurrentPrincipal
from yinqi.entrypoints.api.errors import encode
from yinqi.entrypoints.api.orders import (
    _ERRORS,
    IdempotencyKey,
    OrderId,
    _body_doc,
    _idempotent,
    _order_response,
    _parse,
)
from yinqi.entrypoints.api.schemas import DecimalString, OrderOut, PayeeIn

router = APIRouter(prefix="/api/v1", tags=["approvals"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApproveRequest(_Body):
    totp_code: str | None = Field(default=None, max_length=16, description="a fresh TOTP code (step-up)")


class RejectRequest(_Body):
    reason: str = Field(min_length=1, max_length=500)
    totp_code: str | None = Field(default=None, max_length=16)


class AmendRequest(_Body):
    reason: str = Field(min_length=1, max_length=500)
    amount: DecimalString | None = None
    payee: PayeeIn | None = None
    requested_execution_date: date | None = Field(default=None, strict=True)


class BatchRequest(_Body):
    order_ids: list[Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9\-]+$")]] = Field(
        min_length=1, max_length=approvals.BATCH_MAX)
    totp_code: str | None = Field(default=None, max_length=16)


class PolicyRequest(_Body):
    document: str = Field(min_length=1, max_length=200_000, description="the policy as TOML")
    note: str = Field(default="", max_length=500)


class SimulateRequest(_Body):
    document: str = Field(min_length=1, max_length=200_000)
    since_days: int = Field(default=30, ge=1, le=3650)


def _stepped_up(request: Request, principal: Principal, code: str | None) -> Principal:
    hub = request.app.state.hub
    if not code or principal.step_up_fresh(hub.clock.now()):
        return principal
    with hub.uow() as uow:
        stepped: Principal = identity.step_up(uow=uow, clock=hub.clock, principal=principal, code=code)
    request.state.principal = stepped
    return stepped


async def _with_step_up(request: Request, principal: Principal, model: type[_Body]) -> Principal:
    body = await request.body()
    try:
        code = getattr(model.model_validate_json(body or b"{}"), "totp_code", None)
    except ValueError:
        return principal  # the idempotent section reports the body's problems
    return await run_in_threadpool(_stepped_up, request, principal, code)


# --- orders --------------------------------------------------------------------------------------
@router.post("/payment-orders/{order_id}/approve", response_model=OrderOut, responses=_ERRORS,
             openapi_extra=_body_doc(ApproveRequest), summary="Fill the current approval step of an order")
async def approve_payment_order(order_id: OrderId, request: Request, principal: CurrentPrincipal,
                                idempotency_key: IdempotencyKey = None) -> Response:
    """Not by its maker, one step per person, within the approver's limit, with a TOTP code verified
    in the last five minutes. The last step approves the order (and releases it with auto-release)."""
    acting = await _with_step_up(request, principal, ApproveRequest)

    def work(uow: Any, body: bytes) -> StoredResponse:
        _parse(ApproveRequest, body)
        hub = request.app.state.hub
        return _order_response(approvals.approve_order(uow=uow, clock=hub.clock, principal=acting, order_id=order_id,
                                                       auto_release=hub.settings.auto_release))

    return await _idempotent(request, actor=principal.actor_id, key=idempotency_key, work=work)


@router.post("/payment-orders/{order_id}/reject", response_model=OrderOut, responses=_ERRORS,
             openapi_extra=_body_doc(RejectRequest), summary="Reject an order pending approval (back to its maker)")
async def reject_payment_order(order_id: OrderId, request: Request, principal: CurrentPrincipal,
                               idempotency_key: IdempotencyKey = None) -> Response:
    acting = await _with_step_up(request, principal, RejectRequest)

    def work(uow: Any, body: bytes) -> StoredResponse:
        reason = _parse(RejectRequest, body).reason
        return _order_response(approvals.reject_order(uow=uow, clock=request.app.state.hub.clock, principal=acting,
                                                      order_id=order_id, reason=reason))

    return await _idempotent(request, actor=principal.actor_id, key=idempotency_key, work=work)


@router.post("/payment-orders/{order_id}/amend", response_model=OrderOut, responses=_ERRORS,
             openapi_extra=_body_doc(AmendRequest), summary="The maker changes amount, payee or date (re-approval)")
async def amend_payment_order(order_id: OrderId, request: Request, principal: CurrentPrincipal,
                              idempotency_key: IdempotencyKey = None) -> Response:
    """Only while pending approval: the approvals so far are invalidated and the order planned again.
    An approved order answers APPROVALS_INVALIDATED: cancel it and enter a new order."""

    def work(uow: Any, body: bytes) -> StoredResponse:
        req = _parse(AmendRequest, body)
        payee = req.payee
        payee_input = None if payee is None else _payee_input(payee)
        return _order_response(approvals.amend_order(
            uow=uow, clock=request.app.state.hub.clock, principal=principal, order_id=order_id, reason=req.reason,
            amount=req.amount, payee=payee_input, requested_execution_date=req.requested_execution_date))

    return await _idempotent(request, actor=principal.actor_id, key=idempotency_key, work=work)


def _payee_input(payee: PayeeIn) -> PayeeInput:
    address = payee.address
    return PayeeInput(name=payee.name, account=payee.account.to_input(), country=payee.country, bic=payee.bic,
                      address=AddressInput(**address.model_dump()) if address else None)


@router.get("/approvals", responses=_ERRORS, summary="What waits for my approval")
def approval_list(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Orders whose current step I may fill (oldest first), with amount, payee (account masked),
    holds and their reasons, maker and age; `needs_step_up` when a fresh TOTP code is needed."""
    hub = request.app.state.hub
    with hub.uow() as uow:
        items = approval_queue.approval_queue(uow=uow, principal=principal, now=hub.clock.now())
    return {"items": [i.as_dict() for i in items], "count": len(items), "totals": _totals(items)}


def _totals(items: list[approval_queue.QueueItem]) -> dict[str, str]:
    sums: dict[str, int] = {}
    for item in items:
        sums[item.order.amount.currency] = sums.get(item.order.amount.currency, 0) + item.order.amount.minor
    return {ccy: Money(minor, ccy).format() for ccy, minor in sorted(sums.items())}


@router.post("/approvals/batch", responses=_ERRORS, openapi_extra=_body_doc(BatchRequest),
             summary="Approve many orders with one TOTP code")
async def approve_batch(request: Request, principal: CurrentPrincipal,
                        idempotency_key: IdempotencyKey = None) -> Response:
    """Each order is approved or refused on its own; the answer lists every order (serial, payee,
    amount, outcome, error code) and the total approved per currency."""
    acting = await _with_step_up(request, principal, BatchRequest)

    def work(uow: Any, body: bytes) -> StoredResponse:
        req = _parse(BatchRequest, body)
        hub = request.app.state.hub
        result = approvals.approve_orders(new_uow=_savepoints(uow), clock=hub.clock, principal=acting,
                                          order_ids=req.order_ids, auto_release=hub.settings.auto_release)
        uow.commit()
        return StoredResponse(200, encode(result.as_dict()), None)

    return await _idempotent(request, actor=principal.actor_id, key=idempotency_key, work=work)


def _savepoints(uow: Any) -> Callable[[], AbstractContextManager[Any]]:
    """A `new_uow` whose units are savepoints of `uow`'s transaction (committed with it)."""
    @contextmanager
    def savepoint() -> Iterator[Any]:
        nested = uow.conn.begin_nested()
        try:
            yield uow
        except BaseException:
            nested.rollback()
            raise
        if nested.is_active:
            nested.commit()

    return savepoint


# --- the policy ----------------------------------------------------------------------------------
def _policy_view(active: approval_policy.ActivePolicy, *, with_document: bool = True) -> dict[str, Any]:
    view = active.summary()
    if with_document:
        view["document"] = active.document
    return view


@router.get("/approval-policy", responses=_ERRORS, summary="The approval policy in force")
def get_policy(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    require(principal, Permission.POLICY_READ)
    with request.app.state.hub.uow() as uow:
        return _policy_view(approval_policy.active_policy(uow))


@router.get("/approval-policy/versions", responses=_ERRORS, summary="Every stored version, newest first")
def policy_versions(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    with request.app.state.hub.uow() as uow:
        versions = approval_policy.policy_versions(uow=uow, principal=principal)
    return {"items": [_policy_view(v, with_document=False) for v in versions]}


@router.put("/approval-policy", responses=_ERRORS, openapi_extra=_body_doc(PolicyRequest),
            summary="Store a new policy version (applies to new orders only)")
async def put_policy(request: Request, principal: CurrentPrincipal,
                     idempotency_key: IdempotencyKey = None) -> Response:
    """Needs `policy.manage`; audited with the sha256 before and after. The same document as the
    active one stores nothing."""

    def work(uow: Any, body: bytes) -> StoredResponse:
        req = _parse(PolicyRequest, body)
        active = approval_policy.put_policy(uow=uow, clock=request.app.state.hub.clock, principal=principal,
                                            document=req.document, note=req.note)
        return StoredResponse(200, encode(_policy_view(active, with_document=False)), None)

    return await _idempotent(request, actor=principal.actor_id, key=idempotency_key, work=work)


@router.post("/approval-policy/simulate", responses=_ERRORS, openapi_extra=_body_doc(SimulateRequest),
             summary="Replay recent orders against a proposed policy (stores nothing)")
async def simulate_policy(request: Request, principal: CurrentPrincipal,
                          idempotency_key: IdempotencyKey = None) -> Response:
    def work(uow: Any, body: bytes) -> StoredResponse:
        req = _parse(SimulateRequest, body)
        now = request.app.state.hub.clock.now()
        result = approval_policy.simulate(uow=uow, principal=principal, document=req.document,
                                          since=now - timedelta(days=req.since_days), now=now)
        return StoredResponse(200, encode(result.as_dict()), None)

    return await _idempotent(request, actor=principal.actor_id, key=idempotency_key, work=work)
