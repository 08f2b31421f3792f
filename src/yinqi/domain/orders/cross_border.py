"""Cross-border payments: what a payment leaving the payer's country must carry.

A payment is cross-border when the payee's country differs from the country of the payer's
account (an IBAN's country, CN for a Chinese domestic account). Inside SEPA a euro payment is
treated like a domestic one (Regulation (EU) 260/2012), so the extra data is asked for only when
it leaves SEPA or is not in euro: a purpose code from the ISO ExternalPurpose1Code list (banks
report it to their central bank; China's SAFE and most non-SEPA corridors require it) and the
payee's town, which correspondent banks need for sanctions screening (FATF Recommendation 16).
The purpose code, when given, must be a published code whatever the route.

>>> from yinqi.domain.identifiers import Iban
>>> from yinqi.domain.parties import AccountRef
>>> de = AccountRef(iban=Iban.parse("DE89370400440532013000"))
>>> needs_cross_border_data(payer_account=de, payee_country="FR", currency="EUR")
False
>>> needs_cross_border_data(payer_account=de, payee_country="CN", currency="EUR")
True
"""

from __future__ import annotations

from yinqi.domain.parties import AccountRef

__all__ = ["SEPA_COUNTRIES", "account_country", "is_cross_border", "needs_cross_border_data"]

# EPC409-09 "EPC List of Countries in the SEPA Schemes' Geographical Scope" (v8.0, 2025): the EU
# and EEA states, Switzerland, the UK, the microstates, the Crown dependencies and Gibraltar, the
# French overseas territories with their own ISO code, and (since 2025) Albania, Moldova,
# Montenegro and North Macedonia.
SEPA_COUNTRIES: frozenset[str] = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
    "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "CH", "GB", "MC", "SM", "VA", "AD",
    "GI", "JE", "GG", "IM", "AX", "GF", "GP", "MQ", "YT", "RE", "BL", "MF", "PM", "AL", "MD", "ME", "MK",
})


def account_country(account: AccountRef) -> str:
    """The country an account is held in: the IBAN's country code, CN for a domestic account."""
    return account.iban.country_code if account.iban is not None else "CN"


def is_cross_border(*, payer_account: AccountRef, payee_country: str) -> bool:
    return account_country(payer_account) != payee_country


def needs_cross_border_data(*, payer_account: AccountRef, payee_country: str, currency: str) -> bool:
    """True for a cross-border payment that is not a euro payment inside SEPA."""
    if not is_cross_border(payer_account=payer_account, payee_country=payee_country):
        return False
    inside_sepa = account_country(payer_account) in SEPA_COUNTRIES and payee_country in SEPA_COUNTRIES
    return not (currency == "EUR" and inside_sepa)
