"""Idempotency keys for POST requests (Stripe semantics, R5-R7).

One row per (scope, key): `scope` is the client the key belongs to, so two clients may use the
same key. The unique primary key makes the in-progress claim race-safe on both backends: the
second INSERT fails, whoever inserted first owns the request. A completed row keeps the response
status and the exact body bytes, so a replay is byte-identical. `request_body` is the canonical
JSON of the first request, kept to name the first differing field when a key is reused.
Both bodies carry account numbers, so both are sealed at rest (R19, revision 0007_encryption):
`request_body` holds the sealed blob itself, `response_body_enc` the sealed response (the clear
`response_body` only remains on rows older than 0007).
"""

from sqlalchemy import Column, DateTime, Integer, LargeBinary, PrimaryKeyConstraint, String, Table, Text

from yinqi.adapters.db.metadata import metadata

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(128), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),  # sha256 of method + path + canonical body
    Column("method", String(8), nullable=False),
    Column("path", String(512), nullable=False),
    Column("request_body", Text, nullable=False),
    Column("state", String(16), nullable=False),  # in_progress, completed
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("response_status", Integer, nullable=True),
    Column("response_body", LargeBinary, nullable=True),
    Column("resource_id", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("response_body_enc", Text, nullable=True),
    PrimaryKeyConstraint("scope", "key", name="pk_idempotency_keys"),
)
