"""Validation rules added for issue 3: business days, purpose codes, payee address on cross-border
payments, CNAPS codes. Each rule is proved by its exact code, `where` and rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from yinqi.domain.orders.checks import build_order, build_payee, check_create_order
from yinqi.domain.orders.commands import AccountInput, AddressInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.purpose_codes import PURPOSE_CODES
from yinqi.domain.problems import ValidationFailed

TODAY = date(2030, 1, 10)  # a Thursday
DE_PAYER = PayerInput(name="Acme GmbH", account=AccountInput(iban="DE89370400440532013000"), currency="EUR")
CN_PAYER = PayerInput(name="银企科技", account=AccountInput(number="6222021234567890", cnaps="102100099996"),
                      currency="CNY")
FR_PAYEE = PayeeInput(name="Fournisseur SARL", account=AccountInput(iban="FR1420041010050500013M02606"),
                      country="FR")
CN_PAYEE = PayeeInput(name="上海供应商", account=AccountInput(number="6222020200001234", cnaps="102290000013"),
                      country="CN")
US_PAYEE = PayeeInput(name="Supplier Inc", account=AccountInput(iban="GB33BUKB20201555555555"), country="US",
                      address=AddressInput(street="5th Avenue", town="New York"))
SEPA = CreateOrder(company_id="ACME", serial="S-1", payer=DE_PAYER, payee=FR_PAYEE, amount="10.00", currency="EUR",
                   requested_execution_date=TODAY)


def found(cmd: CreateOrder) -> list[tuple[str, str, str]]:
    return [(p.code, p.where, p.rule) for p in check_create_order(cmd, today=TODAY)]


# --- business days -------------------------------------------------------------------------------
@pytest.mark.parametrize(("day", "currency", "payer", "payee"), [
    (date(2030, 1, 12), "EUR", DE_PAYER, FR_PAYEE),         # Saturday
    (date(2030, 4, 22), "EUR", DE_PAYER, FR_PAYEE),         # Easter Monday, TARGET2
    (date(2030, 10, 1), "CNY", CN_PAYER, CN_PAYEE),         # National Day
])
def test_an_execution_date_that_is_no_business_day_for_the_currency_is_refused(
        day: date, currency: str, payer: PayerInput, payee: PayeeInput) -> None:
    cmd = replace(SEPA, currency=currency, payer=payer, payee=payee, requested_execution_date=day)
    assert found(cmd) == [("NOT_BUSINESS_DAY", "requested_execution_date", "business_day")]


def test_the_not_business_day_message_names_the_holiday_and_the_next_business_day() -> None:
    [problem] = check_create_order(replace(SEPA, requested_execution_date=date(2030, 12, 25)), today=TODAY)
    assert "Christmas Day" in problem.message and "TARGET2" in problem.message
    assert "2030-12-27" in problem.message and problem.value == "2030-12-25"


def test_a_chinese_working_weekend_is_a_business_day_for_cny() -> None:
    sunday_worked = date(2026, 1, 4)  # 调休 after New Year 2026
    assert sunday_worked.weekday() == 6
    cmd = replace(SEPA, currency="CNY", payer=CN_PAYER, payee=CN_PAYEE, requested_execution_date=sunday_worked)
    assert check_create_order(cmd, today=date(2026, 1, 2)) == []
    as_euro = replace(cmd, currency="EUR", payer=DE_PAYER, payee=FR_PAYEE)
    assert [p.code for p in check_create_order(as_euro, today=date(2026, 1, 2))] == ["NOT_BUSINESS_DAY"]


def test_a_date_in_the_past_reports_only_that() -> None:
    cmd = replace(SEPA, requested_execution_date=date(2030, 1, 1))  # past and a holiday
    assert found(cmd) == [("EXECUTION_DATE_IN_PAST", "requested_execution_date", "not_in_past")]


# --- purpose codes ---------------------------------------------------------------------------------
def test_a_cross_border_payment_outside_sepa_needs_a_purpose_code() -> None:
    cmd = replace(SEPA, payee=US_PAYEE)
    assert found(cmd) == [("PURPOSE_CODE_REQUIRED", "purpose_code", "required_cross_border")]
    assert found(replace(cmd, purpose_code="SUPP")) == []


def test_a_non_euro_payment_across_sepa_borders_needs_a_purpose_code() -> None:
    payer = replace(DE_PAYER, currency="USD")
    cmd = replace(SEPA, currency="USD", payer=payer, payee=replace(FR_PAYEE, address=AddressInput(town="Paris")))
    assert found(cmd) == [("PURPOSE_CODE_REQUIRED", "purpose_code", "required_cross_border")]


def test_a_euro_payment_inside_sepa_and_a_domestic_payment_need_no_purpose_code() -> None:
    assert found(SEPA) == []
    domestic = replace(SEPA, currency="CNY", payer=CN_PAYER, payee=CN_PAYEE)
    assert found(domestic) == []


def test_an_unknown_purpose_code_is_refused_even_at_home() -> None:
    assert found(replace(SEPA, purpose_code="ABCD")) == [
        ("PURPOSE_CODE_UNKNOWN", "purpose_code", "iso20022_external_code_list")]
    assert found(replace(SEPA, purpose_code="Supp")) == [
        ("PURPOSE_CODE_INVALID", "purpose_code", "iso20022_purpose_code")]


@pytest.mark.parametrize("code", ["SUPP", "SALA", "TRAD", "GDDS", "INTC", "TAXS", "OTHR", "TRPT"])
def test_common_purpose_codes_are_in_the_shipped_list(code: str) -> None:
    assert code in PURPOSE_CODES and found(replace(SEPA, purpose_code=code)) == []


# --- payee address -----------------------------------------------------------------------------------
def test_a_cross_border_payment_outside_sepa_needs_the_payee_town() -> None:
    no_address = replace(US_PAYEE, address=None)
    assert found(replace(SEPA, payee=no_address, purpose_code="SUPP")) == [
        ("PAYEE_ADDRESS_REQUIRED", "payee.address.town", "required_cross_border_non_sepa")]
    street_only = replace(US_PAYEE, address=AddressInput(street="5th Avenue"))
    assert found(replace(SEPA, payee=street_only, purpose_code="SUPP")) == [
        ("PAYEE_ADDRESS_REQUIRED", "payee.address.town", "required_cross_border_non_sepa")]


def test_a_cny_payment_from_china_abroad_needs_purpose_and_town() -> None:
    cmd = replace(SEPA, currency="CNY", payer=CN_PAYER, payee=replace(FR_PAYEE, address=None))
    assert found(cmd) == [("PURPOSE_CODE_REQUIRED", "purpose_code", "required_cross_border"),
                          ("PAYEE_ADDRESS_REQUIRED", "payee.address.town", "required_cross_border_non_sepa")]


# --- CNAPS ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cnaps", ["10210009999", "1021000999961", "10210009999X", ""])
def test_a_cn_domestic_payee_needs_a_12_digit_cnaps_code(cnaps: str) -> None:
    payee = replace(CN_PAYEE, account=AccountInput(number="6222020200001234", cnaps=cnaps))
    cmd = replace(SEPA, currency="CNY", payer=CN_PAYER, payee=payee)
    assert found(cmd) == [("DOMESTIC_ACCOUNT_INVALID", "payee.account.cnaps", "cnaps_12_digits")]


def test_a_cn_domestic_payer_account_number_must_be_digits() -> None:
    payer = replace(CN_PAYER, account=AccountInput(number="6222-AB", cnaps="102100099996"))
    assert found(replace(SEPA, currency="CNY", payer=payer, payee=CN_PAYEE)) == [
        ("DOMESTIC_ACCOUNT_INVALID", "payer.account.number", "cn_account_digits")]


# --- build_payee (beneficiary values) -------------------------------------------------------------------
def test_build_payee_reports_every_problem_under_the_given_prefix() -> None:
    raw = PayeeInput(name="", account=AccountInput(iban="FR00"), country="FR", bic="NOPE")
    with pytest.raises(ValidationFailed) as err:
        build_payee(raw, prefix="")
    assert [(p.code, p.where) for p in err.value.problems] == [
        ("FIELD_REQUIRED", "name"), ("IBAN_INVALID", "account.iban"), ("BIC_INVALID", "bic")]


def test_a_valid_cross_border_order_builds() -> None:
    cmd = replace(SEPA, payee=US_PAYEE, purpose_code="GDDS")
    order = build_order(cmd, order_id="o-1", today=TODAY, actor="m", at=datetime(2030, 1, 10, tzinfo=UTC))
    assert order.purpose_code == "GDDS" and order.payee.address is not None
