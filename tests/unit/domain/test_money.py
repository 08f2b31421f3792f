import contextlib
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yinqi.domain.currency import Currency, UnknownCurrency
from yinqi.domain.money import AmountInvalid, CurrencyMismatch, Money

CODES = ["EUR", "USD", "CNY", "JPY", "KWD", "BHD", "CLF"]
money = st.builds(Money, st.integers(-(10**15), 10**15), st.sampled_from(["EUR"]))


@pytest.mark.parametrize(("code", "exponent"), [("JPY", 0), ("CNY", 2), ("EUR", 2), ("USD", 2),
                                                ("BHD", 3), ("KWD", 3), ("CLF", 4)])
def test_currency_exponent_follows_iso_4217(code: str, exponent: int) -> None:
    assert Currency.of(code).exponent == exponent


def test_unknown_currency_is_a_typed_error_naming_the_code() -> None:
    with pytest.raises(UnknownCurrency) as err:
        Currency.of("XYZ")
    assert err.value.code == "UNKNOWN_CURRENCY" and "XYZ" in err.value.message


@pytest.mark.parametrize(("text", "code", "minor"), [("12.34", "EUR", 1234), ("1000", "JPY", 1000),
                                                      ("1.234", "KWD", 1234), ("-0.50", "CNY", -50),
                                                      ("7", "USD", 700)])
def test_parse_reads_decimal_strings_into_minor_units(text: str, code: str, minor: int) -> None:
    assert Money.parse(text, code) == Money(minor, code)


def test_parse_refuses_more_decimals_than_the_currency_allows() -> None:
    with pytest.raises(AmountInvalid) as err:
        Money.parse("1.5", "JPY")
    assert err.value.rule == "currency_exponent"


def test_parse_rounds_only_when_told_how() -> None:
    assert Money.parse("0.125", "EUR", rounding=ROUND_HALF_EVEN).minor == 12
    assert Money.parse("0.125", "EUR", rounding=ROUND_HALF_UP).minor == 13
    assert Money.parse("-0.125", "EUR", rounding=ROUND_HALF_UP).minor == -13


@pytest.mark.parametrize("bad", [1.5, "abc", "NaN", "Infinity", "", "1e999999999"])
def test_parse_refuses_floats_and_non_decimals(bad: object) -> None:
    with pytest.raises(AmountInvalid):
        Money.parse(bad, "EUR")  # type: ignore[arg-type]


def test_minor_units_must_be_an_integer() -> None:
    with pytest.raises(AmountInvalid):
        Money(1.0, "EUR")  # type: ignore[arg-type]
    with pytest.raises(AmountInvalid):
        Money(True, "EUR")


def test_mixed_currency_arithmetic_is_a_typed_error() -> None:
    with pytest.raises(CurrencyMismatch) as err:
        Money(1, "EUR") + Money(1, "USD")
    assert err.value.code == "CURRENCY_MISMATCH"
    with pytest.raises(CurrencyMismatch):
        _ = Money(1, "EUR") < Money(1, "USD")


@pytest.mark.parametrize(("minor", "code", "text"), [(1234, "EUR", "12.34"), (-1250, "EUR", "-12.50"),
                                                      (5, "JPY", "5"), (1, "KWD", "0.001"), (0, "EUR", "0.00")])
def test_format_writes_exactly_the_currency_exponent(minor: int, code: str, text: str) -> None:
    assert Money(minor, code).format() == text


@given(st.integers(-(10**15), 10**15), st.sampled_from(CODES))
def test_format_then_parse_round_trips(minor: int, code: str) -> None:
    m = Money(minor, code)
    assert Money.parse(m.format(), code) == m
    assert m.amount == Decimal(minor).scaleb(-Currency.of(code).exponent)


@given(money, money, money)
def test_addition_is_associative_and_subtraction_inverts_it(a: Money, b: Money, c: Money) -> None:
    assert (a + b) + c == a + (b + c)
    assert (a + b) - b == a
    assert -a + a == Money.zero(a.currency)


@given(st.integers(0, 10**12), st.lists(st.integers(0, 1000), min_size=1, max_size=12).filter(lambda r: sum(r) > 0))
def test_allocate_never_loses_or_creates_a_minor_unit(minor: int, ratios: list[int]) -> None:
    parts = Money(minor, "EUR").allocate(ratios)
    assert sum(p.minor for p in parts) == minor
    assert all(p.minor >= 0 for p in parts)


@given(st.text(max_size=40))
def test_parse_of_arbitrary_text_raises_only_the_typed_error(text: str) -> None:
    with contextlib.suppress(AmountInvalid):
        Money.parse(text, "EUR")
