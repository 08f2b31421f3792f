"""SQL store of idempotency keys (see `yinqi.application.idempotency` for the semantics).

The claim is an INSERT guarded by the (scope, key) primary key, run inside a savepoint: of two
concurrent claims exactly one inserts; the other gets an IntegrityError (PostgreSQL waits for the
first transaction, then reports the conflict; SQLite serialises writers with BEGIN IMMEDIATE),
rolls back to the savepoint and reads the winner's row. An expired in-progress lease is taken
over with a conditional UPDATE, so only one taker wins that race too.

Request and response bodies carry account numbers, so both are sealed by the vault (R19): the
fingerprint (a hash) is what claims compare, the sealed bodies are only opened to replay a
response or to name the field a reused key changed. Rows older than revision 0007 hold clear
bodies and are read as they are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from yinqi.adapters.crypto.field_encryption import BLOB_VERSION
from yinqi.adapters.db.tables.idempotency import idempotency_keys as t
from yinqi.application.idempotency import Claim, StoredResponse
from yinqi.application.ports import AccountVault

REQUEST = "idempotency_keys.request_body"
RESPONSE = "idempotency_keys.response_body_enc"


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class SqlIdempotencyStore:
    def __init__(self, conn: Connection, vault: AccountVault) -> None:
        self._conn = conn
        self._vault = vault

    def claim(self, *, scope: str, key: str, fingerprint: str, method: str, path: str,
              request_body: str, now: datetime, lease_until: datetime) -> Claim:
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(t).values(
                    scope=scope, key=key, fingerprint=fingerprint, method=method, path=path,
                    request_body=self._vault.seal(request_body, field=REQUEST), state="in_progress",
                    locked_until=lease_until,
                    created_at=now))
            return Claim("claimed")
        except IntegrityError:
            pass
        return self._existing(scope=scope, key=key, fingerprint=fingerprint, now=now, lease_until=lease_until)

    def _existing(self, *, scope: str, key: str, fingerprint: str, now: datetime,
                  lease_until: datetime) -> Claim:
        row = self._conn.execute(select(t).where(t.c.scope == scope, t.c.key == key)).mappings().one()
        if row["fingerprint"] != fingerprint:
            return Claim("mismatch", **self._stored(row, with_body=True))
        stored = self._stored(row, with_body=False)
        if row["state"] == "completed":
            sealed = row["response_body_enc"]
            body = self._vault.open_bytes(sealed, field=RESPONSE) if sealed else bytes(row["response_body"])
            return Claim("completed", StoredResponse(row["response_status"], body, row["resource_id"]), **stored)
        expired = (_aware(row["locked_until"]) or now) <= now
        if expired and self._take_over(scope=scope, key=key, seen=row["locked_until"], lease_until=lease_until):
            return Claim("claimed", **stored)
        return Claim("in_progress", **stored)

    def _stored(self, row: Any, *, with_body: bool) -> dict[str, Any]:
        """What the claim tells the caller; the first request's body is opened only when needed."""
        body = row["request_body"] if with_body else ""
        if body.startswith(f"{BLOB_VERSION}:"):  # pre-0007 rows hold canonical JSON, never this prefix
            body = self._vault.open(body, field=REQUEST)
        return {"stored_method": row["method"], "stored_path": row["path"], "stored_body": body}

    def _take_over(self, *, scope: str, key: str, seen: datetime | None, lease_until: datetime) -> bool:
        result = self._conn.execute(update(t).where(
            t.c.scope == scope, t.c.key == key, t.c.state == "in_progress", t.c.locked_until == seen,
        ).values(locked_until=lease_until))
        return result.rowcount == 1

    def complete(self, *, scope: str, key: str, response: StoredResponse, now: datetime) -> None:
        result = self._conn.execute(update(t).where(
            t.c.scope == scope, t.c.key == key, t.c.state == "in_progress",
        ).values(state="completed", response_status=response.status,
                 response_body_enc=self._vault.seal_bytes(response.body, field=RESPONSE),
                 resource_id=response.resource_id, completed_at=now, locked_until=None))
        assert result.rowcount == 1, f"idempotency key {scope}/{key} was not in progress"

    def release(self, *, scope: str, key: str) -> None:
        self._conn.execute(delete(t).where(t.c.scope == scope, t.c.key == key, t.c.state == "in_progress"))

    def count(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(t)).scalar_one())
