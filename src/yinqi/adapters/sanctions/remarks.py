"""Supporting fields from OFAC free-text remarks: aliases, dates of birth, nationality, identifiers.

OFAC's sdn.csv folds these into the remarks column ("DOB 21 Jan 1971; nationality Iraq; a.k.a.
'BILAL'; Passport A123 (Iraq)"). The parsers are tolerant: what they cannot read they skip.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

_ALIAS = re.compile(r"\b[afn]\.k\.a\.,?\s*'([^']+)'")
_DOB = re.compile(r"\bDOB (?:circa |c\. )?(\d{1,2} [A-Z][a-z]{2} \d{4}|[A-Z][a-z]{2} \d{4}|\d{4})")
_NATION = re.compile(r"\b(?:nationality|citizen|Nationality of Registration|Flag) "
                     r"([A-Z][A-Za-z ,'().-]+?)(?=;|\.\s|\.$|$)")
_ID = re.compile(r"\b(?:Passport|National ID No\.|Cedula No\.|Tax ID No\.|NIT #|RFC|Registration ID|SSN"
                 r"|D\.N\.I\.|C\.U\.R\.P\.|IMO|MMSI|SWIFT/BIC|Registration Number|Identification Number)"
                 r"\s+([A-Z0-9][A-Z0-9-]{3,})")
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}  # noqa: SIM905
_COUNTRY_ALIASES = {"russia": "RU", "iran": "IR", "syria": "SY", "north korea": "KP", "korea, north": "KP",
                    "south korea": "KR", "venezuela": "VE", "bolivia": "BO", "tanzania": "TZ", "burma": "MM",
                    "vietnam": "VN", "laos": "LA", "moldova": "MD", "turkey": "TR", "west bank": "PS",
                    "palestinian": "PS", "congo, democratic republic of the": "CD", "the bahamas": "BS",
                    "united kingdom": "GB", "czech republic": "CZ", "macedonia": "MK", "taiwan": "TW"}


def aliases(remarks: str) -> list[str]:
    return [a.strip() for a in _ALIAS.findall(remarks) if a.strip()]


def birth_date(text: str) -> str | None:
    """'21 Jan 1971' → '1971-01-21'; 'Jan 1971' → '1971-01'; '1971' → '1971'."""
    parts = text.split()
    try:
        if len(parts) == 3:
            return f"{int(parts[2]):04d}-{_MONTHS[parts[1][:3]]:02d}-{int(parts[0]):02d}"
        if len(parts) == 2:
            return f"{int(parts[1]):04d}-{_MONTHS[parts[0][:3]]:02d}"
        return f"{int(parts[0]):04d}" if parts and len(parts[0]) == 4 else None
    except (KeyError, ValueError):
        return None


def birth_dates(remarks: str) -> list[str]:
    return [d for d in (birth_date(t) for t in _DOB.findall(remarks)) if d]


@lru_cache(maxsize=2048)
def country_code(name: str) -> str | None:
    """An ISO alpha-2 code for a country name or code, or None."""
    key = name.strip().strip(".").lower()
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    try:
        return str(pycountry.countries.lookup(key).alpha_2)
    except LookupError:
        return None


def countries(remarks: str) -> list[str]:
    return [c for c in (country_code(n) for n in _NATION.findall(remarks)) if c]


def identifiers(remarks: str) -> list[str]:
    return list(dict.fromkeys(_ID.findall(remarks)))
