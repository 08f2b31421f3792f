"""The ISO 20022 implementation of the application's `MessageCodec` port."""

from __future__ import annotations

from yinqi.adapters.iso20022.camt_reader import read_statements
from yinqi.adapters.iso20022.pain001_writer import write_pain001
from yinqi.adapters.iso20022.pain002_reader import read_pain002
from yinqi.domain.bank_messages import CreditTransferMessage, StatementFile, StatusReport


class Iso20022Codec:
    def write_credit_transfers(self, message: CreditTransferMessage, *, version: str) -> bytes:
        return write_pain001(message, version=version)

    def read_status_report(self, data: bytes, *, source: str) -> StatusReport:
        return read_pain002(data, source=source)

    def read_statements(self, data: bytes, *, source: str) -> StatementFile:
        return read_statements(data, source=source)
