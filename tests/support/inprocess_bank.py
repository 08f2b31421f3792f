"""The sandbox bank's real logic behind the `BankConnector` port, in the same process.

For deterministic simulations (the model-based state machine): no sockets, no threads, one clock
shared with the hub. HTTP outcomes map onto connector errors exactly as the HTTPS connector maps
them (`yinqi.adapters.banks.sandbox`), including the fault modes: an outage is BankUnavailable,
a dropped answer after booking is BankTransportError.
"""

from __future__ import annotations

from datetime import date

from sandbox_bank.bank import SandboxBank
from yinqi.application.bank_connector import (
    BankRejectedMessage,
    BankTransportError,
    BankUnavailable,
    SubmissionReceipt,
)
from yinqi.domain.problems import DomainError


class InProcessBankConnector:
    def __init__(self, bank: SandboxBank, *, bank_id: str = "SANDBOX") -> None:
        self.bank = bank
        self.bank_id = bank_id
        self.submissions = 0

    def _available(self) -> None:
        if self.bank.faults.current.outage:
            raise BankUnavailable("outage (fault injection)", bank_id=self.bank_id, retry_after_s=1)

    def submit(self, *, message_id: str, payload: bytes) -> SubmissionReceipt:
        self._available()
        self.submissions += 1
        reply = self.bank.receive_pain001(payload)
        if self.bank.faults.take_drop():
            raise BankTransportError("answer lost after processing (fault injection)", bank_id=self.bank_id)
        if reply.http_status == 202:
            return SubmissionReceipt(self.bank_id, message_id, None, reply.duplicate)
        if reply.http_status in (400, 409, 413, 415, 422):
            xml = reply.body if reply.media_type.endswith("xml") else None
            raise BankRejectedMessage(f"HTTP {reply.http_status}", bank_id=self.bank_id, report=xml,
                                      http_status=reply.http_status)
        raise BankTransportError(f"HTTP {reply.http_status}", bank_id=self.bank_id)

    def fetch_status(self, *, message_id: str) -> bytes | None:
        self._available()
        found = self.bank.status(message_id)
        return found.report if found.state == "ready" else None

    def fetch_statement(self, *, account: str, on: date) -> bytes | None:
        self._available()
        try:
            return self.bank.statement(account, on)
        except DomainError:
            return None
