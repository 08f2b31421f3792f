"""The bank-side ISO 20022 writers: every output is XSD-valid and reads back through the hub."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yinqi.adapters.iso20022 import camt053_writer, pain002_writer, schema
from yinqi.adapters.iso20022.camt053_writer import write_camt053
from yinqi.adapters.iso20022.camt_reader import read_statements
from yinqi.adapters.iso20022.model import (
    AccountId,
    BalanceAmount,
    PaymentStatus,
    Statement,
    StatementEntry,
    StatusReport,
    TransactionStatus,
)
from yinqi.adapters.iso20022.pain002_reader import read_pain002
from yinqi.adapters.iso20022.pain002_writer import write_pain002
from yinqi.adapters.iso20022.safexml import parse_bytes
from yinqi.domain.money import AmountInvalid

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DAY = date(2026, 3, 2)


def status_report(group: str = "PART") -> StatusReport:
    return StatusReport(
        message_id="SANDBOX-STS-0000000001", created_at=AT, original_message_id="MSG-1",
        original_message_type="pain.001.001.09", group_status=group,
        payments=(PaymentStatus("PMT-1", "PART", transactions=(
            TransactionStatus("E2E-1", "ACSC", original_instruction_id="I-1"),
            TransactionStatus("E2E-2", "RJCT", "AM04", "insufficient funds in the debtor account", "I-2"))),))


def statement(currency: str = "EUR", amounts: tuple[str, ...] = ("-150.50", "20.00")) -> Statement:
    entries = tuple(StatementEntry(Decimal(a), currency, "BOOK", DAY, DAY, f"SB{i:010d}", (f"E2E-{i}",),
                                   "Counterparty", f"invoice {i}") for i, a in enumerate(amounts))
    opening = Decimal("1000")
    closing = opening + sum((e.amount for e in entries), Decimal(0))
    return Statement(id="SB00000001-20260302", account=AccountId(iban="DE89370400440532013000", currency=currency),
                     opening_balance=BalanceAmount(opening, currency, DAY, "OPBD"),
                     closing_balance=BalanceAmount(closing, currency, DAY, "CLBD"),
                     entries=entries, sequence_number="1", created_at=AT)


@pytest.mark.parametrize("version", pain002_writer.VERSIONS)
def test_pain002_is_valid_against_the_official_xsd_of_each_version(version: str) -> None:
    root = parse_bytes(write_pain002(status_report(), version=version, reporting_party="Sandbox"))
    assert schema.validation_problems(root) == []
    assert schema.message_type(root.nsmap[None]) == version


@pytest.mark.parametrize("version", pain002_writer.VERSIONS)
def test_pain002_group_rejection_carries_reason_and_additional_info(version: str) -> None:
    report = StatusReport(message_id="R-1", created_at=AT, original_message_id="MSG-9",
                          original_message_type="pain.001.001.03", group_status="RJCT", group_reason_code="FF01")
    xml = write_pain002(report, version=version, group_additional_info="x" * 300)
    assert b"<Cd>FF01</Cd>" in xml and b"x" * 105 + b"<" in xml


def test_pain002_03_refuses_a_status_code_its_closed_code_list_lacks() -> None:
    with pytest.raises(schema.SchemaInvalid):
        write_pain002(status_report(group="BOGUS"), version="pain.002.001.03")


@pytest.mark.parametrize("version", camt053_writer.VERSIONS)
def test_camt053_is_valid_against_the_official_xsd_of_each_version(version: str) -> None:
    root = parse_bytes(write_camt053([statement()], message_id="STM-1", created_at=AT, version=version))
    assert schema.validation_problems(root) == []


def test_camt053_writes_zero_decimal_currencies_without_decimals() -> None:
    xml = write_camt053([statement("JPY", ("-1500", "20"))], message_id="STM-1", created_at=AT)
    assert b'<Amt Ccy="JPY">1500</Amt>' in xml


def test_camt053_refuses_an_amount_finer_than_the_currency_allows() -> None:
    with pytest.raises(AmountInvalid):
        write_camt053([statement("EUR", ("-1.005",))], message_id="STM-1", created_at=AT)


def test_camt053_writes_a_non_iban_account_as_other_id() -> None:
    stmt = statement()
    other = Statement(id=stmt.id, account=AccountId(other_id="6222020200001234567", currency="CNY"),
                      opening_balance=None, closing_balance=BalanceAmount(Decimal("0"), "CNY", DAY, "CLBD"),
                      entries=())
    assert b"<Othr>" in write_camt053([other], message_id="STM-2", created_at=AT)


amount_text = st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2,
                          allow_nan=False, allow_infinity=False).map(lambda d: f"{d:f}")


@settings(max_examples=40, deadline=None)
@given(amounts=st.lists(amount_text, max_size=6),
       version=st.sampled_from(camt053_writer.VERSIONS))
def test_any_statement_of_exact_amounts_is_schema_valid(amounts: list[str], version: str) -> None:
    xml = write_camt053([statement("EUR", tuple(amounts))], message_id="STM-H", created_at=AT, version=version)
    assert schema.validation_problems(parse_bytes(xml)) == []


@pytest.mark.parametrize("version", pain002_writer.VERSIONS)
def test_pain002_reads_back_through_the_hub_reader_unchanged(version: str) -> None:
    report = status_report()
    assert read_pain002(write_pain002(report, version=version)) == report


@pytest.mark.parametrize("version", camt053_writer.VERSIONS)
def test_camt053_reads_back_through_the_hub_reader_unchanged(version: str) -> None:
    stmt = statement()
    read = read_statements(write_camt053([stmt], message_id="STM-1", created_at=AT, version=version))
    assert (read.format, read.message_id, read.statements) == (version, "STM-1", (stmt,))
