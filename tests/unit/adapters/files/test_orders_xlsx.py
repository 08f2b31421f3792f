"""The Excel order file: the same layout as CSV, numeric and date cells turned into exact text, an
amount with more decimals than its currency refused naming the cell, and a fuzzer."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook  # type: ignore[import-untyped]

from yinqi.adapters.files import detect_format, read_order_file
from yinqi.adapters.files.columns import OrderFileInvalid
from yinqi.adapters.files.orders_xlsx import count_orders_xlsx, read_orders_xlsx
from yinqi.domain.orders.checks import check_create_order
from yinqi.domain.orders.commands import CreateOrder

HEADER = ["serial", "amount", "currency", "requested_execution_date", "payer_name", "payer_iban", "payee_name",
          "payee_account_number", "payee_cnaps", "payee_country", "payee_town", "purpose_code"]


def row(**change: Any) -> list[Any]:
    base = {"serial": "X-1", "amount": 1250.5, "currency": "CNY", "requested_execution_date": datetime(2030, 1, 15),
            "payer_name": "Acme", "payer_iban": "DE89370400440532013000", "payee_name": "Shanghai Supplier",
            "payee_account_number": 6222021234567890, "payee_cnaps": 102100099996, "payee_country": "CN",
            "payee_town": "Shanghai", "purpose_code": "SUPP"}
    base.update(change)
    return [base[c] for c in HEADER]


def workbook(*rows: list[Any], header: list[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_numeric_and_date_cells_become_exact_text() -> None:
    [(where, cmd)] = list(read_orders_xlsx(workbook(row(payer_iban=None, payer_name="Acme")), company_id="ACME"))
    assert where == "row 2" and isinstance(cmd, CreateOrder)
    assert (cmd.amount, cmd.requested_execution_date) == ("1250.5", date(2030, 1, 15))
    assert (cmd.payee.account.number, cmd.payee.account.cnaps) == ("6222021234567890", "102100099996")


def test_a_valid_workbook_passes_the_order_checks_and_counts_its_rows() -> None:
    data = workbook(row(currency="EUR", payer_iban="DE89370400440532013000"), [], row(serial="X-2", currency="EUR"))
    rows = list(read_orders_xlsx(data, company_id="ACME"))
    assert [w for w, _ in rows] == ["row 2", "row 4"] and count_orders_xlsx(data) == 2
    assert all(check_create_order(c, today=date(2030, 1, 10)) == [] for _, c in rows)  # type: ignore[arg-type]
    assert detect_format(data) == "xlsx" and read_order_file(data, file_name="x", company_id="A").format == "xlsx"


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    (12.345, "EUR", "12.345"), (1.005, "EUR", "1.005"), (100.5, "JPY", "100.5")])
def test_a_number_cell_with_more_decimals_than_the_currency_is_refused_never_rounded(
        amount: float, currency: str, shown: str) -> None:
    [(_, problems)] = list(read_orders_xlsx(workbook(row(amount=amount, currency=currency)), company_id="ACME"))
    assert isinstance(problems, list)
    [p] = problems
    assert (p.code, p.where, p.rule, p.value) == ("AMOUNT_INVALID", "amount", "currency_exponent", shown)
    assert currency in p.message


def test_a_text_date_that_is_not_iso_is_a_problem_of_the_row() -> None:
    [(_, problems)] = list(read_orders_xlsx(workbook(row(requested_execution_date="15/01/2030")), company_id="A"))
    assert [(p.code, p.rule) for p in problems] == [("DATE_INVALID", "iso_date")]  # type: ignore[union-attr]


def test_a_bad_header_or_not_a_workbook_refuses_the_file() -> None:
    with pytest.raises(OrderFileInvalid) as refused:
        read_orders_xlsx(workbook(header=["serial", "amount"]), company_id="ACME")
    assert {p.code for p in refused.value.problems} == {"COLUMN_MISSING"}
    parsed = read_order_file(b"PK\x03\x04 not really a zip", file_name="o.xlsx", company_id="ACME")
    assert [(p.code, p.rule) for p in parsed.problems] == [("XLSX_INVALID", "xlsx")]


CELLS = st.one_of(st.none(), st.text(max_size=30), st.integers(-10**12, 10**12), st.booleans(),
                  st.floats(allow_nan=False, allow_infinity=False, width=32), st.dates().map(
                      lambda d: datetime(d.year, d.month, d.day)))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=0, max_size=len(HEADER) + 2), max_size=5))
def test_fuzzed_cells_never_crash_the_reader(rows: list[list[Any]]) -> None:
    clean = [[c.replace("\x00", "") if isinstance(c, str) else c for c in r] for r in rows]
    try:
        data = workbook(*clean)
    except Exception:  # openpyxl refuses some characters when writing; not our reader's concern
        return
    parsed = read_order_file(data, file_name="fuzz.xlsx", company_id="ACME")
    for where, result in parsed.rows():
        assert where.startswith("row ")
        if isinstance(result, list):
            assert result and all(p.code and p.rule for p in result)
        else:
            check_create_order(result, today=date(2030, 1, 1))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b))
def test_fuzzed_bytes_are_refused_as_a_file_not_a_crash(data: bytes) -> None:
    parsed = read_order_file(data, file_name="fuzz.xlsx", company_id="ACME")
    assert parsed.problems
