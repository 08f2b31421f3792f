"""Receiving a pain.001: validate, deduplicate on MsgId, book, and answer.

What it guarantees (RELIABILITY.md R2): a message id is processed once. Every copy is recorded
in `sb_receipt`, but only the first is booked; a later copy with the same content is answered
with the original answer (`duplicate: true` in the ack), which is what makes a client's retry
after a lost response safe. A copy with the same MsgId and different content is refused with a
group RJCT DU01 and changes nothing. "Same content" means the same parsed message apart from its
creation time (CreDtTm), so a client that re-serialises the same payment is not punished.

A document that fails the XSD or the pain.001 rules is refused with HTTP 400 and a group RJCT
FF01 pain.002 when its MsgId can be read (that refusal is stored and replayed like any answer),
or a plain JSON error when it cannot.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from sandbox_bank import store
from sandbox_bank.clearing import aggregate_status, clear_message
from sandbox_bank.faults import Faults
from yinqi.adapters.iso20022 import safexml
from yinqi.adapters.iso20022.model import CreditTransferMessage, PaymentStatus, StatusReport
from yinqi.adapters.iso20022.pain001_reader import read_pain001
from yinqi.adapters.iso20022.pain002_writer import write_pain002
from yinqi.domain.problems import DomainError

XML = "application/xml"
JSON = "application/json"
_ATTEMPTS_MAX = 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PAIN001_NS = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:(pain\.001\.001\.\d\d)")


@dataclass(frozen=True, slots=True)
class Reply:
    """The bank's answer to one submission."""

    http_status: int
    body: bytes
    media_type: str
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Intake:
    engine: Engine
    bank_name: str

    def receive(self, data: bytes, *, faults: Faults, now: datetime) -> Reply:
        """Validate, deduplicate and book one pain.001 document."""
        try:
            msg = read_pain001(data, source="pain.001")
        except DomainError as exc:
            return self._invalid(data, exc, now=now)
        digest = content_digest(msg)
        version = _pain001_version(data)
        return self._transact(lambda conn: self._receive_valid(
            conn, msg, digest=digest, version=version, faults=faults, now=now))

    # --- valid documents ----------------------------------------------------------------------
    def _receive_valid(self, conn: Connection, msg: CreditTransferMessage, *, digest: str,
                       version: str, faults: Faults, now: datetime) -> Reply:
        seen = self._seen(conn, msg.message_id, digest, version=version, now=now)
        if seen is not None:
            return seen
        receipt_id = _record_receipt(conn, msg.message_id, "first", now)
        payments = clear_message(conn, msg, faults=faults, now=now)
        report = self._report(receipt_id, msg.message_id, version, payments, now=now)
        group = report.group_status or "RJCT"
        self._store(conn, msg.message_id, digest, 202, group, write_pain002(
            report, version=report_version_for(version), reporting_party=self.bank_name), now=now,
            available_at=now + timedelta(milliseconds=faults.status_delay_ms))
        return _ack(msg.message_id, now, duplicate=False)

    def _report(self, receipt_id: int, msg_id: str, version: str, payments: tuple[PaymentStatus, ...],
                *, now: datetime) -> StatusReport:
        group = aggregate_status([t.status or "RJCT" for p in payments for t in p.transactions])
        return StatusReport(message_id=report_id(receipt_id), created_at=now, original_message_id=msg_id,
                            original_message_type=version, group_status=group, payments=payments)

    # --- invalid documents --------------------------------------------------------------------
    def _invalid(self, data: bytes, exc: DomainError, *, now: datetime) -> Reply:
        msg_id = readable_message_id(data)
        if msg_id is None:
            body = json.dumps({"code": exc.code, "message": exc.message, "where": exc.where})
            return Reply(400, body.encode(), JSON)
        version = _pain001_version(data)
        digest = hashlib.sha256(data).hexdigest()
        return self._transact(lambda conn: self._receive_invalid(
            conn, msg_id, exc, digest=digest, version=version, now=now))

    def _receive_invalid(self, conn: Connection, msg_id: str, exc: DomainError, *, digest: str,
                         version: str, now: datetime) -> Reply:
        seen = self._seen(conn, msg_id, digest, version=version, now=now)
        if seen is not None:
            return seen
        receipt_id = _record_receipt(conn, msg_id, "first", now)
        report = self._group_reject(receipt_id, msg_id, version, "FF01", f"{exc.code}: {exc.message}",
                                    now=now)
        self._store(conn, msg_id, digest, 400, "RJCT", report, now=now, available_at=now)
        return Reply(400, report, XML)

    # --- duplicates ---------------------------------------------------------------------------
    def _seen(self, conn: Connection, msg_id: str, digest: str, *, version: str,
              now: datetime) -> Reply | None:
        row = conn.execute(select(store.message).where(store.message.c.msg_id == msg_id)).first()
        if row is None:
            return None
        if row.digest != digest:
            receipt_id = _record_receipt(conn, msg_id, "conflict", now)
            body = self._group_reject(receipt_id, msg_id, version, "DU01",
                                      "MsgId already received with different content", now=now)
            return Reply(409, body, XML)
        _record_receipt(conn, msg_id, "duplicate", now)
        if row.http_status == 202:
            original = json.loads(row.ack)
            return Reply(202, json.dumps({**original, "duplicate": True}).encode(), JSON, duplicate=True)
        return Reply(row.http_status, bytes(row.report), XML, duplicate=True)

    def _group_reject(self, receipt_id: int, msg_id: str, version: str, code: str, info: str, *,
                      now: datetime) -> bytes:
        report = StatusReport(message_id=report_id(receipt_id), created_at=now, original_message_id=msg_id,
                              original_message_type=version, group_status="RJCT", group_reason_code=code)
        return write_pain002(report, version=report_version_for(version), reporting_party=self.bank_name,
                             group_additional_info=info)

    def _store(self, conn: Connection, msg_id: str, digest: str, http_status: int, group: str,
               report: bytes, *, now: datetime, available_at: datetime) -> None:
        ack = json.dumps({"msg_id": msg_id, "received_at": now.isoformat()}) if http_status == 202 else None
        conn.execute(store.message.insert().values(
            msg_id=msg_id, digest=digest, received_at=store.stamp(now), http_status=http_status,
            group_status=group, ack=ack, report=report, report_available_at=store.stamp(available_at)))

    def _transact(self, work: Callable[[Connection], Reply]) -> Reply:
        """Run `work` in one transaction; a concurrent first copy (unique msg_id) means retry,
        and the retry then sees the winner's row and answers as a duplicate. PostgreSQL deadlocks
        (two messages paying each other's accounts) are retried the same way."""
        for attempt in range(_ATTEMPTS_MAX):
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except DBAPIError as exc:
                if attempt == _ATTEMPTS_MAX - 1 or not _retryable(exc):
                    raise
        raise AssertionError("unreachable")


