"""ISO 4217 currencies and their minor-unit exponents.

The exponent decides how many decimals an amount may carry (JPY 0, EUR 2, KWD 3, CLF 4). It is
data, not code: the table below is the ISO 4217 list of active currencies (amendment 177). Codes
without minor units in ISO (precious metals, XDR, test code XTS) are left out on purpose: a payment
in them is not something a bank-connect hub sends.
"""

from __future__ import annotations

from dataclasses import dataclass

from yinqi.domain.problems import DomainError

_EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENT_4 = "CLF UYW"
_EXPONENT_2 = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP "
    "GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK "
    "LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK "
    "NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD "
    "SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG "
    "YER ZAR ZMW ZWG"
)

EXPONENTS: dict[str, int] = {
    code: exponent
    for exponent, codes in ((0, _EXPONENT_0), (2, _EXPONENT_2), (3, _EXPONENT_3), (4, _EXPONENT_4))
    for code in codes.split()
}


class UnknownCurrency(DomainError):
    code = "UNKNOWN_CURRENCY"


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency. Construct with `Currency.of("EUR")`; the exponent comes from the table.

    >>> Currency.of("jpy").exponent
    0
    >>> Currency.of("KWD").exponent
    3
    """

    code: str
    exponent: int

    @classmethod
    def of(cls, code: str) -> Currency:
        normalised = code.strip().upper() if isinstance(code, str) else ""
        try:
            return _CACHE[normalised]
        except KeyError:
            raise UnknownCurrency(
                f"currency {code!r} is not an active ISO 4217 code", rule="iso4217", value=code
            ) from None

    def __str__(self) -> str:
        return self.code


_CACHE: dict[str, Currency] = {code: Currency(code, exp) for code, exp in EXPONENTS.items()}
