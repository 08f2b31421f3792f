"""Business days per currency: each settlement system's own calendar, weekends elsewhere."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yinqi.domain.calendar import holiday_name, is_business_day, next_business_day


@pytest.mark.parametrize(("day", "currency", "closed"), [
    (date(2030, 1, 1), "EUR", "New Year's Day"),
    (date(2030, 4, 19), "EUR", "Good Friday"),
    (date(2030, 12, 26), "EUR", "Christmas Holiday"),
    (date(2030, 7, 4), "USD", "Independence Day"),
    (date(2030, 11, 28), "USD", "Thanksgiving Day"),
    (date(2030, 8, 26), "GBP", "Late Summer Bank Holiday"),
    (date(2025, 10, 1), "CNY", "National Day"),
    (date(2025, 1, 29), "CNY", "Chinese New Year (Spring Festival)"),
    (date(2030, 1, 12), "CHF", "Saturday"),
    (date(2030, 1, 13), "EUR", "Sunday"),
])
def test_closed_days_name_the_reason(day: date, currency: str, closed: str) -> None:
    assert holiday_name(day, currency) == closed
    assert not is_business_day(day, currency)


def test_a_holiday_of_one_currency_is_a_business_day_of_another() -> None:
    assert not is_business_day(date(2030, 7, 4), "USD")
    assert is_business_day(date(2030, 7, 4), "EUR")
    assert is_business_day(date(2030, 5, 6), "EUR") and not is_business_day(date(2030, 5, 6), "GBP")


def test_chinese_adjusted_working_weekends_are_business_days_for_cny_only() -> None:
    sunday_worked = date(2025, 1, 26)  # 调休: worked in lieu of the Spring Festival
    assert sunday_worked.weekday() == 6
    assert is_business_day(sunday_worked, "CNY")
    assert not is_business_day(sunday_worked, "EUR")


def test_next_business_day_skips_weekends_and_holidays() -> None:
    assert next_business_day(date(2030, 1, 10), "EUR") == date(2030, 1, 10)
    assert next_business_day(date(2030, 4, 19), "EUR") == date(2030, 4, 23)  # Good Friday to Easter Tuesday
    assert next_business_day(date(2025, 1, 28), "CNY") == date(2025, 2, 5)  # Spring Festival closure


@given(st.dates(date(2024, 1, 1), date(2031, 12, 31)), st.sampled_from(["EUR", "CNY", "USD", "GBP", "JPY"]))
def test_next_business_day_is_open_and_nothing_before_it_is(day: date, currency: str) -> None:
    found = next_business_day(day, currency)
    assert found >= day and is_business_day(found, currency)
    assert all(not is_business_day(day + timedelta(days=i), currency) for i in range((found - day).days))
