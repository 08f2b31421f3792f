"""SQL store of import jobs (`import_jobs`), bound to one unit of work's connection.

Besides the jobs it answers the one question intake asks of the orders table in bulk: which of
these serials does the company already use, and by which order (one query per chunk instead of
one per row).
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, insert, or_, select, update

from yinqi.adapters.db.tables.imports import import_jobs as ij
from yinqi.adapters.db.tables.orders import payment_orders as po
from yinqi.application.import_report import ImportJob

MAX_IN = 500  # serials per IN (...) query: well under SQLite's and PostgreSQL's parameter limits


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=UTC)


class SqlImportStore:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, job: ImportJob) -> None:
        self._conn.execute(insert(ij).values(
            id=job.id, company_id=job.company_id, format=job.format, file_name=job.file_name,
            file_sha256=job.file_sha256, message_id=job.message_id, mode=job.mode, status=job.status,
            phase=job.phase, total=job.total, processed=job.processed, accepted=job.accepted,
            rejected=job.rejected, skipped=job.skipped, errors=json.dumps(job.errors, ensure_ascii=False),
            duplicate_of_job=job.duplicate_of_job, created_by=job.created_by, created_at=job.created_at,
            finished_at=job.finished_at))

    def get(self, job_id: str) -> ImportJob | None:
        row = self._conn.execute(select(ij).where(ij.c.id == job_id)).first()
        return None if row is None else _job(row)

    def list(self, *, company_id: str | None = None, limit: int = 50) -> list[ImportJob]:
        assert 1 <= limit <= 500, "pages are bounded"
        query = select(ij).order_by(ij.c.created_at.desc(), ij.c.id.desc()).limit(limit)
        if company_id:
            query = query.where(ij.c.company_id == company_id)
        return [_job(row) for row in self._conn.execute(query)]

    def find_same_file(self, company_id: str, *, file_sha256: str, message_id: str | None) -> builtins.list[ImportJob]:
        """The company's earlier jobs for these bytes or this pain.001 MsgId, oldest first."""
        same = ij.c.file_sha256 == file_sha256
        if message_id:
            same = or_(same, ij.c.message_id == message_id)
        query = select(ij).where(and_(ij.c.company_id == company_id, same)).order_by(ij.c.created_at, ij.c.id)
        return [_job(row) for row in self._conn.execute(query)]

    def progress(self, job_id: str, *, phase: str, processed: int, accepted: int | None = None,
                 rejected: int | None = None, skipped: int | None = None) -> None:
        values: dict[str, Any] = {"phase": phase, "processed": processed}
        values.update({k: v for k, v in (("accepted", accepted), ("rejected", rejected), ("skipped", skipped))
                       if v is not None})
        self._conn.execute(update(ij).where(ij.c.id == job_id).values(**values))

    def finish(self, job_id: str, *, status: str, total: int, processed: int, accepted: int, rejected: int,
               skipped: int, errors: Sequence[dict[str, Any]], message_id: str | None,
               duplicate_of_job: str | None, finished_at: datetime) -> None:
        values: dict[str, Any] = {
            "status": status, "phase": "done", "total": total, "processed": processed, "accepted": accepted,
            "rejected": rejected, "skipped": skipped, "errors": json.dumps(list(errors), ensure_ascii=False),
            "duplicate_of_job": duplicate_of_job, "finished_at": finished_at}
        if message_id:
            values["message_id"] = message_id
        self._conn.execute(update(ij).where(ij.c.id == job_id).values(**values))

    def set_file(self, job_id: str, *, format: str, message_id: str | None, total: int) -> None:
        """What the background parse learnt about a job created before its file was read."""
        self._conn.execute(update(ij).where(ij.c.id == job_id).values(format=format, message_id=message_id,
                                                                      total=total))

    def existing_serials(self, company_id: str, serials: Sequence[str]) -> dict[str, str]:
        """serial -> id of the company's order that already uses it, for those that exist."""
        unique = sorted(set(serials))
        found: dict[str, str] = {}
        for i in range(0, len(unique), MAX_IN):
            query = select(po.c.serial, po.c.id).where(po.c.company_id == company_id,
                                                       po.c.serial.in_(unique[i:i + MAX_IN]))
            found.update({serial: order_id for serial, order_id in self._conn.execute(query)})
        return found


def _job(row: Row[Any]) -> ImportJob:
    m = row._mapping
    return ImportJob(
        id=m["id"], company_id=m["company_id"], format=m["format"], file_name=m["file_name"],
        file_sha256=m["file_sha256"], message_id=m["message_id"], mode=m["mode"], status=m["status"],
        phase=m["phase"], total=m["total"], processed=m["processed"], accepted=m["accepted"],
        rejected=m["rejected"], skipped=m["skipped"], errors=json.loads(m["errors"]),
        duplicate_of_job=m["duplicate_of_job"], created_by=m["created_by"],
        created_at=_aware(m["created_at"]) or m["created_at"], finished_at=_aware(m["finished_at"]))
