"""Import jobs: one row per order file (or upload) being imported, with its live progress.

A job is updated while it runs (`processed`, `accepted` ... after every chunk, in the chunk's own
transaction) and finished once (`status`, `errors`, `finished_at`), so it is not append-only.
`(company_id, file_sha256)` and `(company_id, message_id)` are indexed, not unique: the duplicate-
file rule ("a completed job for the same bytes or the same pain.001 MsgId") lives in
`application.intake`, because an interrupted job must let the same file be imported again to
resume it. The orders themselves stay unique through `payment_orders (company_id, serial)`.
"""

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text

from yinqi.adapters.db.metadata import metadata

import_jobs = Table(
    "import_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("company_id", String(64), nullable=False),
    Column("format", String(16), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("message_id", String(35), nullable=True),
    Column("mode", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("phase", String(16), nullable=False),
    Column("total", Integer, nullable=False),
    Column("processed", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("errors", Text, nullable=False),  # JSON list of {where, field, rule, code, message, value}
    Column("duplicate_of_job", String(36), nullable=True),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Index("ix_import_jobs_company_sha256", "company_id", "file_sha256"),
    Index("ix_import_jobs_company_message", "company_id", "message_id"),
    Index("ix_import_jobs_created", "created_at"),
)
