"""Read an Excel (.xlsx) order file: the first sheet, the same columns as the CSV layout.

openpyxl runs in read-only mode (rows streamed, formulas read as their cached values). Cells are
turned into text before the domain sees them: text as is; whole numbers (an account number typed
as a number) without a decimal part; dates as YYYY-MM-DD. A numeric amount goes through
`Decimal(str(cell))` (the shortest text that round-trips the float Excel stored) and must not hold
more decimals than its currency has: 12.345 EUR is an error naming the cell, never rounded, and
0.1 + 0.2 typed as a formula shows up as 0.30000000000000004, an error too, not a silent 0.30.

Rows are numbered as Excel shows them (the header is row 1).

Raises (`read_orders_xlsx`): OrderFileInvalid (ORDER_FILE_INVALID): not an xlsx workbook, no
sheet, or a bad header row.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl import load_workbook  # type: ignore[import-untyped]

from yinqi.adapters.files.columns import OrderFileInvalid, check_header, command_from_cells, date_problem
from yinqi.application.import_report import Row
from yinqi.domain.currency import Currency
from yinqi.domain.orders.commands import CreateOrder
from yinqi.domain.problems import DomainError, Problem

__all__ = ["count_orders_xlsx", "read_orders_xlsx"]


def read_orders_xlsx(data: bytes, *, company_id: str) -> Iterator[Row]:
    """Check the workbook and its header row, then iterate the first sheet's rows."""
    values = _values(data)
    try:
        header = check_header(next(values, ()))
    except OrderFileInvalid:
        raise
    except Exception as exc:  # openpyxl raises many kinds on a damaged sheet
        raise _unreadable(exc) from None
    return _rows(values, header, company_id)


def count_orders_xlsx(data: bytes) -> int:
    """The number of non-blank data rows of the first sheet (the job's total)."""
    try:
        return sum(1 for i, v in enumerate(_values(data)) if i and _filled(v))
    except OrderFileInvalid:
        raise
    except Exception as exc:
        raise _unreadable(exc) from None


def _values(data: bytes) -> Iterator[tuple[Any, ...]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # BadZipFile, KeyError, InvalidFileException, lxml errors ...
        raise _unreadable(exc) from None
    if not book.worksheets:
        raise OrderFileInvalid([Problem("XLSX_INVALID", "the workbook has no sheet", where="file",
                                        rule="first_sheet")])
    rows: Iterator[tuple[Any, ...]] = book.worksheets[0].iter_rows(values_only=True)
    return rows


def _unreadable(exc: Exception) -> OrderFileInvalid:
    kind = "not a zip archive" if isinstance(exc, zipfile.BadZipFile) else type(exc).__name__
    return OrderFileInvalid([Problem("XLSX_INVALID", f"not a readable .xlsx workbook ({kind})", where="file",
                                     rule="xlsx")])


def _filled(values: tuple[Any, ...]) -> bool:
    return any(v is not None and str(v).strip() for v in values)


def _rows(values: Iterator[tuple[Any, ...]], header: list[str], company_id: str) -> Iterator[Row]:
    for number, row in enumerate(values, start=2):
        if not _filled(row):
            continue
        try:
            yield f"row {number}", _row(row, header, company_id)
        except DomainError as exc:
            yield f"row {number}", [exc.as_problem()]


def _row(row: tuple[Any, ...], header: list[str], company_id: str) -> CreateOrder | list[Problem]:
    if any(v is not None and str(v).strip() for v in row[len(header):]):
        return [Problem("ROW_TOO_LONG", f"the row has cells beyond the {len(header)} named columns", where="cells",
                        rule="cells_match_header")]
    raw = dict(zip(header, row, strict=False))
    problems: list[Problem] = []
    cells = {name: _text(value) for name, value in raw.items() if name != "amount"}
    cells["amount"] = _amount(raw.get("amount"), cells.get("currency", ""), problems)
    when = raw.get("requested_execution_date")
    execution = when.date() if isinstance(when, datetime) else when if isinstance(when, date) else None
    try:
        command = command_from_cells(cells, company_id=company_id, execution_date=execution)
    except ValueError:
        return [*problems, date_problem(cells.get("requested_execution_date", ""))]
    return problems or command


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _amount(value: Any, currency: str, problems: list[Problem]) -> str:
    if value is None or isinstance(value, str):
        return (value or "").strip()
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        problems.append(Problem("AMOUNT_INVALID", "the amount cell holds no number", where="amount",
                                rule="decimal", value=str(value)[:40]))
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        problems.append(Problem("AMOUNT_INVALID", "the amount cell is not a finite number", where="amount",
                                rule="decimal", value=str(value)))
        return ""
    places = max(0, -amount.normalize().as_tuple().exponent)  # type: ignore[operator]
    exponent = _exponent(currency)
    if exponent is not None and places > exponent:
        problems.append(Problem("AMOUNT_INVALID", f"the amount cell holds {amount.normalize():f}: {places} decimals, "
                                f"but {currency.strip().upper()} has {exponent}; Yinqi never rounds an amount",
                                where="amount", rule="currency_exponent", value=f"{amount:f}"))
    return f"{amount:f}"


def _exponent(currency: str) -> int | None:
    try:
        return Currency.of(currency.strip().upper()).exponent
    except DomainError:
        return None  # the domain's checks report the currency itself
