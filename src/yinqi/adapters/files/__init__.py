"""Order files from outside (CSV, XLSX, pain.001) read into `OrderFile`s for `application.intake`.

`read_order_file` is the one entry: it picks the format (given, else from the file name's
extension, else from the content: a zip is XLSX, an XML root in a pain.001 namespace is pain.001,
anything else is tried as CSV), enforces the size limit before reading, and turns a file that
cannot be read at all into an `OrderFile` with `problems` (refused whole, nothing stored) rather
than an exception, so every channel reports it the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import PurePath

from yinqi.adapters.files.columns import FIELD_COLUMNS, OrderFileInvalid
from yinqi.adapters.files.orders_csv import count_orders_csv, read_orders_csv
from yinqi.adapters.files.orders_xlsx import count_orders_xlsx, read_orders_xlsx
from yinqi.adapters.iso20022.pain001_orders import FIELD_ELEMENTS, read_pain001_orders
from yinqi.application.import_report import OrderFile, Row
from yinqi.domain.problems import DomainError, Problem

__all__ = ["FORMATS", "MAX_FILE_BYTES", "OrderFileInvalid", "detect_format", "read_order_file"]

FORMATS = ("csv", "xlsx", "pain001")
MAX_FILE_BYTES = 64 * 1024 * 1024
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xml": "pain001"}


def detect_format(data: bytes, file_name: str = "") -> str:
    """csv, xlsx or pain001: from the extension when it is one of ours, else from the content."""
    by_name = _EXTENSIONS.get(PurePath(file_name).suffix.lower())
    if by_name:
        return by_name
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if head.startswith(b"<") and b"pain.001" in head:
        return "pain001"
    return "csv"


def read_order_file(data: bytes, *, file_name: str, company_id: str, format: str | None = None) -> OrderFile:
    """The parsed file; its `problems` say why it is refused as a whole, if it is."""
    fmt = (format or detect_format(data, file_name)).lower()
    sha = hashlib.sha256(data).hexdigest()
    if fmt not in FORMATS:
        return _refused(fmt, file_name, sha, [Problem("FORMAT_UNKNOWN", f"format must be one of {', '.join(FORMATS)}",
                                                       where="file", rule="known_format", value=fmt)])
    if len(data) > MAX_FILE_BYTES:
        return _refused(fmt, file_name, sha, [Problem("FILE_TOO_LARGE", f"{len(data)} bytes exceeds the limit of "
                                                       f"{MAX_FILE_BYTES}", where="file", rule="max_size")])
    try:
        if fmt == "pain001":
            return _pain001(data, file_name=file_name, company_id=company_id, sha=sha)
        return _table(data, fmt=fmt, file_name=file_name, company_id=company_id, sha=sha)
    except DomainError as exc:
        problems = getattr(exc, "problems", None) or [exc.as_problem()]
        return _refused(fmt, file_name, sha, list(problems))


def _table(data: bytes, *, fmt: str, file_name: str, company_id: str, sha: str) -> OrderFile:
    read: Callable[..., Iterable[Row]] = read_orders_csv if fmt == "csv" else read_orders_xlsx
    count = count_orders_csv if fmt == "csv" else count_orders_xlsx
    read(data, company_id=company_id)  # the header, checked now rather than in the middle of the job
    return OrderFile(format=fmt, file_name=file_name, sha256=sha, total=count(data), field_names=FIELD_COLUMNS,
                     rows=lambda: read(data, company_id=company_id))


def _pain001(data: bytes, *, file_name: str, company_id: str, sha: str) -> OrderFile:
    orders = read_pain001_orders(data, company_id=company_id, source=file_name or "pain.001")
    return OrderFile(format="pain001", file_name=file_name, sha256=sha, total=orders.total,
                     message_id=orders.message_id, field_names=FIELD_ELEMENTS, rows=orders.rows)


def _refused(fmt: str, file_name: str, sha: str, problems: list[Problem]) -> OrderFile:
    return OrderFile(format=fmt, file_name=file_name, sha256=sha, total=0, rows=lambda: (),
                     problems=tuple(problems))

