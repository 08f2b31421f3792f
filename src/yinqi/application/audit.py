"""Recording and checking the audit trail.

`record` appends one event in the caller's transaction, so the event exists exactly when the state
change it describes commits (call it before `uow.commit()`). `record_refusal` is for the opposite
case: the action was refused, the caller's transaction rolls back, and the refusal must survive it,
so it opens and commits a transaction of its own.

Nothing secret reaches the trail: `masked_values` runs over before/after and the reason masks
anything shaped like a full IBAN or a run of eight or more digits (account numbers), and replaces
values under secret-looking keys (password, TOTP secret or code, session id, token, API key) with
"[redacted]". Callers should still pass masked values; this is the net under them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from yinqi.domain.audit import OUTCOMES, AuditEvent, ChainCheck, ChainProblem
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Principal, Role
from yinqi.domain.problems import DomainError


class AuditFilterInvalid(DomainError):
    """A filter value of an audit query cannot be read (a date, a relative age, an outcome)."""

    code = "AUDIT_FILTER_INVALID"

__all__ = [
    "AuditFilter",
    "AuditFilterInvalid",
    "AuditPage",
    "AuditUnitOfWork",
    "AuditVerification",
    "check_outcome",
    "list_events",
    "mask_text",
    "masked_values",
    "parse_when",
    "record",
    "record_refusal",
    "refusal_recorded",
    "verify",
]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Every condition is optional; `company_ids` (with `include_no_company`) is the tenant fence.
    `since` is inclusive, `until` exclusive."""

    actor_id: str | None = None
    action_prefix: str | None = None
    object_id: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    company_id: str | None = None
    company_ids: Collection[str] | None = None
    include_no_company: bool = True


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: list[AuditEvent]
    next_before_seq: int | None  # pass as `before_seq` for the next (older) page; None at the end


class AuditLog(Protocol):
    def append(self, *, at: datetime, actor_id: str, actor_channel: str, source_address: str, action: str,
               object_type: str, object_id: str | None, outcome: str = ..., reason: str = ...,
               before: dict[str, Any] | None = ..., after: dict[str, Any] | None = ...,
               company_id: str | None = ...) -> AuditEvent: ...

    def verify_chain(self) -> ChainCheck: ...

    def query(self, flt: AuditFilter = ..., *, limit: int = ..., before_seq: int | None = ...) -> AuditPage: ...


class AuditUnitOfWork(Protocol):
    @property
    def audit(self) -> AuditLog: ...

    def commit(self) -> None: ...


def record(uow: AuditUnitOfWork, *, principal: Principal, action: str, object_type: str, object_id: str | None,
           at: datetime, outcome: str = "success", before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, reason: str = "", company_id: str | None = None) -> None:
    """Append one audit event in the caller's transaction (commits with it, or not at all).

    Raises:
        ValueError: an unknown outcome, a naive `at`, before/after that are not plain JSON objects.
    """
    uow.audit.append(at=at, actor_id=principal.actor_id, actor_channel=str(principal.channel),
                     source_address=principal.source_address, action=action, object_type=object_type,
                     object_id=object_id, outcome=outcome, reason=mask_text(reason),
                     before=None if before is None else masked_values(before),
                     after=None if after is None else masked_values(after), company_id=company_id)


def record_refusal(new_uow: Callable[[], AbstractContextManager[AuditUnitOfWork]], *, principal: Principal,
                   action: str, object_type: str, object_id: str | None, at: datetime, error: DomainError,
                   company_id: str | None = None) -> None:
    """Record a refused action (outcome "denied", reason "<CODE>: <message>") in a transaction of
    its own, committed here: the refused action's own transaction is rolled back.

    Call it after the refused action's `with uow:` block has been left (e.g. in an `except` around
    it). While that transaction is still open it holds the write lock (SQLite `BEGIN IMMEDIATE`) or
    possibly the audit head row (PostgreSQL), and this second transaction would wait on it.
    """
    with new_uow() as uow:
        record(uow, principal=principal, action=action, object_type=object_type, object_id=object_id, at=at,
               outcome="denied", reason=f"{error.code}: {error.message}", company_id=company_id)
        uow.commit()
    error.audit_recorded = True  # type: ignore[attr-defined]  # see `refusal_recorded`


def refusal_recorded(error: DomainError) -> bool:
    """True once `record_refusal` stored this error: a use case that records its own refusal (with
    its precise action) is not recorded a second time by the entry point's central handler."""
    return bool(getattr(error, "audit_recorded", False))


def list_events(uow: AuditUnitOfWork, *, principal: Principal, flt: AuditFilter, limit: int = 50,
                before_seq: int | None = None) -> AuditPage:
    """Newest first, one keyset page. An admin (or a system actor) sees every event; anyone else
    with `audit.read` sees the events of the companies granted to them and those of no company.

    Raises:
        Forbidden (FORBIDDEN): the principal lacks `audit.read`.
    """
    require(principal, Permission.AUDIT_READ)
    if not (principal.all_companies or principal.has_role(Role.ADMIN)):
        flt = AuditFilter(**{**_filter_fields(flt), "company_ids": frozenset(principal.companies),
                             "include_no_company": True})
    return uow.audit.query(flt, limit=limit, before_seq=before_seq)


