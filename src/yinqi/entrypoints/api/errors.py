"""The one table from error code to HTTP status, and the handlers that render every error alike.

Every error body has the same shape, whatever raised it:

    {"error": {"code": "IBAN_INVALID", "message": "...", "where": "payee.account.iban",
               "rule": "checksum", "value": "DE00...", "problems": [...], "details": {...}}}

Clients branch on `code` (stable); `problems` lists every problem of a VALIDATION_FAILED. A domain
code missing from the table is a 422 (an expected failure of the request). Anything unexpected is
a 500 INTERNAL_ERROR carrying only a correlation id, logged with the stack trace server-side, never
sent to the client (R24, ASVS 16.5.1).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from yinqi.domain.problems import DomainError, Problem

log = logging.getLogger("yinqi.api")

ERROR_STATUS: dict[str, int] = {
    # encryption at rest and key rotation (R19)
    "FIELD_KEY_UNKNOWN": 500, "FIELD_KEY_RETIRED": 500, "FIELD_CIPHERTEXT_INVALID": 500, "FIELD_KEY_ACTIVE": 409, "KEY_ROTATION_NOT_FOUND": 404, "KEY_ROTATION_SAME_ADMIN": 403, "KEY_ROTATION_STATE": 409, "KEY_STILL_IN_USE": 409,  # noqa: E501
    # generic
    "STATEMENT_ACCOUNT_INVALID": 422,
    "VALIDATION_FAILED": 422, "NOT_FOUND": 404, "CONFLICT": 409, "BAD_REQUEST": 400,
    "METHOD_NOT_ALLOWED": 405, "INTERNAL_ERROR": 500, "BODY_TOO_LARGE": 413,
    # identity and access (R13-R18)
    "NOT_AUTHENTICATED": 401, "STEP_UP_REQUIRED": 401, "FORBIDDEN": 403, "RATE_LIMITED": 429,
    "USERNAME_INVALID": 422, "PASSWORD_TOO_WEAK": 422, "USER_EXISTS": 409, "USER_NOT_FOUND": 404, "TOTP_INVALID": 401, "TOTP_REPLAYED": 401, "TOTP_NOT_ENROLLED": 409, "GRANT_REQUIRES_SECOND_ADMIN": 403, "TOKEN_SCOPE_INVALID": 422, "ACCOUNT_DISABLED": 401,  # noqa: E501
    "BENEFICIARY_NOT_FOUND": 404, "BENEFICIARY_CHANGE_NOT_FOUND": 404, "BENEFICIARY_CHANGE_PENDING": 409, "BENEFICIARY_CHANGE_DECIDED": 409, "BENEFICIARY_EXISTS": 409, "BENEFICIARY_NOT_ACTIVE": 409, "BENEFICIARY_ACCOUNT_UNCHANGED": 422, "BENEFICIARY_VERSION_CONFLICT": 409, "NOT_BUSINESS_DAY": 422, "PURPOSE_CODE_REQUIRED": 422, "PURPOSE_CODE_UNKNOWN": 422, "PAYEE_ADDRESS_REQUIRED": 422,  # noqa: E501
    # idempotency (R5-R7)
    "IDEMPOTENCY_KEY_REQUIRED": 400, "IDEMPOTENCY_KEY_INVALID": 400, "IDEMPOTENCY_KEY_REUSED": 422,
    "IDEMPOTENCY_IN_PROGRESS": 409,
    # payment orders
    "ORDER_NOT_FOUND": 404, "DUPLICATE_SERIAL": 409, "DUPLICATE_END_TO_END_ID": 409,
    "ORDER_VERSION_CONFLICT": 409, "ORDER_ILLEGAL_TRANSITION": 409, "SOD_SELF_APPROVAL": 403,
    # approvals (R13)
    "SOD_DUPLICATE_APPROVER": 403, "APPROVAL_LIMIT_EXCEEDED": 403, "APPROVAL_ROLE_REQUIRED": 403,
    "APPROVALS_INVALIDATED": 409, "APPROVAL_EXPIRED": 409, "POLICY_INVALID": 422,
    "BANK_STATUS_UNKNOWN": 422, "BANK_MESSAGE_MISMATCH": 409, "ORDER_CHAIN_BROKEN": 500,
    # values
    "AMOUNT_INVALID": 422, "CURRENCY_MISMATCH": 422, "UNKNOWN_CURRENCY": 422, "SERIAL_INVALID": 422,
    "END_TO_END_ID_INVALID": 422, "IBAN_INVALID": 422, "BIC_INVALID": 422, "DOMESTIC_ACCOUNT_INVALID": 422,
    "COUNTRY_INVALID": 422,
    # ledger
    "INSUFFICIENT_FUNDS": 422, "ALREADY_REVERSED": 409, "LEDGER_IDEMPOTENCY_CONFLICT": 409, "NO_ROUTE": 422,
    "LEDGER_UNBALANCED": 422, "LEDGER_ACCOUNT_UNKNOWN": 422, "LEDGER_ACCOUNT_INVALID": 422,
    "LEDGER_ACCOUNT_CONFLICT": 409, "LEDGER_CURRENCY_MISMATCH": 422, "LEDGER_ENTRY_INVALID": 422,
    "LEDGER_ENTRY_UNKNOWN": 404, "LEDGER_CHECKPOINT_INVALID": 422, "LEDGER_TAMPERED": 500,
    # files and messages
    "XML_REJECTED": 422, "SCHEMA_INVALID": 422, "SCHEMA_UNKNOWN": 422, "PAIN001_INVALID": 422,
    "PAIN001_UNWRITABLE": 422,
    "AUDIT_FILTER_INVALID": 422,
    "IMPORT_REFUSED": 422, "ORDER_FILE_INVALID": 422,  # order intake (batches and files)
    "RECON_MATCH_EMPTY": 422, "RECON_CURRENCY_MIXED": 422, "RECON_ACCOUNTS_MIXED": 422, "RECON_AMOUNTS_DIFFER": 422, "RECON_REASON_REQUIRED": 422, "RECON_LINE_NOT_FOUND": 404, "RECON_LINE_CLAIMED": 409, "RECON_ORDER_NOT_MATCHABLE": 409, "RECON_GROUP_NOT_FOUND": 404, "RECON_GROUP_NOT_ACTIVE": 409, "RECON_SUGGESTION_NOT_FOUND": 404,  # noqa: E501  reconciliation queue
}

_HTTP_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 409: "CONFLICT",
               422: "VALIDATION_FAILED"}
_MAX_VALUE_CHARS = 200  # never echo a whole (possibly huge or sensitive) input back


def status_for(code: str) -> int:
    return ERROR_STATUS.get(code, 422)


def _clip(value: str | None) -> str | None:
    return value if value is None or len(value) <= _MAX_VALUE_CHARS else value[:_MAX_VALUE_CHARS] + "…"


def _problem_dict(problem: Problem) -> dict[str, Any]:
    return {**problem.as_dict(), "value": _clip(problem.value)}


def error_payload(exc: DomainError) -> dict[str, Any]:
    problems = [_problem_dict(p) for p in getattr(exc, "problems", [])]
    body: dict[str, Any] = {"code": exc.code, "message": exc.message, "where": exc.where, "rule": exc.rule,
                            "value": _clip(exc.value), "problems": problems}
    if exc.details:
        body["details"] = exc.details
    return {"error": body}


def encode(payload: Any) -> bytes:
    """The JSON bytes of every API body: compact, UTF-8, deterministic (replays store them)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def render_error(exc: DomainError) -> tuple[int, bytes]:
    return status_for(exc.code), encode(error_payload(exc))


