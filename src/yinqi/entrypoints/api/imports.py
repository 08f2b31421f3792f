"""REST API for order intake in bulk: `POST /api/v1/payment-orders/batch` and `/api/v1/imports`.

- `POST /payment-orders/batch` takes `{"orders": [<the body of POST /payment-orders>, ...],
  "mode": "all-or-nothing" | "accept-valid"}` (at most 10,000 orders) with an `Idempotency-Key`,
  in one transaction: 201 with the per-row report, or 422 IMPORT_REFUSED listing every problem
  (`where` = `orders[7] payee.account.iban`). A retry with the same key replays the first answer.
- `POST /imports` uploads a file (multipart: `file`, optional `mode`, `format`, `company_id`,
  `dry_run`). It answers 202 with the job id at once and imports in a background thread;
  `GET /imports/{id}` shows the progress and, once finished, the report. A dry run stores nothing,
  not even a job, so it answers 200 with the report when the check is done. The file's own bytes
  (sha256) and pain.001 MsgId make a re-upload a "duplicate file" no-op.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Path, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from yinqi.adapters.files import MAX_FILE_BYTES, read_order_file
from yinqi.application.idempotency import IdempotentRequest, StoredResponse, run_idempotent
from yinqi.application.import_report import ImportJob, ImportMode, ImportResult
from yinqi.application.intake import MAX_BATCH_ORDERS, create_batch, import_orders, start_job
from yinqi.bootstrap import Hub
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Principal
from yinqi.domain.problems import DomainError, NotFound, ValidationFailed
from yinqi.entrypoints.api.deps import CurrentPrincipal
from yinqi.entrypoints.api.errors import encode, json_response, render_error, request_problems
from yinqi.entrypoints.api.schemas import CreateOrderRequest

log = logging.getLogger("yinqi.api.imports")
router = APIRouter(prefix="/api/v1", tags=["order intake"])
MAX_BATCH_BYTES = 16 * 1024 * 1024
JobId = Annotated[str, Path(max_length=36, pattern=r"^[A-Za-z0-9\-]+$", description="the import job's id")]


class BodyTooLarge(DomainError):
    code = "BODY_TOO_LARGE"


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    orders: list[CreateOrderRequest] = Field(max_length=MAX_BATCH_ORDERS, description="each as POST /payment-orders")
    mode: ImportMode = Field(default=ImportMode.ALL_OR_NOTHING)


def _report(result: ImportResult) -> dict[str, Any]:
    body = result.as_json()
    body["orders"] = [{**a.as_dict(), "id": a.order_id, "where": a.where} for a in result.accepted]
    body["errors"] = [e.as_dict() for e in result.errors]
    body.update({"status": str(result.status), "mode": result.mode, "dry_run": result.dry_run,
                 "job_id": result.job_id})
    return body


@router.post("/payment-orders/batch", status_code=201, summary="Create up to 10,000 payment orders at once")
async def create_payment_order_batch(request: Request, principal: CurrentPrincipal,
                                     idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key",
                                                                                   max_length=255)] = None
                                     ) -> Response:
    body = await request.body()
    hub: Hub = request.app.state.hub
    idem = IdempotentRequest(scope=f"user:{principal.actor_id}", key=idempotency_key, method="POST",
                             path=request.url.path, body=body)

    def work(uow: Any) -> StoredResponse:
        batch = _parse_batch(body)
        result = create_batch(uow=uow, clock=hub.clock, principal=principal, mode=batch.mode,
                              commands=[o.to_command(source="api") for o in batch.orders])
        return StoredResponse(201, encode(_report(result)))

    def run() -> Any:
        if len(body) > MAX_BATCH_BYTES:
            raise BodyTooLarge(f"request body is larger than {MAX_BATCH_BYTES} bytes", rule="max_body_size")
        return run_idempotent(request=idem, new_uow=hub.uow, clock=hub.clock, work=work,
                              render_error=lambda exc: StoredResponse(*render_error(exc)))

    outcome = await run_in_threadpool(run)
    headers = {"Idempotency-Replayed": "true"} if outcome.replayed else {}
    return json_response(outcome.response.status, outcome.response.body, headers=headers)


def _parse_batch(body: bytes) -> BatchRequest:
    try:
        return BatchRequest.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise ValidationFailed(request_problems([dict(e) for e in exc.errors(include_url=False)])) from None


@router.post("/imports", status_code=202, summary="Upload an order file (CSV, XLSX, pain.001) to import")
async def upload_import(request: Request, principal: CurrentPrincipal, file: Annotated[UploadFile, File()],
                        mode: Annotated[ImportMode, Form()] = ImportMode.ALL_OR_NOTHING,
                        format: Annotated[str | None, Form(max_length=16)] = None,
                        company_id: Annotated[str | None, Form(max_length=64)] = None,
                        dry_run: Annotated[bool, Form()] = False) -> Response:
    hub: Hub = request.app.state.hub
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise BodyTooLarge(f"the file is larger than {MAX_FILE_BYTES} bytes", rule="max_size")
    upload = Upload(hub=hub, principal=principal, data=data, file_name=file.filename or "upload",
                    company_id=company_id or hub.settings.company_id, mode=mode, format=format)
    if dry_run:
        result = await run_in_threadpool(upload.run, None, True)
        return json_response(200, encode(_report(result)))
    job_id = await run_in_threadpool(upload.start)
    threading.Thread(target=upload.run_logged, args=(job_id,), name=f"import-{job_id}", daemon=True).start()
    return json_response(202, encode({"job_id": job_id, "status": "running", "href": f"/api/v1/imports/{job_id}"}),
                         headers={"Location": f"/api/v1/imports/{job_id}"})


class Upload:
    """One uploaded file on its way through `import_orders` (shared with the console)."""

    def __init__(self, *, hub: Hub, principal: Principal, data: bytes, file_name: str, company_id: str,
                 mode: ImportMode, format: str | None) -> None:
        self.hub, self.principal, self.data, self.file_name = hub, principal, data, file_name
        self.company_id, self.mode, self.format = company_id, mode, format

    def start(self) -> str:
        """The job row, at once (Forbidden before anything is stored)."""
        return start_job(new_uow=self.hub.uow, clock=self.hub.clock, principal=self.principal,
                         company_id=self.company_id, format=self.format or "auto", file_name=self.file_name,
                         file_sha256=hashlib.sha256(self.data).hexdigest(), mode=self.mode)

    def run(self, job_id: str | None, dry_run: bool = False) -> ImportResult:
        require(self.principal, Permission.ORDER_IMPORT)  # before reading: a refusal never depends on the file
        parsed = read_order_file(self.data, file_name=self.file_name, company_id=self.company_id, format=self.format)
        return import_orders(new_uow=self.hub.uow, clock=self.hub.clock, principal=self.principal, file=parsed,
                             company_id=self.company_id, mode=self.mode, dry_run=dry_run, job_id=job_id)

    def run_logged(self, job_id: str) -> None:
        try:
            self.run(job_id)
        except Exception:  # the job row says "failed"; the stack trace goes to the log only
            log.exception("import job %s failed", job_id)


@router.get("/imports/{job_id}", summary="An import job: progress, then its report")
def get_import(job_id: JobId, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    return job_view(request.app.state.hub, principal, job_id)


def job_view(hub: Hub, principal: Principal, job_id: str) -> dict[str, Any]:
    """The job as JSON; another company's job is "not found", like one that does not exist.

    Raises:
        NotFound (NOT_FOUND); Forbidden (FORBIDDEN): no `order.read`.
    """
    require(principal, Permission.ORDER_READ)
    with hub.uow() as uow:
        job: ImportJob | None = uow.imports.get(job_id)
    if job is None or not principal.can_see_company(job.company_id):
        raise NotFound(f"import job {job_id} does not exist", where="job_id", rule="exists", value=job_id)
    return job.as_dict()
