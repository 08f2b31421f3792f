"""Business days per currency: the days on which a payment in that currency can settle.

A payment settles only when the currency's settlement system is open, so the calendar follows the
currency, not the payer's or payee's country: EUR follows TARGET2 (the ECB's calendar), CNY the
mainland Chinese public holidays including the weekends the State Council declares working days
(调休, which the `holidays` package models as `weekend_workdays`), USD the Federal Reserve
(Fedwire) holidays, GBP the bank holidays of England (CHAPS and Bacs close on them). Any other
currency closes only on Saturdays and Sundays. The `holidays` package is pure data, so this module
stays in the domain; calendars are built once per currency and year range and cached.

>>> from datetime import date
>>> is_business_day(date(2030, 1, 1), "EUR"), holiday_name(date(2030, 1, 1), "EUR")
(False, "New Year's Day")
>>> next_business_day(date(2030, 1, 12), "EUR")  # a Saturday
datetime.date(2030, 1, 14)
>>> is_business_day(date(2025, 1, 26), "CNY")  # a Sunday worked in lieu of the Spring Festival
True
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

__all__ = ["CALENDAR_NAMES", "MAX_SEARCH_DAYS", "holiday_name", "is_business_day", "next_business_day"]

# Which published calendar closes each currency's settlement system (shown in error messages).
CALENDAR_NAMES: dict[str, str] = {"EUR": "TARGET2", "CNY": "China (CNAPS)", "USD": "US Federal Reserve",
                                  "GBP": "UK bank holidays (England)"}
MAX_SEARCH_DAYS = 30  # the longest closure (Spring Festival plus weekends) is far shorter
_WEEKEND = frozenset({5, 6})


@lru_cache(maxsize=64)
def _calendar(currency: str, year: int) -> holidays.HolidayBase | None:
    years = range(year - 1, year + 2)  # a search may cross the turn of the year
    if currency == "EUR":
        return holidays.financial_holidays("ECB", years=years)
    if currency == "CNY":
        return holidays.country_holidays("CN", years=years)
    if currency == "USD":
        return holidays.financial_holidays("XFED", years=years)
    if currency == "GBP":
        return holidays.country_holidays("GB", subdiv="ENG", years=years)
    return None


def holiday_name(day: date, currency: str) -> str | None:
    """Why `day` is closed for `currency` ("Saturday", a holiday's name), or None when it is open."""
    calendar = _calendar(currency.upper(), day.year)
    if calendar is not None:
        name = calendar.get(day)
        if name:
            return str(name)
        if day in _weekend_workdays(calendar):
            return None
    return day.strftime("%A") if day.weekday() in _WEEKEND else None


def _weekend_workdays(calendar: holidays.HolidayBase) -> frozenset[date]:
    return frozenset(getattr(calendar, "weekend_workdays", ()))


def is_business_day(day: date, currency: str) -> bool:
    return holiday_name(day, currency) is None


def next_business_day(day: date, currency: str) -> date:
    """`day` itself when open, else the first open day after it."""
    for offset in range(MAX_SEARCH_DAYS + 1):
        candidate = day + timedelta(days=offset)
        if is_business_day(candidate, currency):
            return candidate
    raise AssertionError(f"no business day for {currency} within {MAX_SEARCH_DAYS} days of {day}")