_AGE = re.compile(r"(\d{1,6})([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_when(text: str, *, now: datetime, where: str) -> datetime:
    """A filter time: an age back from now (`7d`, `12h`, `30m`), a date (`2030-01-10`, its UTC
    midnight) or an ISO 8601 date-time (UTC when it names no zone).

    >>> from datetime import UTC, datetime
    >>> now = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)
    >>> parse_when("7d", now=now, where="since").isoformat()
    '2030-01-03T12:00:00+00:00'
    >>> parse_when("2030-01-02", now=now, where="since").isoformat()
    '2030-01-02T00:00:00+00:00'
    >>> parse_when("yesterday", now=now, where="since")
    Traceback (most recent call last):
    yinqi.application.audit.AuditFilterInvalid: since: 'yesterday' is not an age (7d, 12h, 30m), a date or a date-time

    Raises:
        AuditFilterInvalid (AUDIT_FILTER_INVALID): anything else.
    """
    raw = text.strip()
    age = _AGE.fullmatch(raw)
    if age:
        return now - timedelta(**{_UNITS[age.group(2)]: int(age.group(1))})
    try:
        if len(raw) == 10:
            d = date.fromisoformat(raw)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        at = datetime.fromisoformat(raw)
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise AuditFilterInvalid(f"{where}: {raw[:40]!r} is not an age (7d, 12h, 30m), a date or a date-time",
                                 where=where, rule="when_format", value=raw[:40]) from None


def check_outcome(outcome: str | None) -> str | None:
    """Raises AuditFilterInvalid (AUDIT_FILTER_INVALID) for an outcome no event can have."""
    if outcome and outcome not in OUTCOMES:
        raise AuditFilterInvalid(f"outcome must be one of {', '.join(sorted(OUTCOMES))}", where="outcome",
                                 rule="outcome", value=outcome[:40])
    return outcome or None


def _filter_fields(flt: AuditFilter) -> dict[str, Any]:
    return {name: getattr(flt, name) for name in AuditFilter.__dataclass_fields__}


# --- verification ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AuditVerification:
    ok: bool
    count: int
    head: str  # hex hash of the last event verified
    first_problem: ChainProblem | None

    def as_dict(self) -> dict[str, Any]:
        p = self.first_problem
        return {"ok": self.ok, "count": self.count, "head": self.head,
                "first_problem": None if p is None else {"seq": p.seq, "kind": p.kind, "message": p.message}}


def verify(uow: AuditUnitOfWork) -> AuditVerification:
    """Walk the whole chain against the head row; never raises on tampering, reports it."""
    check = uow.audit.verify_chain()
    return AuditVerification(ok=check.ok, count=check.count, head=check.last_hash.hex(), first_problem=check.problem)


# --- masking -----------------------------------------------------------------------------------
# An IBAN compact, or printed in groups of four.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b")
# Eight or more digits, single spaces allowed between them; a decimal amount (digits "." digits) is no account.
_DIGITS = re.compile(r"(?<![\d.])\d(?: ?\d){7,}(?! ?\d)(?!\.\d)")
_SECRET_KEY = re.compile(r"pass(word)?|secret|totp|otp|session|token|api_?key|credential|pin$", re.IGNORECASE)
REDACTED = "[redacted]"


def _mask_match(m: re.Match[str]) -> str:
    compact = m.group(0).replace(" ", "")
    if _IBAN.fullmatch(m.group(0)):
        return compact[:4] + "*" * (len(compact) - 8) + compact[-4:]
    return "*" * (len(compact) - 4) + compact[-4:]


def mask_text(text: str) -> str:
    """Mask full IBANs and long digit runs inside free text, keeping the last four characters.

    >>> mask_text("pay DE89 3704 0044 0532 0130 00 or 6222020200001234, 12345678.90 EUR on 2024-01-02")
    'pay DE89**************3000 or ************1234, 12345678.90 EUR on 2024-01-02'
    """
    return _DIGITS.sub(_mask_match, _IBAN.sub(_mask_match, text))


def masked_values(d: dict[str, Any]) -> dict[str, Any]:
    """A copy of `d` (nested dicts and lists too) with account-shaped strings masked and values
    under secret-looking keys redacted.

    >>> masked_values({"iban": "DE89370400440532013000", "amount": "10.00", "totp_code": "123456"})
    {'iban': 'DE89**************3000', 'amount': '10.00', 'totp_code': '[redacted]'}
    >>> masked_values({"items": [{"account": "12345678901"}], "amount_minor": 123456789})
    {'items': [{'account': '*******8901'}], 'amount_minor': 123456789}
    """
    return {k: REDACTED if isinstance(k, str) and _SECRET_KEY.search(k) and v is not None else _mask(v)
            for k, v in d.items()}


def _mask(v: Any) -> Any:
    if isinstance(v, str):
        return mask_text(v)
    if isinstance(v, dict):
        return masked_values(v)
    if isinstance(v, list | tuple):
        return [_mask(x) for x in v]
    return v
