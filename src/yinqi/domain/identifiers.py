"""Identifiers that travel with a payment: order serials, end-to-end ids, IBAN, BIC, CNAPS codes.

Each is a frozen value object that cannot hold an invalid value (STYLE rule 3): construct it with
`parse`, which raises a `DomainError` naming the rule and the offending value. IBAN and BIC checks
are schwifty's (ISO 13616 checksum and per-country BBAN format, ISO 9362 structure and country);
parsed IBANs are cached because the same payer accounts are checked on every order.
Chinese domestic accounts have no IBAN: they are an account number (6-32 digits) at a bank named
by its 12-digit CNAPS code (中国现代化支付系统行号).

>>> OrderSerial.parse("ERP-2024/0001").value
'ERP-2024/0001'
>>> Iban.parse("de89 3704 0044 0532 0130 00").compact
'DE89370400440532013000'
>>> Iban.parse("DE89370400440532013000").masked
'DE89**************3000'
>>> CnDomesticAccount.parse(number="6222021234567890", cnaps="102100099996").ledger_key
'CN102100099996-6222021234567890'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pycountry
from schwifty import BIC as _SchwiftyBic
from schwifty import IBAN as _SchwiftyIban
from schwifty.exceptions import SchwiftyException

from yinqi.domain.problems import DomainError

__all__ = [
    "Bic", "BicInvalid", "CnDomesticAccount", "CnapsCode", "CountryCode", "CountryInvalid",
    "DomesticAccountInvalid", "EndToEndId", "EndToEndIdInvalid", "Iban", "IbanInvalid",
    "OrderSerial", "SerialInvalid",
]

_SERIAL = re.compile(r"[A-Za-z0-9\-_/.]{1,35}")
# ISO 20022 Max35Text restricted to the SWIFT "x" character set, which every bank accepts.
_END_TO_END = re.compile(r"[A-Za-z0-9/\-?:().,'+]{1,35}")
_CNAPS = re.compile(r"[0-9]{12}")
_CN_ACCOUNT = re.compile(r"[0-9]{6,32}")


class SerialInvalid(DomainError):
    code = "SERIAL_INVALID"


class EndToEndIdInvalid(DomainError):
    code = "END_TO_END_ID_INVALID"


class IbanInvalid(DomainError):
    code = "IBAN_INVALID"


class BicInvalid(DomainError):
    code = "BIC_INVALID"


class DomesticAccountInvalid(DomainError):
    code = "DOMESTIC_ACCOUNT_INVALID"


class CountryInvalid(DomainError):
    code = "COUNTRY_INVALID"


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class OrderSerial:
    """The company's own unique reference for an order (交易流水号): 1-35 of [A-Za-z0-9-_/.]."""

    value: str

    @classmethod
    def parse(cls, raw: object, *, where: str = "serial") -> OrderSerial:
        text = raw if isinstance(raw, str) else ""  # not stripped: the serial is matched exactly
        if not _SERIAL.fullmatch(text):  # fullmatch: a trailing newline must not slip through
            raise SerialInvalid("serial must be 1-35 characters of A-Z a-z 0-9 - _ / .",
                                where=where, rule="serial_format", value=raw)
        return cls(text)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class EndToEndId:
    """The id the payer's bank carries to the payee's bank and back in every status (Max35Text)."""

    value: str

    @classmethod
    def parse(cls, raw: object, *, where: str = "end_to_end_id") -> EndToEndId:
        text = raw if isinstance(raw, str) else ""
        if not _END_TO_END.fullmatch(text):
            raise EndToEndIdInvalid(
                "end-to-end id must be 1-35 characters of A-Z a-z 0-9 / - ? : ( ) . , ' +",
                where=where, rule="max35_swift_charset", value=raw)
        return cls(text)

    @classmethod
    def from_order_id(cls, order_id: str) -> EndToEndId:
        """The generated id when the client gives none: 'E' + the order uuid's 32 hex digits."""
        return cls.parse("E" + order_id.replace("-", "").upper()[:32])

    def __str__(self) -> str:
        return self.value


# Bounds above the number of distinct accounts a large import names (an LRU smaller than the working
# set misses on every cyclic pass); only the compact strings are kept, not schwifty's objects.
IDENTIFIER_CACHE_SIZE = 65_536


