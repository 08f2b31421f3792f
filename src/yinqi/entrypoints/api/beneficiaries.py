"""REST API for beneficiaries (payee master data): `/api/v1/beneficiaries`.

Proposals and decisions are POSTs with an `Idempotency-Key` (as for payment orders: a retry with
the same key and body gets the first answer again). Permissions: `beneficiary.read` to list,
`beneficiary.propose` to propose a beneficiary or an account change, `beneficiary.approve` to
decide (never one's own proposal). Another company's beneficiary or change is a 404. Account
numbers are masked unless the caller may `account.reveal`. A refused proposal or decision is
recorded in the audit trail (its own transaction, after the refused one rolled back).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yinqi.application import beneficiaries as cases
from yinqi.application.idempotency import StoredResponse
from yinqi.domain.identity.permissions import Permission, allowed
from yinqi.domain.identity.principal import Principal
from yinqi.domain.orders.commands import AddressInput
from yinqi.domain.problems import ValidationFailed
from yinqi.entrypoints.api.audited_idempotency import audited_idempotent
from yinqi.entrypoints.api.deps import CurrentPrincipal
from yinqi.entrypoints.api.errors import encode, request_problems
from yinqi.entrypoints.api.schemas import AccountIn, AddressIn, ErrorResponse

router = APIRouter(prefix="/api/v1/beneficiaries", tags=["beneficiaries"])

M = TypeVar("M", bound=BaseModel)
_ID = r"^[A-Za-z0-9\-]+$"
BeneficiaryId = Annotated[str, Path(max_length=64, pattern=_ID, description="the beneficiary's id")]
ChangeId = Annotated[str, Path(max_length=64, pattern=_ID, description="the change's id")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255,
                                              description="required on every POST; reuse only to retry")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text} for status, text in {
        400: "Idempotency-Key missing or invalid", 403: "no permission, or approving one's own proposal",
        404: "no such beneficiary or change (or another company's)",
        409: "a change is pending, already decided, or the name exists", 422: "validation failed",
    }.items()}


class ProposeBeneficiaryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=512, json_schema_extra={"examples": [{
        "company_id": "ACME", "name": "Fournisseur SARL", "account": {"iban": "FR1420041010050500013M02606"},
        "country": "FR", "bic": "BNPAFRPPXXX", "address": {"town": "Paris"}, "reason": "new supplier"}]})
    company_id: str
    name: str
    account: AccountIn
    country: str
    bic: str | None = None
    address: AddressIn | None = None
    reason: str = Field("", max_length=500)


class ProposeChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=512, json_schema_extra={"examples": [{
        "account": {"iban": "FR7630006000011234567890189"}, "bic": "SOGEFRPPXXX",
        "reason": "letter from the supplier of 2030-01-09, confirmed by call-back"}]})
    account: AccountIn
    bic: str | None = None
    reason: str = Field("", max_length=500)


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


def _parse(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise ValidationFailed(request_problems([dict(e) for e in exc.errors(include_url=False)])) from None


def _reveal(principal: Principal) -> bool:
    return allowed(principal, Permission.ACCOUNT_REVEAL)


def _json(payload: dict[str, Any], status: int = 200, resource_id: str | None = None) -> StoredResponse:
    return StoredResponse(status, encode(payload), resource_id)


async def _idempotent(request: Request, principal: Any, key: str | None, *, action: str, object_id: str | None,
                      work: Callable[[Any, bytes], StoredResponse]) -> Response:
    return await audited_idempotent(request, principal, key, action=action, object_type=cases.OBJECT,
                                    object_id=object_id, work=work, location=lambda rid: "/api/v1/beneficiaries/" + rid)


# --- queries ---------------------------------------------------------------------------------
@router.get("", responses=_ERRORS, summary="Beneficiaries with their pending changes")
def list_beneficiaries(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    reveal = _reveal(principal)
    with request.app.state.hub.uow() as uow:
        listings = cases.list_beneficiaries(uow=uow, principal=principal)
    return {"items": [{**cases.beneficiary_view(x.beneficiary, reveal=reveal),
                       "pending_change": cases.change_view(x.pending, reveal=reveal) if x.pending else None}
                      for x in listings]}


@router.get("/{beneficiary_id}", responses=_ERRORS, summary="One beneficiary and its change history")
def get_beneficiary(beneficiary_id: BeneficiaryId, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    reveal = _reveal(principal)
    with request.app.state.hub.uow() as uow:
        b, history = cases.beneficiary_history(uow=uow, principal=principal, beneficiary_id=beneficiary_id)
    return {**cases.beneficiary_view(b, reveal=reveal), "changes": [cases.change_view(c, reveal=reveal)
                                                                    for c in history]}


# --- commands --------------------------------------------------------------------------------
@router.post("", status_code=201, responses=_ERRORS, summary="Propose a new beneficiary (four eyes)")
async def propose_beneficiary(request: Request, principal: CurrentPrincipal,
                              idempotency_key: IdempotencyKey = None) -> Response:
    """The beneficiary is PENDING, and cannot be paid, until another user approves the change."""
    def work(uow: Any, body: bytes) -> StoredResponse:
        req = _parse(ProposeBeneficiaryRequest, body)
        address = req.address
        change = cases.propose_beneficiary(
            uow=uow, clock=request.app.state.hub.clock, principal=principal, company_id=req.company_id,
            name=req.name, account=req.account.to_input(), country=req.country, bic=req.bic,
            address=None if address is None else _address(address), reason=req.reason)
        return _json(cases.change_view(change, reveal=_reveal(principal)), 201, change.beneficiary_id)

    return await _idempotent(request, principal, idempotency_key, action="beneficiary.propose", object_id=None,
                             work=work)


@router.post("/{beneficiary_id}/changes", status_code=201, responses=_ERRORS,
             summary="Propose a new bank account for a beneficiary (four eyes, then cooling-off)")
async def propose_change(beneficiary_id: BeneficiaryId, request: Request, principal: CurrentPrincipal,
                         idempotency_key: IdempotencyKey = None) -> Response:
    def work(uow: Any, body: bytes) -> StoredResponse:
        req = _parse(ProposeChangeRequest, body)
        change = cases.propose_change(uow=uow, clock=request.app.state.hub.clock, principal=principal,
                                      beneficiary_id=beneficiary_id, account=req.account.to_input(), bic=req.bic,
                                      reason=req.reason)
        return _json(cases.change_view(change, reveal=_reveal(principal)), 201, beneficiary_id)

    return await _idempotent(request, principal, idempotency_key, action="beneficiary.change.propose",
                             object_id=beneficiary_id, work=work)


@router.post("/changes/{change_id}/approve", responses=_ERRORS, summary="Approve a proposal (not one's own)")
async def approve_change(change_id: ChangeId, request: Request, principal: CurrentPrincipal,
                         idempotency_key: IdempotencyKey = None) -> Response:
    def work(uow: Any, _body: bytes) -> StoredResponse:
        hub = request.app.state.hub
        b = cases.approve_change(uow=uow, clock=hub.clock, principal=principal, change_id=change_id,
                                 cooling_off=cooling_off(hub))
        return _json(cases.beneficiary_view(b, reveal=_reveal(principal)))

    return await _idempotent(request, principal, idempotency_key, action="beneficiary.change.approve",
                             object_id=change_id, work=work)


@router.post("/changes/{change_id}/reject", responses=_ERRORS, summary="Reject a proposal")
async def reject_change(change_id: ChangeId, request: Request, principal: CurrentPrincipal,
                        idempotency_key: IdempotencyKey = None) -> Response:
    def work(uow: Any, body: bytes) -> StoredResponse:
        reason = _parse(RejectRequest, body).reason
        b = cases.reject_change(uow=uow, clock=request.app.state.hub.clock, principal=principal,
                                change_id=change_id, reason=reason)
        return _json(cases.beneficiary_view(b, reveal=_reveal(principal)))

    return await _idempotent(request, principal, idempotency_key, action="beneficiary.change.reject",
                             object_id=change_id, work=work)


def cooling_off(hub: Any) -> timedelta:
    return timedelta(hours=hub.settings.beneficiary_cooling_off_hours)


def _address(address: AddressIn) -> AddressInput:
    return AddressInput(street=address.street, building_number=address.building_number, postcode=address.postcode,
                        town=address.town)
