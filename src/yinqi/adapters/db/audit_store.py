"""`SqlAuditStore`: appends hash-chained audit events and reads them back with filters.

An append locks the single head row (`SELECT … FOR UPDATE` on PostgreSQL; on SQLite the unit of
work's `BEGIN IMMEDIATE` already serialises writers), seals the next event on the head's hash,
inserts it and moves the head, all in the caller's transaction: the event commits with the state
change it describes or not at all, and two concurrent writers still form one chain.

Listing is newest first with keyset pagination (`before_seq`), never OFFSET, so a page costs the
same at event 10 and at event 10 million. `iter_all` streams in seq order in chunks for verify.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, false, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from yinqi.adapters.db.bulk_insert import insert_rows
from yinqi.adapters.db.tables.audit import audit_chain_head, audit_events
from yinqi.application.audit import AuditFilter, AuditPage
from yinqi.domain.audit import GENESIS_HASH, AuditEvent, ChainCheck, ChainHead, seal, verify_chain
from yinqi.domain.ledger.chain import canonical_json, format_at, parse_at

__all__ = ["SqlAuditStore"]

_CHUNK = 1000
_E = audit_events.c


class SqlAuditStore:
    def __init__(self, conn: Connection, *, hash_key: bytes) -> None:
        self._conn = conn
        self._key = hash_key

    # --- writing ---------------------------------------------------------------------------
    def append(self, *, at: datetime, actor_id: str, actor_channel: str, source_address: str, action: str,
               object_type: str, object_id: str | None, outcome: str = "success", reason: str = "",
               before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
               company_id: str | None = None) -> AuditEvent:
        head = self._lock_head()
        event = seal(self._key, head.hash, head.seq + 1, at=at, actor_id=actor_id, actor_channel=actor_channel,
                     source_address=source_address, action=action, object_type=object_type, object_id=object_id,
                     outcome=outcome, reason=reason, before=before, after=after, company_id=company_id)
        self._conn.execute(audit_events.insert().values(**_row(event)))
        self._conn.execute(update(audit_chain_head).where(audit_chain_head.c.id == 1)
                           .values(seq=event.seq, hash=event.hash))
        return event

    def append_many(self, events: Sequence[dict[str, Any]]) -> list[AuditEvent]:
        """`append` for many events, each the keyword arguments of one `append` call: the head is
        locked and moved once, the events are sealed in sequence in Python and inserted by one
        multi-row INSERT. Same chain as appending them one by one."""
        if not events:
            return []
        head = self._lock_head()
        sealed: list[AuditEvent] = []
        prev_hash, seq = head.hash, head.seq
        for fields in events:
            seq += 1
            event = seal(self._key, prev_hash, seq, **{"outcome": "success", "reason": "", **fields})
            sealed.append(event)
            prev_hash = event.hash
        insert_rows(self._conn, audit_events, [_row(e) for e in sealed])
        self._conn.execute(update(audit_chain_head).where(audit_chain_head.c.id == 1)
                           .values(seq=sealed[-1].seq, hash=sealed[-1].hash))
        return sealed

    def _lock_head(self) -> ChainHead:
        q = select(audit_chain_head.c.seq, audit_chain_head.c.hash).where(audit_chain_head.c.id == 1)
        row = self._conn.execute(q.with_for_update()).first()
        if row is None:  # seeded by the migration; a hand-made schema may lack it
            self._conn.execute(audit_chain_head.insert().values(id=1, seq=0, hash=GENESIS_HASH))
            row = self._conn.execute(q.with_for_update()).one()
        return ChainHead(int(row[0]), bytes(row[1]))

    # --- reading ---------------------------------------------------------------------------
    def head(self) -> ChainHead:
        row = self._conn.execute(select(audit_chain_head.c.seq, audit_chain_head.c.hash)
                                 .where(audit_chain_head.c.id == 1)).first()
        return ChainHead(0, GENESIS_HASH) if row is None else ChainHead(int(row[0]), bytes(row[1]))

    def query(self, flt: AuditFilter = AuditFilter(), *, limit: int = 50,
              before_seq: int | None = None) -> AuditPage:
        limit = max(1, min(int(limit), 1000))
        conds = _conditions(flt)
        if before_seq is not None:
            conds.append(_E.seq < before_seq)
        rows = self._conn.execute(select(audit_events).where(*conds)
                                  .order_by(_E.seq.desc()).limit(limit + 1)).all()
        events = [_event(r._mapping) for r in rows[:limit]]
        return AuditPage(events, events[-1].seq if len(rows) > limit else None)

    def get(self, seq: int) -> AuditEvent | None:
        row = self._conn.execute(select(audit_events).where(_E.seq == seq)).first()
        return None if row is None else _event(row._mapping)

    def verify_chain(self) -> ChainCheck:
        """The head is read first: every event it counts was committed with it, so events appended
        while the walk runs are checked by the chain and never mistaken for tampering."""
        head = self.head()
        return verify_chain(self._key, self.iter_all(), head=head)

    def iter_all(self) -> Iterator[AuditEvent]:
        """Every event in seq order, read in keyset chunks (memory stays flat)."""
        last = 0
        while True:
            rows = self._conn.execute(select(audit_events).where(_E.seq > last)
                                      .order_by(_E.seq).limit(_CHUNK)).all()
            for r in rows:
                yield _event(r._mapping)
            if len(rows) < _CHUNK:
                return
            last = int(rows[-1].seq)


def _row(event: AuditEvent) -> dict[str, Any]:
    return {"seq": event.seq, "at_utc": format_at(event.at), "actor_id": event.actor_id,
            "actor_channel": event.actor_channel, "source_address": event.source_address, "action": event.action,
            "object_type": event.object_type, "object_id": event.object_id, "outcome": event.outcome,
            "reason": event.reason, "before_json": None if event.before is None else canonical_json(event.before),
            "after_json": None if event.after is None else canonical_json(event.after),
            "company_id": event.company_id, "prev_hash": event.prev_hash, "hash": event.hash}


def _conditions(flt: AuditFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if flt.actor_id:
        conds.append(_E.actor_id == flt.actor_id)
    if flt.action_prefix:
        esc = flt.action_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conds.append(_E.action.like(esc + "%", escape="\\"))
    if flt.object_id:
        conds.append(_E.object_id == flt.object_id)
    if flt.outcome:
        conds.append(_E.outcome == flt.outcome)
    if flt.since is not None:
        conds.append(_E.at_utc >= format_at(flt.since))
    if flt.until is not None:
        conds.append(_E.at_utc < format_at(flt.until))
    if flt.company_id:
        conds.append(_E.company_id == flt.company_id)
    if flt.company_ids is not None:
        fence: list[ColumnElement[bool]] = [_E.company_id.in_(sorted(flt.company_ids))] if flt.company_ids else []
        if flt.include_no_company:
            fence.append(_E.company_id.is_(None))
        conds.append(or_(false(), *fence))
    return conds


_UNREADABLE = {"__unreadable__": True}  # a stored value no writer produced: its hash cannot match


def _event(m: Any) -> AuditEvent:
    try:
        at = parse_at(m["at_utc"])
    except (TypeError, ValueError):
        at = datetime.min.replace(tzinfo=UTC)
    return AuditEvent(seq=int(m["seq"]), at=at, actor_id=m["actor_id"], actor_channel=m["actor_channel"],
                      source_address=m["source_address"], action=m["action"], object_type=m["object_type"],
                      object_id=m["object_id"], outcome=m["outcome"], reason=m["reason"],
                      before=_json(m["before_json"]), after=_json(m["after_json"]), company_id=m["company_id"],
                      prev_hash=bytes(m["prev_hash"]), hash=bytes(m["hash"]))


def _json(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return dict(_UNREADABLE)
    return value if isinstance(value, dict) else dict(_UNREADABLE)
