"""The bank-message implementation of the application's `MessageCodec` port.

Statements arrive as ISO 20022 XML (camt.052/053/054) or SWIFT MT940/MT942 text; `read_statements`
looks at the first meaningful byte and dispatches, so callers (CLI, API, file drop) never choose.
"""

from __future__ import annotations

from yinqi.adapters.iso20022.camt_reader import read_statements
from yinqi.adapters.iso20022.pain001_writer import write_pain001
from yinqi.adapters.iso20022.pain002_reader import read_pain002
from yinqi.adapters.swift.mt940_reader import read_mt940
from yinqi.domain.bank_messages import CreditTransferMessage, StatementFile, StatusReport


def statement_format(data: bytes) -> str:
    """"xml" when the content starts with '<' (after a BOM and white space), else "mt940".

    >>> statement_format(b"\\xef\\xbb\\xbf  <?xml version='1.0'?><Document/>"), statement_format(b":20:X")
    ('xml', 'mt940')
    """
    head = bytes(data[:4096]).removeprefix(b"\xef\xbb\xbf").lstrip()
    return "xml" if head.startswith(b"<") else "mt940"


def read_any_statements(data: bytes, *, source: str) -> StatementFile:
    """Raises: XmlRejected / CamtInvalid for XML, Mt940Invalid (MT940_INVALID) for MT940/942."""
    if statement_format(data) == "xml":
        return read_statements(data, source=source)
    return read_mt940(data, source=source)


class Iso20022Codec:
    def write_credit_transfers(self, message: CreditTransferMessage, *, version: str) -> bytes:
        return write_pain001(message, version=version)

    def read_status_report(self, data: bytes, *, source: str) -> StatusReport:
        return read_pain002(data, source=source)

    def read_statements(self, data: bytes, *, source: str) -> StatementFile:
        return read_any_statements(data, source=source)
