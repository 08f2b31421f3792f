"""Where sealed values live, and the storage half of a key rotation (R19).

`SEALED_COLUMNS` lists every column that holds a vault blob (`v1:<key_id>:…`); its field name,
the associated data the blob is bound to, is `"<table>.<column>"`. A store that seals a new column
is listed here (or adds it with `register`), so rotation and `keys list` cover it without change.

`reseal_batch` rewrites up to N blobs that are not yet under the target key: each is opened and
sealed again under the vault's active key, and written back only if the row still holds the blob
that was read (compare-and-set), so a concurrent update is never overwritten with stale data and
a row is never sealed twice. A batch is one transaction: a rotation killed between batches leaves
every row either under the old key or under the new one, and the next run skips the latter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, Table, func, insert, select, update

from yinqi.adapters.crypto.field_encryption import BLOB_VERSION
from yinqi.adapters.db.tables.bank_messages import bank_messages
from yinqi.adapters.db.tables.beneficiaries import beneficiaries, beneficiary_changes
from yinqi.adapters.db.tables.field_keys import field_key_rotations as rot
from yinqi.adapters.db.tables.idempotency import idempotency_keys
from yinqi.adapters.db.tables.orders import payment_orders
from yinqi.adapters.db.tables.statements import bank_statements
from yinqi.application.keys import Rotation
from yinqi.application.ports import AccountVault


@dataclass(frozen=True, slots=True)
class SealedColumn:
    table: Table
    name: str

    @property
    def field(self) -> str:
        return f"{self.table.name}.{self.name}"

    @property
    def column(self) -> Column[Any]:
        return self.table.c[self.name]


SEALED_COLUMNS: list[SealedColumn] = [
    SealedColumn(payment_orders, "payer_account_enc"),
    SealedColumn(payment_orders, "payee_account_enc"),
    SealedColumn(bank_messages, "debtor_account_enc"),
    SealedColumn(bank_messages, "payload_enc"),
    SealedColumn(bank_messages, "status_report_enc"),
    SealedColumn(idempotency_keys, "request_body"),
    SealedColumn(idempotency_keys, "response_body_enc"),
    SealedColumn(bank_statements, "account_enc"),
    SealedColumn(beneficiaries, "account_enc"),
    SealedColumn(beneficiary_changes, "new_account_enc"),  # append-only, but re-sealing is let through
    SealedColumn(beneficiary_changes, "old_account_enc"),
]


def register(table: Table, column: str) -> None:
    """Add a column holding vault blobs (idempotent). A rotation rewrites the blob in place: the
    table must let that UPDATE through (append-only tables allow it for their sealed columns only)."""
    sealed = SealedColumn(table, column)
    if sealed not in SEALED_COLUMNS:
        SEALED_COLUMNS.append(sealed)


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=UTC)


class SqlFieldKeyStore:
    def __init__(self, conn: Connection, vault: AccountVault) -> None:
        self._conn = conn
        self._vault = vault

    # --- rotation requests ----------------------------------------------------------------------
    def add_rotation(self, *, rotation_id: str, from_key_id: str, requested_by: str, at: datetime) -> Rotation:
        self._conn.execute(insert(rot).values(id=rotation_id, status="requested", from_key_id=from_key_id,
                                              requested_by=requested_by, requested_at=at, resealed=0))
        found = self.rotation(rotation_id)
        assert found is not None
        return found

    def rotation(self, rotation_id: str, *, for_update: bool = False) -> Rotation | None:
        query = select(rot).where(rot.c.id == rotation_id)
        if for_update and self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._conn.execute(query).mappings().first()
        return _rotation(row) if row else None

    def rotations(self, *, limit: int = 50) -> list[Rotation]:
        rows = self._conn.execute(select(rot).order_by(rot.c.requested_at.desc()).limit(limit)).mappings()
        return [_rotation(r) for r in rows]

    def approve(self, rotation_id: str, *, approved_by: str, to_key_id: str, at: datetime) -> bool:
        """requested → running, naming the new key. False if it was not waiting any more."""
        result = self._conn.execute(update(rot).where(rot.c.id == rotation_id, rot.c.status == "requested")
                                    .values(status="running", approved_by=approved_by, approved_at=at,
                                            to_key_id=to_key_id))
        return result.rowcount == 1

    def add_progress(self, rotation_id: str, resealed: int) -> None:
        self._conn.execute(update(rot).where(rot.c.id == rotation_id)
                           .values(resealed=rot.c.resealed + resealed))

    def complete(self, rotation_id: str, *, at: datetime) -> None:
        self._conn.execute(update(rot).where(rot.c.id == rotation_id, rot.c.status == "running")
                           .values(status="completed", completed_at=at))

    # --- the sealed values ---------------------------------------------------------------------
    def count_by_key(self) -> dict[str, int]:
        """How many stored blobs each key id seals, over every sealed column."""
        counts: dict[str, int] = {}
        prefix = len(BLOB_VERSION) + 2  # 1-based position after "v1:"
        for sealed in SEALED_COLUMNS:
            col = sealed.column
            rest = func.substr(col, prefix, 18)  # key ids are at most 17 characters
            rows = self._conn.execute(select(rest, func.count()).where(col.like(f"{BLOB_VERSION}:%"))
                                      .group_by(rest))
            for head, n in rows:
                key_id = str(head).split(":", 1)[0]
                counts[key_id] = counts.get(key_id, 0) + int(n)
        return counts

    def count_not_under(self, key_id: str) -> int:
        return sum(int(self._conn.execute(select(func.count()).where(*self._stale(s, key_id))).scalar_one())
                   for s in SEALED_COLUMNS)

    def reseal_batch(self, *, to_key_id: str, limit: int) -> int:
        """Seal up to `limit` blobs not under `to_key_id` again under it; returns how many."""
        if self._vault.active_key_id != to_key_id:
            raise RuntimeError(f"the active field key is {self._vault.active_key_id}, not {to_key_id}")
        done = 0
        for sealed in SEALED_COLUMNS:
            if done >= limit:
                break
            done += self._reseal_column(sealed, to_key_id, limit - done)
        return done

    def _reseal_column(self, sealed: SealedColumn, to_key_id: str, limit: int) -> int:
        pk = list(sealed.table.primary_key.columns)
        rows = self._conn.execute(select(*pk, sealed.column).where(*self._stale(sealed, to_key_id))
                                  .order_by(*pk).limit(limit)).all()
        done = 0
        for row in rows:
            old = row[-1]
            new = self._vault.seal_bytes(self._vault.open_bytes(old, field=sealed.field), field=sealed.field)
            key = [c == v for c, v in zip(pk, row[:-1], strict=True)]
            result = self._conn.execute(update(sealed.table).where(*key, sealed.column == old)
                                        .values({sealed.name: new}))
            done += result.rowcount
        return done

    @staticmethod
    def _stale(sealed: SealedColumn, key_id: str) -> list[Any]:
        col = sealed.column
        return [col.like(f"{BLOB_VERSION}:%"), ~col.like(f"{BLOB_VERSION}:{key_id}:%")]


def _rotation(row: Any) -> Rotation:
    return Rotation(id=row["id"], status=row["status"], from_key_id=row["from_key_id"], to_key_id=row["to_key_id"],
                    requested_by=row["requested_by"], requested_at=_aware(row["requested_at"]),  # type: ignore[arg-type]
                    approved_by=row["approved_by"], approved_at=_aware(row["approved_at"]),
                    completed_at=_aware(row["completed_at"]), resealed=int(row["resealed"]))