@lru_cache(maxsize=IDENTIFIER_CACHE_SIZE)
def _parse_iban(compact: str) -> str:
    return _SchwiftyIban(compact).compact


@lru_cache(maxsize=IDENTIFIER_CACHE_SIZE)
def _parse_bic(text: str) -> str:
    return _SchwiftyBic(text).compact


@lru_cache(maxsize=1024)
def _known_country(code: str) -> bool:
    return len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None


@dataclass(frozen=True, slots=True)
class Iban:
    """An ISO 13616 IBAN in compact form, checked by schwifty (checksum and country BBAN format)."""

    compact: str

    @classmethod
    def parse(cls, raw: object, *, where: str = "iban") -> Iban:
        compact = _text(raw).replace(" ", "").upper()
        try:
            return cls(_parse_iban(compact))
        except SchwiftyException as exc:
            raise IbanInvalid(f"invalid IBAN: {exc}", where=where, rule=_iban_rule(exc),
                              value=raw) from None

    @property
    def country_code(self) -> str:
        return self.compact[:2]

    @property
    def masked(self) -> str:
        return self.compact[:4] + "*" * (len(self.compact) - 8) + self.compact[-4:]

    def __str__(self) -> str:
        return self.compact


def _iban_rule(exc: SchwiftyException) -> str:
    """schwifty's exception class names the rule: InvalidChecksumDigits -> 'checksum' ..."""
    name = type(exc).__name__
    return {"InvalidChecksumDigits": "checksum", "InvalidLength": "length",
            "InvalidCountryCode": "country", "InvalidStructure": "bban_format",
            "InvalidBBANChecksum": "bban_checksum"}.get(name, "iban_format")


@dataclass(frozen=True, slots=True)
class Bic:
    """An ISO 9362 BIC (8 or 11 characters, known country), as schwifty checks it."""

    value: str

    @classmethod
    def parse(cls, raw: object, *, where: str = "bic") -> Bic:
        text = _text(raw).replace(" ", "").upper()
        try:
            return cls(_parse_bic(text))
        except SchwiftyException as exc:
            raise BicInvalid(f"invalid BIC: {exc}", where=where,
                             rule="country" if "country" in str(exc).lower() else "bic_format",
                             value=raw) from None

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class CnapsCode:
    """A 12-digit CNAPS bank code (大额支付系统行号) naming a Chinese bank branch."""

    value: str

    @classmethod
    def parse(cls, raw: object, *, where: str = "cnaps") -> CnapsCode:
        text = _text(raw)
        if not _CNAPS.fullmatch(text):
            raise DomesticAccountInvalid("CNAPS bank code must be exactly 12 digits", where=where,
                                         rule="cnaps_12_digits", value=raw)
        return cls(text)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class CnDomesticAccount:
    """A Chinese domestic account: 6-32 digit account number at the bank a CNAPS code names."""

    number: str
    cnaps: CnapsCode

    @classmethod
    def parse(cls, *, number: object, cnaps: object, where: str = "account") -> CnDomesticAccount:
        return cls(cls.parse_number(number, where=f"{where}.number"),
                   CnapsCode.parse(cnaps, where=f"{where}.cnaps"))

    @staticmethod
    def parse_number(raw: object, *, where: str = "account.number") -> str:
        text = _text(raw).replace(" ", "")
        if not _CN_ACCOUNT.fullmatch(text):
            raise DomesticAccountInvalid("domestic account number must be 6-32 digits", where=where,
                                         rule="cn_account_digits", value=raw)
        return text

    @property
    def ledger_key(self) -> str:
        return f"CN{self.cnaps.value}-{self.number}"

    @property
    def masked(self) -> str:
        return "*" * (len(self.number) - 4) + self.number[-4:]


@dataclass(frozen=True, slots=True)
class CountryCode:
    """An ISO 3166-1 alpha-2 country code."""

    value: str

    @classmethod
    def parse(cls, raw: object, *, where: str = "country") -> CountryCode:
        text = _text(raw).upper()
        if not _known_country(text):
            raise CountryInvalid("country must be an ISO 3166-1 alpha-2 code", where=where,
                                 rule="iso3166_alpha2", value=raw)
        return cls(text)

    def __str__(self) -> str:
        return self.value
