"""Read a CSV order file: UTF-8 (with or without BOM), comma or semicolon, one order per row.

The delimiter is whichever of `,` and `;` the header line uses more. The first row names the
columns (`columns.COLUMNS`, layout in docs/formats/orders-csv.md). Amounts stay decimal text all
the way to `Money.parse`: never a float. Rows are numbered as a spreadsheet shows them (the header
is row 1, so the first order is "row 2"); blank rows are skipped but keep their number.

`read_orders_csv` checks the encoding and the header at once (OrderFileInvalid), then yields
`(where, CreateOrder | list[Problem])` per row, each problem naming its column.

>>> rows = list(read_orders_csv(
...     b"serial;amount;currency;requested_execution_date;payer_name;payer_iban;payee_name;payee_iban;"
...     b"payee_country\\nS-1;12.30;EUR;2030-01-10;Acme;DE89370400440532013000;F;FR1420041010050500013M02606;FR\\n"
...     b"S-2;1;EUR;10.01.2030;Acme;DE89370400440532013000;F;FR1420041010050500013M02606;FR\\n", company_id="ACME"))
>>> rows[0][0], rows[0][1].serial
('row 2', 'S-1')
>>> rows[1][0], [(p.where, p.rule) for p in rows[1][1]]
('row 3', [('requested_execution_date', 'iso_date')])
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from yinqi.adapters.files.columns import OrderFileInvalid, check_header, command_from_cells, date_problem
from yinqi.application.import_report import Row
from yinqi.domain.orders.commands import CreateOrder
from yinqi.domain.problems import Problem

__all__ = ["count_orders_csv", "read_orders_csv"]


def read_orders_csv(data: bytes, *, company_id: str) -> Iterator[Row]:
    """Check the file's encoding and header, then iterate its rows.

    Raises:
        OrderFileInvalid (ORDER_FILE_INVALID): not UTF-8, no header, a bad header.
    """
    records = _records(data)
    try:
        header = check_header(next(records, []))
    except csv.Error as exc:
        raise _unreadable(1, exc) from None
    return _rows(records, header, company_id)


def count_orders_csv(data: bytes) -> int:
    """The number of non-blank data rows (the job's total), reading the whole file once.

    Raises:
        OrderFileInvalid (ORDER_FILE_INVALID): not UTF-8, or a row the CSV reader cannot read.
    """
    records = _records(data)
    count, number = 0, 0
    try:
        for number, record in enumerate(records, start=1):
            count += number > 1 and any(c.strip() for c in record)
    except csv.Error as exc:
        raise _unreadable(number + 1, exc) from None
    return count


def _records(data: bytes) -> Iterator[list[str]]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data[:exc.start].count(b"\n") + 1
        raise OrderFileInvalid([Problem("FILE_ENCODING", f"byte {exc.start} is not UTF-8 ({exc.reason}); "
                                        "save the file as UTF-8", where=f"row {row}", rule="utf8",
                                        value=data[exc.start:exc.start + 4].hex())]) from None


def _unreadable(row: int, exc: csv.Error) -> OrderFileInvalid:
    return OrderFileInvalid([Problem("CSV_INVALID", f"the CSV reader stopped: {exc}", where=f"row {row}",
                                     rule="csv_syntax")])


def _rows(records: Iterator[list[str]], header: list[str], company_id: str) -> Iterator[Row]:
    for number, record in enumerate(records, start=2):
        if not any(c.strip() for c in record):
            continue
        yield f"row {number}", _row(record, header, company_id)


def _row(record: list[str], header: list[str], company_id: str) -> CreateOrder | list[Problem]:
    extra = record[len(header):]
    if any(c.strip() for c in extra):
        return [Problem("ROW_TOO_LONG", f"the row has {len(record)} cells but the header names {len(header)} columns",
                        where="cells", rule="cells_match_header", value=str(len(record)))]
    cells = dict(zip(header, record, strict=False))
    try:
        return command_from_cells(cells, company_id=company_id)
    except ValueError:
        return [date_problem(cells.get("requested_execution_date", ""))]
