"""The sandbox bank's HTTP interface: a bank host-to-host endpoint, plus admin for tests and demos.

Host-to-host (what the hub's SandboxBankConnector calls):
    POST /h2h/pain001                   body: pain.001 XML (application/xml)
        202 {"msg_id", "received_at", "duplicate"}      accepted (first copy or identical copy)
        400 pain.002 group RJCT FF01 (XML)              invalid, MsgId readable
        400 {"code", "message", "where"} (JSON)         invalid, MsgId unreadable
        409 pain.002 group RJCT DU01 (XML)              MsgId reused with other content
        413 / 415                                       too large / not XML
    GET /h2h/status/{msg_id}            200 pain.002 XML | 202 {"state": "pending"} | 404
    GET /h2h/status?since=ISO-8601      200 ["msg id", ...] reports available since then
    GET /h2h/statements/{account}?date=YYYY-MM-DD[&version=camt.053.001.02]   200 camt.053 | 404
    Any /h2h route answers 503 with Retry-After while the `outage` fault is on.

Admin (loopback clients only; anyone else gets 403):
    GET  /admin/health                  {"status": "ok", "bank", "bic", "today"}
    POST /admin/accounts                {"iban" | "other_id", "currency", "balance": "100.00", "name"}
    GET  /admin/accounts/{account}      {"account", "currency", "balance", "balance_minor", ...}
    GET  /admin/faults, PUT /admin/faults   the `Faults` JSON (PUT replaces all of it)
    GET  /admin/counts                  {"received": {msg_id: copies}, "booked": {end_to_end_id: n}}

The `drop_response_after_processing` fault is done below FastAPI, in `DropResponse`: the answer's
status line and headers go out, its body never does, and the connection is closed. A client sees
a transport error after the bank has booked, the exact case RELIABILITY R2 is about.
"""

from __future__ import annotations

import ipaddress
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox_bank.bank import SandboxBank
from sandbox_bank.faults import Faults
from sandbox_bank.store import Account
from yinqi.domain.problems import Conflict, DomainError, NotFound

BODY_BYTES_MAX = 10 * 1024 * 1024
DROP_KEY = "sandbox_bank.drop_response"
_XML_TYPES = ("application/xml", "text/xml")


class DropResponse:
    """ASGI middleware: when a handler marks the scope, send the headers and then hang up."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[DROP_KEY] = False

        async def guarded(message: Message) -> None:
            if not scope.get(DROP_KEY):
                await send(message)
            elif message["type"] == "http.response.start":
                await send(message)  # the body never follows: the server closes the connection

        await self.app(scope, receive, guarded)


def create_app(bank: SandboxBank) -> FastAPI:
    app = FastAPI(title="Yinqi sandbox bank", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.bank = bank
    app.include_router(_h2h_router(bank))
    app.include_router(_admin_router(bank))
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_middleware(DropResponse)
    return app


def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
    status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 422
    return JSONResponse({"code": exc.code, "message": exc.message, "where": exc.where}, status_code=status)


# --- host-to-host ---------------------------------------------------------------------------------
def _h2h_router(bank: SandboxBank) -> APIRouter:
    def not_in_outage() -> None:
        faults = bank.faults.current
        if faults.outage:
            raise HTTPException(503, "sandbox bank outage (fault injection)",
                                headers={"Retry-After": str(faults.outage_retry_after_s)})

    router = APIRouter(prefix="/h2h", dependencies=[Depends(not_in_outage)])

    @router.post("/pain001")
    async def submit_pain001(request: Request) -> Response:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in _XML_TYPES:
            raise HTTPException(415, "send the pain.001 as application/xml")
        if int(request.headers.get("content-length") or 0) > BODY_BYTES_MAX:
            raise HTTPException(413, f"body exceeds {BODY_BYTES_MAX} bytes")
        body = await request.body()
        if len(body) > BODY_BYTES_MAX:
            raise HTTPException(413, f"body exceeds {BODY_BYTES_MAX} bytes")
        reply = await run_in_threadpool(bank.receive_pain001, body)
        if bank.faults.take_drop():
            request.scope[DROP_KEY] = True
        return Response(reply.body, status_code=reply.http_status, media_type=reply.media_type)

    @router.get("/status/{msg_id}")
    def status_report(msg_id: str) -> Response:
        found = bank.status(msg_id)
        if found.state == "unknown":
            return JSONResponse({"code": "MESSAGE_UNKNOWN", "msg_id": msg_id}, status_code=404)
        if found.state == "pending":
            return JSONResponse({"msg_id": msg_id, "state": "pending", "available_at": found.available_at},
                                status_code=202)
        return Response(found.report, media_type="application/xml")

    @router.get("/status")
    def status_listing(since: Annotated[datetime, Query()]) -> list[str]:
        if since.tzinfo is None:
            raise HTTPException(422, "since must carry a timezone, e.g. 2026-01-02T09:00:00Z")
        return bank.reports_since(since)

    @router.get("/statements/{account}")
    def statement(account: str, on: Annotated[date, Query(alias="date")],
                  version: str = "camt.053.001.08") -> Response:
        if version not in ("camt.053.001.08", "camt.053.001.02"):
            raise HTTPException(422, "version must be camt.053.001.08 or camt.053.001.02")
        return Response(bank.statement(account, on, version=version), media_type="application/xml")

    return router


# --- admin ------------------------------------------------------------------------------------------
def _loopback_only(request: Request) -> None:
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise HTTPException(403, "admin endpoints answer loopback clients only")


def _account_json(account: Account) -> dict[str, Any]:
    return {"account": account.key, "iban": account.iban, "other_id": account.other_id,
            "currency": account.currency, "name": account.name, "balance": account.balance.format(),
            "balance_minor": account.balance_minor, "opened_on": account.opened_on.isoformat()}


def _admin_router(bank: SandboxBank) -> APIRouter:
    router = APIRouter(prefix="/admin", dependencies=[Depends(_loopback_only)])

    @router.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "bank": bank.bank_name, "bic": bank.bic, "today": bank.today().isoformat()}

    @router.post("/accounts", status_code=201)
    def open_account(body: dict[str, Any]) -> dict[str, Any]:
        account = bank.open_account(iban=body.get("iban"), other_id=body.get("other_id"),
                                    currency=str(body.get("currency", "")), balance=str(body.get("balance", "0")),
                                    name=str(body.get("name", "")))
        return _account_json(account)

    @router.get("/accounts/{account}")
    def get_account(account: str) -> dict[str, Any]:
        return _account_json(bank.account(account))

    @router.get("/faults")
    def get_faults() -> Faults:
        return bank.faults.current

    @router.put("/faults")
    def put_faults(faults: Faults) -> Faults:
        return bank.faults.replace(faults)

    @router.get("/counts")
    def counts() -> dict[str, dict[str, int]]:
        return bank.counts()

    return router