def json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(content=body, status_code=status, media_type="application/json", headers=headers)


def request_problems(errors: list[dict[str, Any]], *, prefix: tuple[str, ...] = ()) -> list[Problem]:
    """pydantic / FastAPI validation errors as Problems, with the field as a dotted path."""
    return [_problem_from(err, prefix) for err in errors]


_PYDANTIC_CODES = {"missing": ("FIELD_REQUIRED", "required"),
                   "extra_forbidden": ("FIELD_UNKNOWN", "no_unknown_fields"),
                   "json_invalid": ("BODY_INVALID", "json_syntax"),
                   "model_type": ("BODY_INVALID", "json_object"),
                   "model_attributes_type": ("BODY_INVALID", "json_object")}


def _problem_from(err: dict[str, Any], prefix: tuple[str, ...]) -> Problem:
    loc = [p for p in err.get("loc", ()) if p not in prefix]
    where = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(loc))
    kind = str(err.get("type", "invalid"))
    code, rule = _PYDANTIC_CODES.get(kind, (str((err.get("ctx") or {}).get("code", "FIELD_INVALID")), kind))
    value = err.get("input")
    shown = None if kind == "missing" or isinstance(value, dict | list) else _clip(repr(value))
    return Problem(code=code, message=str(err.get("msg", "invalid value")), where=where, rule=rule, value=shown)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _request_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


