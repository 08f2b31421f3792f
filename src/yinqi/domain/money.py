"""Money: an integer count of minor units plus an ISO 4217 currency. Never a float.

Amounts cross the boundary as decimal strings or `Decimal`; inside they are `int` minor units, so
sums are exact. Turning a decimal with more places than the currency allows into minor units is a
rounding decision, and the caller must make it: `Money.parse` refuses extra places unless it is
given a rounding mode. Arithmetic across currencies is a typed error, not an exception from deep
inside Python.

>>> Money.parse("12.34", "EUR")
Money(minor=1234, currency='EUR')
>>> str(Money.parse("1000", "JPY") + Money.parse("1", "JPY"))
'1001 JPY'
>>> Money.parse("0.125", "EUR", rounding=ROUND_HALF_EVEN).amount
Decimal('0.12')
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

from yinqi.domain.currency import Currency
from yinqi.domain.problems import DomainError

__all__ = ["ROUND_HALF_EVEN", "ROUND_HALF_UP", "AmountInvalid", "CurrencyMismatch", "Money"]

_MAX_DIGITS = 18  # minor units must fit a signed 64-bit column on every database


class CurrencyMismatch(DomainError):
    code = "CURRENCY_MISMATCH"


class AmountInvalid(DomainError):
    code = "AMOUNT_INVALID"


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount. `minor` is signed: debits and credits are a sign, not a flag."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise AmountInvalid(f"minor units must be an int, got {type(self.minor).__name__}",
                                rule="integer_minor_units", value=self.minor)
        if abs(self.minor) >= 10**_MAX_DIGITS:
            raise AmountInvalid("amount has more than 18 digits", rule="max_digits", value=self.minor)
        Currency.of(self.currency)  # validates the code
        if self.currency != self.currency.upper():
            object.__setattr__(self, "currency", self.currency.upper())

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, amount: str | Decimal | int, currency: str, *, rounding: str | None = None) -> Money:
        """Read a decimal amount. Extra decimal places are an error unless `rounding` is given.

        Raises:
            AmountInvalid (AMOUNT_INVALID): not a finite decimal, a float, or too many decimals.
            UnknownCurrency (UNKNOWN_CURRENCY): the currency is not ISO 4217.
        """
        cur = Currency.of(currency)
        value = _to_decimal(amount)
        scaled = value.scaleb(cur.exponent)
        if scaled != scaled.to_integral_value():
            if rounding is None:
                raise AmountInvalid(
                    f"{amount} has more decimals than {cur.code} allows ({cur.exponent})",
                    rule="currency_exponent", value=amount)
            scaled = scaled.quantize(Decimal(1), rounding=rounding)
        return cls(int(scaled), cur.code)

    # --- views --------------------------------------------------------------------------------
    @property
    def exponent(self) -> int:
        return Currency.of(self.currency).exponent

    @property
    def amount(self) -> Decimal:
        """The amount as a Decimal with exactly the currency's number of places."""
        return Decimal(self.minor).scaleb(-self.exponent)

    def format(self) -> str:
        """The signed decimal string used in every API and file: '-12.50', '1000' for JPY."""
        return f"{self.amount:f}"

    def __str__(self) -> str:
        return f"{self.format()} {self.currency}"

    # --- arithmetic ---------------------------------------------------------------------------
    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}",
                                   rule="same_currency", value=other.currency)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.minor), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def is_zero(self) -> bool:
        return self.minor == 0

    def is_positive(self) -> bool:
        return self.minor > 0

    def allocate(self, ratios: list[int]) -> list[Money]:
        """Split into parts proportional to `ratios`, losing nothing: the remainder minor units go
        one each to the first parts (largest-remainder would also do; this is the documented rule).

        >>> [m.minor for m in Money(100, "EUR").allocate([1, 1, 1])]
        [34, 33, 33]
        """
        if not ratios or any(r < 0 for r in ratios) or sum(ratios) == 0:
            raise AmountInvalid("ratios must be non-negative and not all zero", rule="allocation_ratios")
        total = sum(ratios)
        parts = [self.minor * r // total for r in ratios]
        for i in range(self.minor - sum(parts)):
            parts[i % len(parts)] += 1
        return [Money(p, self.currency) for p in parts]


def _to_decimal(amount: str | Decimal | int) -> Decimal:
    if isinstance(amount, float | bool):
        raise AmountInvalid("amounts are never floats: pass a decimal string", rule="no_float", value=amount)
    try:
        value = Decimal(amount.strip()) if isinstance(amount, str) else Decimal(amount)
    except (InvalidOperation, ValueError, TypeError):
        raise AmountInvalid(f"{amount!r} is not a decimal amount", rule="decimal_syntax", value=amount) from None
    if not value.is_finite():
        raise AmountInvalid(f"{amount!r} is not a finite amount", rule="finite", value=amount)
    if value != 0 and value.adjusted() >= _MAX_DIGITS:
        raise AmountInvalid(f"{amount!r} has more than {_MAX_DIGITS} digits", rule="max_digits", value=amount)
    if value.as_tuple().exponent < -_MAX_DIGITS:  # type: ignore[operator]
        raise AmountInvalid(f"{amount!r} has more than {_MAX_DIGITS} decimals", rule="max_decimals",
                            value=amount)
    return value
