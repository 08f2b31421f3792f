"""Identifiers: each validates on construction and names the rule it enforces."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yinqi.domain.identifiers import (
    Bic,
    BicInvalid,
    CnapsCode,
    CnDomesticAccount,
    CountryCode,
    CountryInvalid,
    DomesticAccountInvalid,
    EndToEndId,
    EndToEndIdInvalid,
    Iban,
    IbanInvalid,
    OrderSerial,
    SerialInvalid,
)

# Official examples from the IBAN registry (SWIFT) for a few countries.
VALID_IBANS = ["DE89370400440532013000", "FR1420041010050500013M02606", "GB29NWBK60161331926819",
               "CH9300762011623852957", "NL91ABNA0417164300", "BE68539007547034", "IT60X0542811101000000123456"]


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_official_sample_ibans_are_accepted_in_compact_form(iban: str) -> None:
    spaced = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)).lower()
    assert Iban.parse(spaced).compact == iban


@pytest.mark.parametrize(("raw", "rule"), [
    ("DE89370400440532013001", "checksum"),
    ("DE8937040044053201300", "length"),
    ("XX89370400440532013000", "country"),
    ("", "bban_format"),
])
def test_invalid_iban_is_refused_naming_the_rule(raw: str, rule: str) -> None:
    with pytest.raises(IbanInvalid) as err:
        Iban.parse(raw, where="payee.account.iban")
    assert err.value.code == "IBAN_INVALID"
    assert err.value.where == "payee.account.iban"
    assert err.value.rule == rule


def test_iban_mask_keeps_only_the_first_and_last_four() -> None:
    assert Iban.parse("GB29NWBK60161331926819").masked == "GB29**************6819"


def test_parsed_ibans_are_cached() -> None:
    from yinqi.domain.identifiers import _parse_iban

    Iban.parse("NL91ABNA0417164300")
    before = _parse_iban.cache_info().hits
    Iban.parse("NL91 ABNA 0417 1643 00")
    assert _parse_iban.cache_info().hits == before + 1


@pytest.mark.parametrize("bic", ["DEUTDEFF", "DEUTDEFF500", "cobadeffxxx"])
def test_valid_bics_are_accepted(bic: str) -> None:
    assert Bic.parse(bic).value == bic.upper()


@pytest.mark.parametrize("bic", ["DEUTXX11", "DEU", "DEUTDEFF5", "12345678"])
def test_invalid_bic_is_refused(bic: str) -> None:
    with pytest.raises(BicInvalid) as err:
        Bic.parse(bic)
    assert err.value.code == "BIC_INVALID"


def test_cn_domestic_account_needs_digits_and_a_twelve_digit_cnaps_code() -> None:
    account = CnDomesticAccount.parse(number="6222 0212 3456 7890", cnaps="102100099996")
    assert account.number == "6222021234567890"
    assert account.cnaps == CnapsCode("102100099996")
    assert account.ledger_key == "CN102100099996-6222021234567890"
    assert account.masked.endswith("7890") and "6222" not in account.masked


@pytest.mark.parametrize(("number", "cnaps", "where", "rule"), [
    ("12345", "102100099996", "account.number", "cn_account_digits"),
    ("1" * 33, "102100099996", "account.number", "cn_account_digits"),
    ("62220212345A", "102100099996", "account.number", "cn_account_digits"),
    ("6222021234567890", "10210009999", "account.cnaps", "cnaps_12_digits"),
    ("6222021234567890", "1021000999961", "account.cnaps", "cnaps_12_digits"),
])
def test_invalid_cn_domestic_account_is_refused(number: str, cnaps: str, where: str, rule: str) -> None:
    with pytest.raises(DomesticAccountInvalid) as err:
        CnDomesticAccount.parse(number=number, cnaps=cnaps)
    assert (err.value.where, err.value.rule) == (where, rule)


@pytest.mark.parametrize("serial", ["A", "ERP-2024/0001", "a_b.c-d/e", "X" * 35])
def test_valid_serials_are_accepted(serial: str) -> None:
    assert OrderSerial.parse(serial).value == serial


@pytest.mark.parametrize("serial", ["", "X" * 36, "has space", "semi;colon", "中文", "line\n"])
def test_invalid_serials_are_refused(serial: str) -> None:
    with pytest.raises(SerialInvalid) as err:
        OrderSerial.parse(serial)
    assert err.value.rule == "serial_format"


def test_generated_end_to_end_id_fits_35_characters() -> None:
    e2e = EndToEndId.from_order_id("0b8e2f1c-2d7a-4b8e-9a61-6f4f2e9d1c33")
    assert e2e.value == "E0B8E2F1C2D7A4B8E9A616F4F2E9D1C33" and len(e2e.value) <= 35


@pytest.mark.parametrize("raw", ["", "X" * 36, "has_underscore", "ümlaut"])
def test_invalid_end_to_end_ids_are_refused(raw: str) -> None:
    with pytest.raises(EndToEndIdInvalid):
        EndToEndId.parse(raw)


def test_country_must_be_iso_3166_alpha_2() -> None:
    assert CountryCode.parse("cn").value == "CN"
    for bad in ("XX", "CHN", "", "1"):
        with pytest.raises(CountryInvalid):
            CountryCode.parse(bad)


@given(st.text(max_size=40))
def test_iban_parse_either_succeeds_or_raises_iban_invalid(raw: str) -> None:
    with contextlib.suppress(IbanInvalid):
        Iban.parse(raw)


@given(st.text(max_size=40))
def test_serial_parse_either_succeeds_or_raises_serial_invalid(raw: str) -> None:
    with contextlib.suppress(SerialInvalid):
        assert 1 <= len(OrderSerial.parse(raw).value) <= 35
