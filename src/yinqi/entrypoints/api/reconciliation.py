"""REST API of the reconciliation exceptions queue: `/api/v1/reconciliation`.

`GET /breaks` lists the statement breaks (ADR 0007 "Statement checks", `recon.read`).
`GET /exceptions` lists unmatched statement lines, unmatched orders, the engine's suggestions
(with confidence and reason codes) and the active match groups (`recon.read`). The decisions are
POSTs with an `Idempotency-Key` (a retry with the same key and body gets the first answer again)
and need `recon.resolve`: accept or reject a suggestion, match lines and orders by hand, unmatch a
group (reason required), write lines off (reason required). Another company's line, order or
group is a 404. A refused decision is recorded in the audit trail (its own transaction, after the
refused one rolled back).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yinqi.application import recon_decisions as decisions
from yinqi.application.idempotency import StoredResponse
from yinqi.application.recon_queue import group_dict, list_exceptions, queue_dict
from yinqi.application.statement_checks import list_breaks
from yinqi.domain.problems import ValidationFailed
from yinqi.entrypoints.api.audited_idempotency import audited_idempotent
from yinqi.entrypoints.api.deps import CurrentPrincipal
from yinqi.entrypoints.api.errors import encode, request_problems
from yinqi.entrypoints.api.schemas import ErrorResponse

router = APIRouter(prefix="/api/v1/reconciliation", tags=["reconciliation"])

M = TypeVar("M", bound=BaseModel)
_ID = r"^[A-Za-z0-9\-]+$"
SuggestionId = Annotated[str, Path(max_length=64, pattern=_ID, description="a suggestion's id (s-…)")]
GroupId = Annotated[str, Path(max_length=64, pattern=_ID, description="a match group's id")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255,
                                              description="required on every POST; reuse only to retry")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text} for status, text in {
        400: "Idempotency-Key missing or invalid", 403: "no permission (recon.read / recon.resolve)",
        404: "no such line, order, group or suggestion (or another company's)",
        409: "already matched, not matchable, or not active", 422: "validation failed (amounts, currency, reason)",
    }.items()}


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=500)


class ManualMatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "entry_ids": [41], "order_ids": ["6f1c…", "9b2e…"], "reason": "batch booking of two invoices"}]})
    entry_ids: list[int] = Field(min_length=1, max_length=200)
    order_ids: list[Annotated[str, Field(max_length=36)]] = Field(min_length=1, max_length=200)
    reason: str = Field("", max_length=500)


class UnmatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=500)


class WriteOffRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "entry_ids": [57], "reason": "bank charge for the quarter, no order"}]})
    entry_ids: list[int] = Field(min_length=1, max_length=200)
    reason: str = Field(max_length=500)


def _parse(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise ValidationFailed(request_problems([dict(e) for e in exc.errors(include_url=False)])) from None


def _home(request: Request) -> str:
    return str(request.app.state.hub.settings.company_id)


async def _idempotent(request: Request, principal: Any, key: str | None, *, action: str, object_id: str | None,
                      work: Callable[[Any, bytes], StoredResponse]) -> Response:
    return await audited_idempotent(request, principal, key, action=action, object_type=decisions.OBJECT,
                                    object_id=object_id, work=work)


def _group(group: Any, status: int = 200) -> StoredResponse:
    return StoredResponse(status, encode(group_dict(group)), group.id)


@router.get("/exceptions", responses=_ERRORS, summary="The exceptions queue: unmatched lines and orders, "
                                                       "suggestions, active match groups")
def exceptions(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    with request.app.state.hub.uow() as uow:
        queue = list_exceptions(uow=uow, principal=principal, home_company=_home(request))
        return queue_dict(queue)


@router.get("/breaks", responses=_ERRORS, summary="Statement breaks: opening ≠ previous closing, sequence gaps, "
                                                   "entries that do not add up, bank ≠ ledger (with amounts)")
def breaks(request: Request, principal: CurrentPrincipal,
           account: Annotated[str | None, Query(max_length=64, description="only this account (IBAN or id)")] = None
           ) -> dict[str, Any]:
    with request.app.state.hub.uow() as uow:
        return {"breaks": list_breaks(uow=uow, principal=principal, home_company=_home(request), account=account)}


@router.post("/suggestions/{suggestion_id}/accept", responses=_ERRORS, summary="Accept an engine suggestion")
async def accept(suggestion_id: SuggestionId, request: Request, principal: CurrentPrincipal,
                 idempotency_key: IdempotencyKey = None) -> Response:
    def work(uow: Any, body: bytes) -> StoredResponse:
        req = _parse(DecisionRequest, body)
        return _group(decisions.accept_suggestion(uow=uow, clock=request.app.state.hub.clock, principal=principal,
                                                  suggestion_id=suggestion_id, home_company=_home(request),
                                                  reason=req.reason), 201)

    return await _idempotent(request, principal, idempotency_key, action="recon.match.accept",
                             object_id=suggestion_id, work=work)


@router.post("/suggestions/{suggestion_id}/reject", responses=_ERRORS, summary="Reject an engine suggestion")
async def reject(suggestion_id: SuggestionId, request: Request, principal: CurrentPrincipal,
                 idempotency_key: IdempotencyKey = None) -> Response:
    def work(uow: Any, body: bytes) -> StoredResponse:
        req = _parse(DecisionRequest, body)
        return _group(decisions.reject_suggestion(uow=uow, clock=request.app.state.hub.clock, principal=principal,
                                                  suggestion_id=suggestion_id, home_company=_home(request),
                                                  reason=req.reason), 201)

    return await _idempotent(request, principal, idempotency_key, action="recon.match.reject",
                             object_id=suggestion_id, work=work)


@router.post("/matches", status_code=201, responses=_ERRORS, summary="Match statement lines and orders by hand")
async def match(request: Request, principal: CurrentPrincipal, idempotency_key: IdempotencyKey = None) -> Response:
    def work(uow: Any, body: bytes) -> StoredResponse:
        req = _parse(ManualMatchRequest, body)
        return _group(decisions.match_manually(uow=uow, clock=request.app.state.hub.clock, principal=principal,
                                               entry_ids=req.entry_ids, order_ids=req.order_ids,
                                               home_company=_home(request), reason=req.reason), 201)

    return await _idempotent(request, principal, idempotency_key, action="recon.match.manual", object_id=None,
                             work=work)


@router.post("/matches/{group_id}/unmatch", responses=_ERRORS, summary="Take a match group apart (reason required)")
async def unmatch(group_id: GroupId, request: Request, principal: CurrentPrincipal,
                  idempotency_key: IdempotencyKey = None) -> Response:
    def work(uow: Any, body: bytes) -> StoredResponse:
        req = _parse(UnmatchRequest, body)
        return _group(decisions.unmatch(uow=uow, clock=request.app.state.hub.clock, principal=principal,
                                        group_id=group_id, reason=req.reason, home_company=_home(request)), 201)

    return await _idempotent(request, principal, idempotency_key, action="recon.unmatch", object_id=group_id,
                             work=work)


@router.post("/write-offs", status_code=201, responses=_ERRORS,
             summary="Write statement lines off to the write-off account (reason required)")
async def write_off(request: Request, principal: CurrentPrincipal, idempotency_key: IdempotencyKey = None) -> Response:
    def work(uow: Any, body: bytes) -> StoredResponse:
        req = _parse(WriteOffRequest, body)
        return _group(decisions.write_off(uow=uow, clock=request.app.state.hub.clock, principal=principal,
                                          entry_ids=req.entry_ids, reason=req.reason, home_company=_home(request)),
                      201)

    return await _idempotent(request, principal, idempotency_key, action="recon.write_off", object_id=None,
                             work=work)
