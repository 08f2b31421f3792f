"""Validation of a new order: every rule reports its own problem, naming field and rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from yinqi.domain.orders.checks import CheckedOrder, build_order, check_create_order, check_order
from yinqi.domain.orders.commands import AccountInput, AddressInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.problems import ValidationFailed

TODAY = date(2030, 1, 10)
AT = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
PAYER = PayerInput(name="Acme GmbH", account=AccountInput(iban="DE89370400440532013000"), currency="EUR",
                   bic="COBADEFFXXX")
PAYEE = PayeeInput(name="Fournisseur SARL", account=AccountInput(iban="FR1420041010050500013M02606"),
                   country="FR", bic="BNPAFRPPXXX", address=AddressInput(street="Rue de Rivoli", town="Paris"))
VALID = CreateOrder(company_id="ACME", serial="ERP-1", payer=PAYER, payee=PAYEE, amount="1250.00",
                    currency="EUR", requested_execution_date=TODAY, purpose_code="SUPP", remittance_info="Inv 1")


def problems(**changes: Any) -> list[tuple[str, str, str]]:
    return [(p.code, p.where, p.rule) for p in check_create_order(replace(VALID, **changes), today=TODAY)]


def test_a_valid_order_has_no_problems_and_builds() -> None:
    assert problems() == []
    order = build_order(VALID, order_id="0b8e2f1c-2d7a-4b8e-9a61-6f4f2e9d1c33", today=TODAY, actor="m", at=AT)
    assert order.amount.minor == 125000 and order.payee.country.value == "FR"
    assert order.end_to_end_id.value == "E0B8E2F1C2D7A4B8E9A616F4F2E9D1C33"


def test_a_cn_domestic_payee_with_cnaps_code_is_valid() -> None:
    payee = replace(PAYEE, account=AccountInput(number="6222021234567890", cnaps="102100099996"), country="CN",
                    bic=None)
    assert problems(payee=payee) == []


@pytest.mark.parametrize(("changes", "expected"), [
    ({"payee": replace(PAYEE, account=AccountInput(iban="FR1420041010050500013M02607"))},
     ("IBAN_INVALID", "payee.account.iban", "checksum")),
    ({"payer": replace(PAYER, account=AccountInput(iban="DE8937040044053201300"))},
     ("IBAN_INVALID", "payer.account.iban", "length")),
    ({"payee": replace(PAYEE, account=AccountInput(iban="QQ1420041010050500013M02606"))},
     ("IBAN_INVALID", "payee.account.iban", "country")),
    ({"payee": replace(PAYEE, bic="BNPAXXPP")}, ("BIC_INVALID", "payee.bic", "country")),
    ({"payer": replace(PAYER, bic="CO")}, ("BIC_INVALID", "payer.bic", "bic_format")),
    ({"payee": replace(PAYEE, account=AccountInput(number="12345", cnaps="102100099996"))},
     ("DOMESTIC_ACCOUNT_INVALID", "payee.account.number", "cn_account_digits")),
    ({"payee": replace(PAYEE, account=AccountInput(number="6222021234567890", cnaps="1021"))},
     ("DOMESTIC_ACCOUNT_INVALID", "payee.account.cnaps", "cnaps_12_digits")),
    ({"payee": replace(PAYEE, account=AccountInput())},
     ("ACCOUNT_INVALID", "payee.account", "one_of_iban_or_domestic")),
    ({"payee": replace(PAYEE, account=AccountInput(iban="DE89370400440532013000", number="123456", cnaps="1"))},
     ("ACCOUNT_INVALID", "payee.account", "one_of_iban_or_domestic")),
    ({"currency": "XYZ"}, ("UNKNOWN_CURRENCY", "currency", "iso4217")),
    ({"amount": "12.345"}, ("AMOUNT_INVALID", "amount", "currency_exponent")),
    ({"amount": "1.5", "currency": "JPY", "payer": replace(PAYER, currency="JPY")},
     ("AMOUNT_INVALID", "amount", "currency_exponent")),
    ({"amount": "0"}, ("AMOUNT_INVALID", "amount", "positive")),
    ({"amount": "-5.00"}, ("AMOUNT_INVALID", "amount", "positive")),
    ({"amount": "abc"}, ("AMOUNT_INVALID", "amount", "decimal_syntax")),
    ({"amount": "NaN"}, ("AMOUNT_INVALID", "amount", "finite")),
    ({"payer": replace(PAYER, currency="EURO")}, ("UNKNOWN_CURRENCY", "payer.currency", "iso4217")),
    ({"requested_execution_date": date(2030, 1, 9)},
     ("EXECUTION_DATE_IN_PAST", "requested_execution_date", "not_in_past")),
    ({"payee": replace(PAYEE, name="  ")}, ("FIELD_REQUIRED", "payee.name", "required")),
    ({"payer": replace(PAYER, name="")}, ("FIELD_REQUIRED", "payer.name", "required")),
    ({"payee": replace(PAYEE, name="N" * 141)}, ("TEXT_TOO_LONG", "payee.name", "max_140_chars")),
    ({"remittance_info": "R" * 141}, ("REMITTANCE_TOO_LONG", "remittance_info", "max_140_chars")),
    ({"remittance_info": "nul\x00byte"}, ("TEXT_INVALID", "remittance_info", "no_control_characters")),
    ({"payee": replace(PAYEE, name="A\x07B")}, ("TEXT_INVALID", "payee.name", "no_control_characters")),
    ({"serial": ""}, ("SERIAL_INVALID", "serial", "serial_format")),
    ({"serial": "S" * 36}, ("SERIAL_INVALID", "serial", "serial_format")),
    ({"serial": "bad serial!"}, ("SERIAL_INVALID", "serial", "serial_format")),
    ({"payee": replace(PAYEE, country="ZZ")}, ("COUNTRY_INVALID", "payee.country", "iso3166_alpha2")),
    ({"purpose_code": "supp"}, ("PURPOSE_CODE_INVALID", "purpose_code", "iso20022_purpose_code")),
    ({"urgency": "asap"}, ("URGENCY_INVALID", "urgency", "one_of")),
    ({"source": "fax"}, ("SOURCE_INVALID", "source", "one_of")),
    ({"end_to_end_id": "E" * 36}, ("END_TO_END_ID_INVALID", "end_to_end_id", "max35_swift_charset")),
    ({"company_id": ""}, ("COMPANY_INVALID", "company_id", "company_id_format")),
    ({"payer": replace(PAYER, currency="USD")}, ("CURRENCY_MISMATCH", "payer.currency", "payer_account_currency")),
    ({"payee": replace(PAYEE, address=AddressInput(street="S" * 71))},
     ("TEXT_TOO_LONG", "payee.address.street", "max_70_chars")),
])
def test_each_rule_reports_its_own_problem(changes: dict[str, Any], expected: tuple[str, str, str]) -> None:
    found = problems(**changes)
    assert found == [expected]


def test_remittance_of_exactly_140_characters_is_fine() -> None:
    assert problems(remittance_info="R" * 140) == []


def test_execution_today_is_not_in_the_past() -> None:
    assert problems(requested_execution_date=TODAY) == []


def test_all_problems_are_reported_at_once_and_build_raises_with_all() -> None:
    bad = replace(VALID, serial="", amount="0", remittance_info="R" * 200,
                  payee=replace(PAYEE, name="", country="ZZ"))
    with pytest.raises(ValidationFailed) as err:
        build_order(bad, order_id="x", today=TODAY, actor="m", at=AT)
    assert err.value.code == "VALIDATION_FAILED"
    assert {p.where for p in err.value.problems} == {"serial", "amount", "remittance_info", "payee.name",
                                                      "payee.country"}


def test_a_checked_order_builds_the_same_order_as_its_command() -> None:
    checked = check_order(VALID, today=TODAY)
    assert isinstance(checked, CheckedOrder)
    kw: dict[str, Any] = {"order_id": "0b8e2f1c-2d7a-4b8e-9a61-6f4f2e9d1c33", "today": TODAY, "actor": "m", "at": AT}
    assert build_order(checked, **kw) == build_order(VALID, **kw)


def test_check_order_reports_the_problems_check_create_order_reports() -> None:
    bad = replace(VALID, serial="", amount="0")
    assert check_order(bad, today=TODAY) == check_create_order(bad, today=TODAY)


def test_a_checked_order_built_on_a_later_day_is_checked_again() -> None:
    checked = check_order(VALID, today=TODAY)
    assert isinstance(checked, CheckedOrder)
    with pytest.raises(ValidationFailed) as err:
        build_order(checked, order_id="x", today=date(2030, 1, 11), actor="m", at=AT)
    assert [(p.code, p.where) for p in err.value.problems] == [("EXECUTION_DATE_IN_PAST", "requested_execution_date")]
