"""The CSV order file: encoding, delimiters, header rules, every row rule with its exact error
(field named as the file's column), and a fuzzer that may only ever see problems, never a crash."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yinqi.adapters.files import read_order_file
from yinqi.adapters.files.columns import FIELD_COLUMNS, OrderFileInvalid
from yinqi.adapters.files.orders_csv import count_orders_csv, read_orders_csv
from yinqi.domain.orders.checks import check_create_order
from yinqi.domain.orders.commands import CreateOrder

COLUMNS = ["serial", "amount", "currency", "requested_execution_date", "payer_name", "payer_iban", "payee_name",
           "payee_iban", "payee_country", "payee_bic", "purpose_code", "remittance_info", "urgency"]
GOOD = {"serial": "INV-1", "amount": "1250.00", "currency": "EUR", "requested_execution_date": "2030-01-15",
        "payer_name": "Acme", "payer_iban": "DE89370400440532013000", "payee_name": "Fournisseur SARL",
        "payee_iban": "FR1420041010050500013M02606", "payee_country": "FR", "payee_bic": "BNPAFRPPXXX",
        "purpose_code": "SUPP", "remittance_info": "Invoice 4711", "urgency": "normal"}
TODAY = date(2030, 1, 10)


def csv_bytes(*rows: dict[str, str], sep: str = ",", bom: bool = False) -> bytes:
    lines = [sep.join(COLUMNS)] + [sep.join(r.get(c, "") for c in COLUMNS) for r in rows]
    return (b"\xef\xbb\xbf" if bom else b"") + ("\n".join(lines) + "\n").encode()


def only(data: bytes) -> CreateOrder | list:  # type: ignore[type-arg]
    [(where, row)] = list(read_orders_csv(data, company_id="ACME"))
    assert where == "row 2"
    return row


@pytest.mark.parametrize("sep", [",", ";"])
@pytest.mark.parametrize("bom", [False, True])
def test_a_valid_row_becomes_an_import_command_with_decimal_text_amounts(sep: str, bom: bool) -> None:
    cmd = only(csv_bytes(GOOD, sep=sep, bom=bom))
    assert isinstance(cmd, CreateOrder)
    assert (cmd.serial, cmd.amount, cmd.currency, cmd.source, cmd.company_id) == ("INV-1", "1250.00", "EUR",
                                                                                   "import", "ACME")
    assert cmd.payee.account.iban == GOOD["payee_iban"] and cmd.payer.currency == "EUR"
    assert check_create_order(cmd, today=TODAY) == []


def test_quoted_cells_may_hold_the_delimiter_and_rows_are_numbered_like_a_spreadsheet() -> None:
    data = csv_bytes(GOOD, {**GOOD, "serial": "INV-2"}).replace(b"Invoice 4711", b'"Invoice 4711, part 2"', 1)
    rows = list(read_orders_csv(data.replace(b"\nINV-2", b"\n\nINV-2"), company_id="ACME"))
    assert [w for w, _ in rows] == ["row 2", "row 4"]
    assert rows[0][1].remittance_info == "Invoice 4711, part 2"  # type: ignore[union-attr]
    assert count_orders_csv(data) == 2


@pytest.mark.parametrize(("header", "code", "value"), [
    ("serial,amount,currency,requested_execution_date,payer_name,payee_name", "COLUMN_MISSING", "payee_country"),
    (",".join(COLUMNS) + ",payee_ibna", "COLUMN_UNKNOWN", "payee_ibna"),
    (",".join(COLUMNS) + ",serial", "COLUMN_REPEATED", "serial"),
])
def test_a_bad_header_refuses_the_file_naming_the_column(header: str, code: str, value: str) -> None:
    with pytest.raises(OrderFileInvalid) as refused:
        read_orders_csv(header.encode() + b"\n", company_id="ACME")
    assert [(p.code, p.where, p.value) for p in refused.value.problems] == [(code, "row 1", value)]


def test_a_file_that_is_not_utf8_is_refused_naming_the_row() -> None:
    data = csv_bytes(GOOD, {**GOOD, "payee_name": "Müller"}).replace("ü".encode(), "ü".encode("latin-1"))
    parsed = read_order_file(data, file_name="o.csv", company_id="ACME")
    assert [(p.code, p.where, p.rule) for p in parsed.problems] == [("FILE_ENCODING", "row 3", "utf8")]


@pytest.mark.parametrize(("change", "where", "code", "rule"), [
    ({"requested_execution_date": "15.01.2030"}, "requested_execution_date", "DATE_INVALID", "iso_date"),
    ({"serial": ""}, "serial", "SERIAL_INVALID", "serial_format"),
    ({"amount": "1.234.50"}, "amount", "AMOUNT_INVALID", "decimal_syntax"),
    ({"amount": "12.345"}, "amount", "AMOUNT_INVALID", "currency_exponent"),
    ({"amount": "-5.00"}, "amount", "AMOUNT_INVALID", "positive"),
    ({"currency": "EUX"}, "currency", "UNKNOWN_CURRENCY", "iso4217"),
    ({"payer_iban": "DE00370400440532013000"}, "payer_iban", "IBAN_INVALID", "checksum"),
    ({"payee_iban": ""}, "payee_iban", "ACCOUNT_INVALID", "one_of_iban_or_domestic"),
    ({"payee_bic": "NOTABIC"}, "payee_bic", "BIC_INVALID", "bic_format"),
    ({"payee_country": "XX"}, "payee_country", "COUNTRY_INVALID", "iso3166_alpha2"),
    ({"payee_name": ""}, "payee_name", "FIELD_REQUIRED", "required"),
    ({"purpose_code": "sup"}, "purpose_code", "PURPOSE_CODE_INVALID", "iso20022_purpose_code"),
    ({"remittance_info": "x" * 141}, "remittance_info", "REMITTANCE_TOO_LONG", "max_140_chars"),
    ({"urgency": "asap"}, "urgency", "URGENCY_INVALID", "one_of"),
    ({"requested_execution_date": "2030-01-09"}, "requested_execution_date", "EXECUTION_DATE_IN_PAST",
     "not_in_past"),
])
def test_every_row_rule_names_the_column_the_rule_and_the_code(change: dict[str, str], where: str, code: str,
                                                               rule: str) -> None:
    row = only(csv_bytes({**GOOD, **change}))
    problems = row if isinstance(row, list) else check_create_order(row, today=TODAY)
    found = [(FIELD_COLUMNS.get(p.where, p.where), p.code, p.rule) for p in problems]
    assert (where, code, rule) in found, found


def test_a_row_with_more_cells_than_columns_is_a_problem_of_that_row() -> None:
    data = csv_bytes(GOOD).rstrip(b"\n") + b",surplus\n"
    assert [(p.code, p.rule) for p in only(data)] == [("ROW_TOO_LONG", "cells_match_header")]  # type: ignore[union-attr]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600) | st.text(alphabet=",;\"\n\r abcEUR0123.-" + "\x00é", max_size=400).map(
    lambda t: (",".join(COLUMNS) + "\n" + t).encode()))
def test_fuzzed_csv_never_crashes_the_reader(data: bytes) -> None:
    parsed = read_order_file(data, file_name="fuzz.csv", company_id="ACME")
    for where, row in parsed.rows():
        assert where.startswith("row ")
        if isinstance(row, list):
            assert row and all(p.code and p.rule for p in row)
        else:
            for problem in check_create_order(row, today=TODAY):
                assert problem.where and problem.code
