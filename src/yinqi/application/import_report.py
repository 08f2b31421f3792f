"""The data of order intake: modes, job statuses, the parsed file, per-row errors and results.

Kept apart from the use case (`application.intake`) so the adapters that parse files and store
jobs, and the entry points that render reports, share one vocabulary without importing the
use case. `ImportResult.as_json` is the report contract of the CLI (`--json`) and the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from yinqi.domain.orders.commands import CreateOrder
from yinqi.domain.problems import DomainError, Problem

__all__ = ["AcceptedRow", "ImportJob", "ImportMode", "ImportRefused", "ImportResult", "JobStatus", "OrderFile",
           "ProgressCallback", "Row", "RowError"]

Row = tuple[str, CreateOrder | list[Problem]]
ProgressCallback = Callable[[str, int, int], None]


class ImportMode(StrEnum):
    ALL_OR_NOTHING = "all-or-nothing"
    ACCEPT_VALID = "accept-valid"


class JobStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    REFUSED = "refused"
    FAILED = "failed"


class ImportRefused(DomainError):
    """The batch or file was refused as a whole; `problems` lists every problem (`where` = the row)."""

    code = "IMPORT_REFUSED"

    def __init__(self, message: str, problems: list[Problem], details: dict[str, Any] | None = None) -> None:
        first = problems[0] if problems else Problem(self.code, message)
        super().__init__(message, where=first.where, rule=first.rule, value=first.value, details=details)
        self.problems = problems


@dataclass(frozen=True, slots=True)
class OrderFile:
    """A parsed file: `rows()` yields `(where, CreateOrder | problems)` afresh on every call."""

    format: str
    file_name: str
    sha256: str
    rows: Callable[[], Iterable[Row]]
    total: int
    message_id: str | None = None
    problems: tuple[Problem, ...] = ()            # the file itself is refused (header, NbOfTxs ...)
    field_names: Mapping[str, str] = field(default_factory=dict)  # CreateOrder field -> the file's name


@dataclass(frozen=True, slots=True)
class RowError:
    where: str
    field: str
    rule: str
    code: str
    message: str
    value: str | None = None
    existing_order_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {"where": self.where, "field": self.field, "rule": self.rule, "code": self.code,
               "message": self.message, "value": self.value}
        if self.existing_order_id:
            out["existing_order_id"] = self.existing_order_id
        return out

    def as_problem(self) -> Problem:
        return Problem(code=self.code, message=f"{self.where}: {self.field}: {self.message}",
                       where=f"{self.where} {self.field}".strip(), rule=self.rule, value=self.value)


@dataclass(frozen=True, slots=True)
class AcceptedRow:
    where: str
    serial: str
    end_to_end_id: str | None
    amount: str
    currency: str
    order_id: str | None = None  # None in a dry run

    def as_dict(self) -> dict[str, Any]:
        return {"serial": self.serial, "end_to_end_id": self.end_to_end_id, "amount": self.amount,
                "currency": self.currency}


@dataclass(frozen=True, slots=True)
class ImportJob:
    id: str
    company_id: str
    format: str
    file_name: str
    file_sha256: str
    message_id: str | None
    mode: str
    status: str
    created_by: str
    created_at: datetime
    phase: str = "queued"
    total: int = 0
    processed: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    duplicate_of_job: str | None = None
    finished_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "company_id": self.company_id, "format": self.format, "file_name": self.file_name,
                "file_sha256": self.file_sha256, "message_id": self.message_id, "mode": self.mode,
                "status": self.status, "phase": self.phase, "total": self.total, "processed": self.processed,
                "accepted": self.accepted, "rejected": self.rejected, "skipped": self.skipped,
                "errors": self.errors, "duplicate_of_job": self.duplicate_of_job, "created_by": self.created_by,
                "created_at": self.created_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None}


@dataclass(slots=True)
class ImportResult:
    status: str
    mode: str
    dry_run: bool
    total: int
    accepted: list[AcceptedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0
    job_id: str | None = None
    duplicate_of_job: str | None = None

    @property
    def refused(self) -> bool:
        return self.status == JobStatus.REFUSED

    @property
    def rejected(self) -> int:
        """Rows with at least one problem (a row with three problems counts once; a problem of the
        whole file, such as a duplicate file or a wrong NbOfTxs, rejects no row of its own)."""
        return len({e.where for e in self.errors if e.where != "file"})

    def as_json(self) -> dict[str, Any]:
        """The CLI and API report: accepted, rejected, orders, errors (+ duplicate_of_job)."""
        out: dict[str, Any] = {
            "accepted": len(self.accepted), "rejected": self.rejected,
            "orders": [a.as_dict() for a in self.accepted],
            "errors": [{"where": e.where, "field": e.field, "rule": e.rule, "message": e.message}
                       for e in self.errors]}
        if self.duplicate_of_job:
            out["duplicate_of_job"] = self.duplicate_of_job
        return out