def _retryable(exc: DBAPIError) -> bool:
    return isinstance(exc, IntegrityError) or getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


def _ack(msg_id: str, received_at: datetime, *, duplicate: bool) -> Reply:
    body: dict[str, Any] = {"msg_id": msg_id, "received_at": received_at.isoformat(), "duplicate": duplicate}
    return Reply(202, json.dumps(body).encode(), JSON, duplicate=duplicate)


def _record_receipt(conn: Connection, msg_id: str, kind: str, now: datetime) -> int:
    result = conn.execute(store.receipt.insert().values(msg_id=msg_id, received_at=store.stamp(now), kind=kind)
                          .returning(store.receipt.c.id))
    return int(result.scalar_one())


def report_id(receipt_id: int) -> str:
    return f"SANDBOX-STS-{receipt_id:010d}"


def report_version_for(pain001_version: str) -> str:
    """pain.002 version answering a pain.001 version: .03 for .03, the newest shipped otherwise."""
    return "pain.002.001.03" if pain001_version == "pain.001.001.03" else "pain.002.001.12"


def content_digest(msg: CreditTransferMessage) -> str:
    """Digest of what the message instructs, ignoring its creation time."""
    return hashlib.sha256(repr(replace(msg, created_at=_EPOCH)).encode()).hexdigest()


def readable_message_id(data: bytes) -> str | None:
    """GrpHdr/MsgId of a document that failed validation, if it is well-formed enough to tell."""
    try:
        root = safexml.parse_bytes(data, source="pain.001")
    except DomainError:
        return None
    found = root.xpath("/*/*/*[local-name()='GrpHdr']/*[local-name()='MsgId']/text()")
    text = str(found[0]).strip() if found else ""
    return text if 0 < len(text) <= 35 else None


def _pain001_version(data: bytes) -> str:
    found = _PAIN001_NS.search(data[:4096])
    return found.group(1).decode() if found else "pain.001"
