"""Ports: what the use cases need from the outside world, as Protocols.

Use cases receive a unit of work and a clock; they never open connections or read the time.
The concrete adapters live in `yinqi.adapters` and are wired in `yinqi.bootstrap`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from yinqi.domain.bank_messages import CreditTransferMessage, StatementFile, StatusReport
from yinqi.domain.money import Money


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class Ledger(Protocol):
    """The double-entry ledger, bound to the unit of work's transaction.

    Posting amounts are signed: positive is a debit, negative a credit. Every posting set must sum
    to zero per currency. Raises (codes): LEDGER_UNBALANCED, LEDGER_ACCOUNT_UNKNOWN,
    LEDGER_CURRENCY_MISMATCH, INSUFFICIENT_FUNDS, LEDGER_IDEMPOTENCY_CONFLICT, ALREADY_REVERSED.
    """

    def ensure_account(self, *, code: str, currency: str, kind: str, allow_overdraft: bool = True,
                       name: str = "") -> None: ...

    def post(self, *, idempotency_key: str, postings: Sequence[tuple[str, Money]], memo: str,
             actor: str, at: datetime, metadata: dict[str, Any] | None = None) -> int:
        """Append one transaction; returns its sequence number. Same key + same content returns
        the original sequence number; same key + other content raises the conflict error."""
        ...

    def reverse(self, *, seq: int, idempotency_key: str, actor: str, at: datetime, reason: str) -> int: ...

    def balance(self, code: str) -> Money: ...


class MessageCodec(Protocol):
    """Bank message formats (ISO 20022 today, MT940 next): version-free data in, bytes out, and back.

    Writers are strict (every message validated against its official schema before it leaves);
    readers are tolerant (real bank files break their schemas) and raise typed DomainErrors only.
    """

    def write_credit_transfers(self, message: CreditTransferMessage, *, version: str) -> bytes: ...

    def read_status_report(self, data: bytes, *, source: str) -> StatusReport: ...

    def read_statements(self, data: bytes, *, source: str) -> StatementFile: ...


class AccountVault(Protocol):
    """Encryption at rest for account numbers and the documents that carry them (R19).

    `field` names the column a value belongs to (`"<table>.<column>"`): a sealed value opens only
    as that field. `blind_index` is a keyed hash of the normalised value for equality lookups; it
    does not change when data keys rotate. Opening raises FIELD_KEY_UNKNOWN, FIELD_KEY_RETIRED or
    FIELD_CIPHERTEXT_INVALID (tampered, or moved to another column).
    """

    @property
    def active_key_id(self) -> str: ...

    def seal(self, value: str, *, field: str) -> str: ...

    def open(self, blob: str, *, field: str) -> str: ...

    def seal_bytes(self, data: bytes, *, field: str) -> str: ...

    def open_bytes(self, blob: str, *, field: str) -> bytes: ...

    def blind_index(self, value: str) -> str: ...