async def _domain_error(_request: Request, exc: DomainError) -> Response:
    if is_refusal(exc.code):
        await _audit_refusal(_request, exc)
    return json_response(*render_error(exc), headers=error_headers(exc))


# Refusals of an actor (authentication, authorisation, segregation of duties, limits) are audited
# centrally here, in a transaction of their own (R12, R13, R15). Every code starting SOD_ is one.
REFUSAL_CODES = frozenset({"FORBIDDEN", "NOT_AUTHENTICATED", "STEP_UP_REQUIRED", "RATE_LIMITED",
                           "APPROVAL_LIMIT_EXCEEDED", "APPROVALS_INVALIDATED", "GRANT_REQUIRES_SECOND_ADMIN",
                           "BENEFICIARY_CHANGE_PENDING", "ACCOUNT_LOCKED", "APPROVAL_ROLE_REQUIRED"})


def is_refusal(code: str) -> bool:
    return code in REFUSAL_CODES or code.startswith("SOD_")


async def _audit_refusal(request: Request, exc: DomainError) -> None:
    from starlette.concurrency import run_in_threadpool

    from yinqi.entrypoints.web.audit import audit_refusal  # the one helper the console uses too

    await run_in_threadpool(audit_refusal, request, exc)


def error_headers(exc: DomainError) -> dict[str, str]:
    """RFC 6750 / RFC 9110 headers some errors owe the client: how to authenticate, when to retry."""
    if exc.code == "NOT_AUTHENTICATED":
        return {"WWW-Authenticate": "Bearer"}
    if exc.code == "RATE_LIMITED":
        return {"Retry-After": str(int(exc.details.get("retry_after_s", 1)))}
    return {}


async def _request_invalid(_request: Request, exc: RequestValidationError) -> Response:
    from yinqi.domain.problems import ValidationFailed

    problems = request_problems([dict(e) for e in exc.errors()], prefix=("body", "query", "path", "header"))
    return json_response(*render_error(ValidationFailed(problems)))


async def _http_error(_request: Request, exc: StarletteHTTPException) -> Response:
    code = _HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
    payload: dict[str, Any] = {"error": {"code": code, "message": str(exc.detail), "where": "", "rule": "",
                                         "value": None, "problems": []}}
    return json_response(exc.status_code, encode(payload), headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> Response:
    correlation_id = uuid.uuid4().hex
    log.error("unexpected error %s on %s %s", correlation_id, request.method, request.url.path, exc_info=exc)
    payload: dict[str, Any] = {"error": {"code": "INTERNAL_ERROR", "message": "an unexpected error occurred; quote the "
                         "correlation id to the operator", "where": "", "rule": "", "value": None,
                         "problems": [], "correlation_id": correlation_id}}
    return json_response(500, encode(payload), headers={"X-Correlation-Id": correlation_id})
