"""The bank connector (银企直联): how the hub talks to one bank, whatever the bank's transport.

A connector moves opaque, already-built and already-validated ISO 20022 documents; it does not
build pain.001, read pain.002 or match statements (that is `adapters/iso20022` and the use
cases). So a new bank is one module: a class with these four members, its errors mapped onto the
three below, and a line in `bootstrap.py`.

The protocol
------------
``bank_id: str``
    Stable name of the bank/channel (e.g. "SANDBOX"); stored with every submission.

``submit(*, message_id, payload) -> SubmissionReceipt``
    Hand one pain.001 to the bank. `message_id` is the document's GrpHdr/MsgId, and it is the
    idempotency key: submitting the same MsgId with the same payload again must be safe and
    answer like the first time (the bank deduplicates; a connector for a bank that does not must
    deduplicate itself before sending). `receipt.duplicate` tells that the bank had it already.

``fetch_status(*, message_id) -> bytes | None``
    The bank's pain.002 for that message, or None while the bank has none to give (not yet
    produced, or the bank does not know the message).

``fetch_statement(*, account, on) -> bytes | None``
    The camt.053 (or the bank's equivalent) of `account` for day `on`, or None if not available.

Errors (all `BankError`, a `DomainError` with a `retryable` flag; anything else is a bug):

============================  ======================  =========  =====================================
error                         code                    retryable  what the hub does
============================  ======================  =========  =====================================
BankUnavailable               BANK_UNAVAILABLE        yes        wait `retry_after_s` (if given), retry;
                                                                 nothing reached the bank's books
BankTransportError            BANK_TRANSPORT          yes        outcome UNKNOWN: resubmit the SAME
                                                                 MsgId + payload, never a new one
BankRejectedMessage           BANK_MESSAGE_REJECTED   no         the whole file was refused; `report`
                                                                 holds the bank's pain.002 (if any)
============================  ======================  =========  =====================================

Per-transaction rejections (AM04, AC01 ...) are not errors: they arrive in the pain.002.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar, Protocol, runtime_checkable

from yinqi.domain.problems import DomainError


@dataclass(frozen=True, slots=True)
class SubmissionReceipt:
    """The bank's acknowledgement that it holds the message (not that it will pay it)."""

    bank_id: str
    message_id: str
    received_at: datetime | None
    duplicate: bool = False


class BankError(DomainError):
    code = "BANK_ERROR"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, bank_id: str, rule: str = "", value: object = None) -> None:
        super().__init__(f"{bank_id}: {message}", where=bank_id, rule=rule, value=value)
        self.bank_id = bank_id


class BankUnavailable(BankError):
    """The bank did not take the request (maintenance, overload, connection refused).
    `retry_after_s` is the bank's Retry-After in whole seconds, when it gave one."""

    code = "BANK_UNAVAILABLE"
    retryable = True

    def __init__(self, message: str, *, bank_id: str, retry_after_s: int | None = None,
                 rule: str = "unavailable") -> None:
        super().__init__(message, bank_id=bank_id, rule=rule, value=retry_after_s)
        self.retry_after_s = retry_after_s


class BankTransportError(BankError):
    """The exchange broke after the request may have reached the bank: the outcome is unknown."""

    code = "BANK_TRANSPORT"
    retryable = True


class BankRejectedMessage(BankError):
    """The bank refused the message as a whole (schema, rules, duplicate MsgId with new content).
    `status_report` (alias `report`) is the bank's pain.002 saying why, when it sent one."""

    code = "BANK_MESSAGE_REJECTED"
    retryable = False

    def __init__(self, message: str, *, bank_id: str, report: bytes | None = None,
                 http_status: int | None = None) -> None:
        super().__init__(message, bank_id=bank_id, rule="bank_rejected", value=http_status)
        self.status_report = report
        self.http_status = http_status

    @property
    def report(self) -> bytes | None:
        return self.status_report


@runtime_checkable
class BankConnector(Protocol):
    bank_id: str

    def submit(self, *, message_id: str, payload: bytes) -> SubmissionReceipt:
        """Raises BankUnavailable, BankTransportError, BankRejectedMessage."""
        ...

    def fetch_status(self, *, message_id: str) -> bytes | None:
        """Raises BankUnavailable, BankTransportError."""
        ...

    def fetch_statement(self, *, account: str, on: date) -> bytes | None:
        """Raises BankUnavailable, BankTransportError."""
        ...
