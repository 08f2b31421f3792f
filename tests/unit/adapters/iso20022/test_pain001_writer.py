"""pain.001 writing: strict, deterministic, XSD-valid, and read back unchanged (R22)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from iso20022_strategies import messages
from lxml import etree

from yinqi.adapters.iso20022.model import (
    AccountId,
    CreditTransfer,
    CreditTransferMessage,
    PaymentInfo,
    PostalAddress,
)
from yinqi.adapters.iso20022.pain001_reader import read_pain001
from yinqi.adapters.iso20022.pain001_writer import Pain001Unwritable, write_pain001
from yinqi.adapters.iso20022.schema import SchemaInvalid, schema_for
from yinqi.domain.currency import Currency
from yinqi.domain.money import Money

VERSIONS = ["pain.001.001.03", "pain.001.001.09"]


def transfer(**changes: object) -> CreditTransfer:
    base = CreditTransfer(instruction_id="I-1", end_to_end_id="E2E-1", amount=Money(123456, "EUR"),
                          creditor_name="Northern Supplies Ltd",
                          creditor_account=AccountId(iban="DE89370400440532013000"),
                          creditor_bic="COBADEFFXXX", remittance="Invoice 42",
                          uetr="c10f2393-6d2a-456b-8d41-d976a10e55ea")
    return dataclasses.replace(base, **changes)


def message(*transfers: CreditTransfer, service_level: str | None = None) -> CreditTransferMessage:
    pmt = PaymentInfo(payment_info_id="PMT-1", debtor_name="Yinqi Trading Ltd",
                      debtor_account=AccountId(iban="NL91ABNA0417164300", currency="EUR"),
                      debtor_bic="ABNANL2A", requested_execution_date=date(2026, 8, 21),
                      transfers=transfers or (transfer(),), service_level=service_level)
    return CreditTransferMessage(message_id="MSG-1", created_at=datetime(2026, 8, 19, 11, 0),
                                 initiating_party="Yinqi Trading Ltd", payment_infos=(pmt,))


def tree(data: bytes) -> tuple[etree._Element, dict[str, str]]:
    root = etree.fromstring(data)
    return root, {"p": etree.QName(root).namespace}


@pytest.mark.parametrize("version", VERSIONS)
def test_written_message_is_xsd_valid_and_reads_back_equal(version: str) -> None:
    msg = message(transfer(), transfer(end_to_end_id="E2E-2", amount=Money(5, "EUR")))
    data = write_pain001(msg, version=version)
    assert schema_for(version).validate(etree.fromstring(data))
    expected = msg if version.endswith("09") else _without_uetr(msg)
    assert read_pain001(data) == expected


def test_output_is_byte_identical_for_equal_input() -> None:
    assert write_pain001(message()) == write_pain001(message())


def test_jpy_amounts_have_no_decimals_and_kwd_three() -> None:
    data = write_pain001(message(transfer(amount=Money(1000, "JPY")),
                                 transfer(end_to_end_id="E2", amount=Money(1250, "KWD"))))
    root, ns = tree(data)
    assert [a.text for a in root.iterfind(".//p:InstdAmt", ns)] == ["1000", "1.250"]
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=ns) == "1001.250"


def test_bic_element_is_named_per_version() -> None:
    assert b"<BIC>COBADEFFXXX</BIC>" in write_pain001(message(), version="pain.001.001.03")
    assert b"<BICFI>COBADEFFXXX</BICFI>" in write_pain001(message(), version="pain.001.001.09")


def test_uetr_is_written_in_09_only() -> None:
    assert b"<UETR>" in write_pain001(message(), version="pain.001.001.09")
    assert b"<UETR>" not in write_pain001(message(), version="pain.001.001.03")


def test_chinese_domestic_account_carries_cnaps_code_in_the_creditor_agent() -> None:
    tx = transfer(creditor_account=AccountId(other_id="6222020200112233445", currency="CNY"),
                  creditor_bic=None, creditor_bank_code="102100099996", amount=Money(880000, "CNY"),
                  creditor_name="北京银企科技有限公司", remittance="货款 2026-08")
    data = write_pain001(message(tx))
    root, ns = tree(data)
    agent = root.find(".//p:CdtrAgt/p:FinInstnId/p:ClrSysMmbId", ns)
    assert agent.findtext("p:ClrSysId/p:Cd", namespaces=ns) == "CNAPS"
    assert agent.findtext("p:MmbId", namespaces=ns) == "102100099996"
    assert root.findtext(".//p:CdtrAcct/p:Id/p:Othr/p:Id", namespaces=ns) == "6222020200112233445"
    assert "北京银企科技有限公司".encode() in data
    assert read_pain001(data) == message(tx)


def test_structured_address_and_purpose_code_round_trip() -> None:
    adr = PostalAddress(country="DE", street="Hauptstraße", building_number="1", postcode="10115",
                        town="Berlin", lines=("c/o Accounts",))
    msg = message(transfer(creditor_address=adr, purpose_code="SUPP"))
    assert read_pain001(write_pain001(msg)) == msg


def test_remittance_over_140_characters_is_refused_never_truncated() -> None:
    with pytest.raises(Pain001Unwritable) as err:
        write_pain001(message(transfer(remittance="x" * 141)))
    assert err.value.rule == "max_140"
    assert "CdtTrfTxInf[1]/RmtInf/Ustrd" in err.value.where


def test_sepa_payment_refuses_text_outside_the_latin_set() -> None:
    with pytest.raises(Pain001Unwritable) as err:
        write_pain001(message(transfer(creditor_name="Müller GmbH"), service_level="SEPA"))
    assert err.value.rule == "sepa_charset"


def test_text_xml_cannot_carry_is_refused_with_its_path() -> None:
    with pytest.raises(Pain001Unwritable) as err:
        write_pain001(message(transfer(creditor_name="bad\x00name")))
    assert err.value.rule == "xml_char" and err.value.where == "PmtInf[1]/CdtTrfTxInf[1]"


def test_schema_break_is_reported_with_the_element_path() -> None:
    with pytest.raises(SchemaInvalid) as err:
        write_pain001(message(transfer(end_to_end_id="E" * 36)))
    assert "/Document/CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf/PmtId/EndToEndId" in err.value.where


def test_unknown_version_and_non_positive_amount_are_refused() -> None:
    with pytest.raises(Pain001Unwritable):
        write_pain001(message(), version="pain.001.001.11")
    with pytest.raises(Pain001Unwritable):
        write_pain001(message(transfer(amount=Money(0, "EUR"))))


# --- R22 ----------------------------------------------------------------------------------------
def _without_uetr(msg: CreditTransferMessage) -> CreditTransferMessage:
    infos = tuple(dataclasses.replace(p, transfers=tuple(dataclasses.replace(t, uetr=None)
                                                         for t in p.transfers))
                  for p in msg.payment_infos)
    return dataclasses.replace(msg, payment_infos=infos)


def _assert_totals(root: etree._Element, ns: dict[str, str], msg: CreditTransferMessage) -> None:
    body = root.find("p:CstmrCdtTrfInitn", ns)
    all_amounts = [Decimal(a.text) for a in body.iterfind(".//p:InstdAmt", ns)]
    assert int(body.findtext("p:GrpHdr/p:NbOfTxs", namespaces=ns)) == msg.number_of_transactions
    assert Decimal(body.findtext("p:GrpHdr/p:CtrlSum", namespaces=ns)) == sum(all_amounts)
    for pmt, info in zip(body.iterfind("p:PmtInf", ns), msg.payment_infos, strict=True):
        amounts = [Decimal(a.text) for a in pmt.iterfind(".//p:InstdAmt", ns)]
        assert int(pmt.findtext("p:NbOfTxs", namespaces=ns)) == len(info.transfers) == len(amounts)
        assert Decimal(pmt.findtext("p:CtrlSum", namespaces=ns)) == sum(amounts)
    for el in body.iterfind(".//p:InstdAmt", ns):
        exponent = Currency.of(el.get("Ccy")).exponent
        assert len(el.text.partition(".")[2]) == exponent


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msg=messages())
def test_r22_generated_orders_write_valid_pain001_in_both_versions_and_read_back_equal(
        msg: CreditTransferMessage) -> None:
    for version in VERSIONS:
        data = write_pain001(msg, version=version)
        root, ns = tree(data)
        assert schema_for(version).validate(root), schema_for(version).error_log
        _assert_totals(root, ns, msg)
        assert read_pain001(data) == (msg if version.endswith("09") else _without_uetr(msg))


def test_control_sum_beyond_18_digits_is_refused_naming_ctrlsum() -> None:
    big = transfer(amount=Money(10**16, "JPY"))
    with pytest.raises(SchemaInvalid) as err:
        write_pain001(message(big, transfer(end_to_end_id="E2", amount=Money(1, "KWD"))))
    assert "CtrlSum" in err.value.where
