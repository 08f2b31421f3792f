"""Key rotation requests for the field-encryption keyring (R19).

A rotation is requested by one admin and approved by another (`requested_by` <> `approved_by`,
checked by the use case and again by the database). The approval names the new key
(`to_key_id`) before any ciphertext is rewritten, so a rotation killed half-way resumes with the
same key: rows already under it are skipped, none is sealed twice.
"""

from sqlalchemy import CheckConstraint, Column, DateTime, Integer, String, Table

from yinqi.adapters.db.metadata import metadata

field_key_rotations = Table(
    "field_key_rotations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("status", String(16), nullable=False),  # requested, running, completed
    Column("from_key_id", String(17), nullable=False),  # the active key when requested
    Column("to_key_id", String(17), nullable=True),
    Column("requested_by", String(128), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("approved_by", String(128), nullable=True),
    Column("approved_at", DateTime(timezone=True), nullable=True),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("resealed", Integer, nullable=False, default=0),
    CheckConstraint("status IN ('requested', 'running', 'completed')", name="status"),
    CheckConstraint("approved_by IS NULL OR approved_by <> requested_by", name="two_admins"),
)
