"""Read the information-to-account-owner field (:86:) of an MT940/942 statement line.

:86: is free text in the SWIFT standard; banks structure it in one of three ways, read here:

* German "GVC" structure (DFÜ-Abkommen, also used by Austrian, Dutch and Polish banks):
  `NNN?00posting text?10prima nota?20…?29 purpose?30 BIC/bank code?31 account?32?33 name?34 code
  ?60…?63 purpose continued`. The separator is the fourth character (usually `?`). SEPA lines put
  keywords inside the purpose: `EREF+` end-to-end id, `KREF+` customer reference, `MREF+` mandate,
  `CRED+` creditor id, `SVWZ+` remittance, `ABWA+`/`ABWE+` ultimate parties. A code of 999 means
  unstructured.
* SWIFT/ISO style slash codes (`/EREF/…/REMI/…/NAME/…`, e.g. Dutch and Belgian banks), read for
  EREF, REMI, NAME (with ORDP/BENM/CNTP) and RTRN (return reason).
* anything else: kept whole as remittance.

What it guarantees: total (never raises) and faithful: subfields are concatenated exactly as the
bank wrapped them (lines joined without a separator, because SWIFT wraps mid-word at 65
characters); nothing is trimmed inside values, only the ends.

>>> d = parse_details("166?00GUTSCHRIFT?20EREF+E2E-1?21SVWZ+Invoice 7?32ACME GMBH")
>>> (d.end_to_end_id, d.remittance, d.counterparty_name, d.transaction_code)
('E2E-1', 'Invoice 7', 'ACME GMBH', '166')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GVC = re.compile(r"\s*(\d{3})([^\w\s])")
_SEPA_KEY = re.compile(r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|IBAN|BIC|COAM|OAMT|SQTP|PURP)\+")
_SLASH_KEY = re.compile(r"/(EREF|REMI|NAME|RTRN|ORDP|BENM|CNTP|MARF|CSID|IREF|PREF|TRCD|BUSP|PURP|ULTC|ULTD|"
                        r"ULTB|ULTO|CHGS|EXCH|OCMT|COAM|ISDT|FX|ADDR|CITY|ACCW|BIC|IBAN)/")
_PURPOSE_KEYS = (*(f"{n}" for n in range(20, 30)), "60", "61", "62", "63")
NOT_PROVIDED = "NOTPROVIDED"


@dataclass(frozen=True, slots=True)
class Details:
    raw: str  # continuation lines joined, ends stripped
    transaction_code: str | None = None  # GVC (e.g. 166) when structured
    posting_text: str | None = None  # ?00
    remittance: str | None = None  # SVWZ+ or the purpose subfields; REMI; or the whole text
    counterparty_name: str | None = None  # ?32?33, or NAME
    counterparty_account: str | None = None  # ?31
    counterparty_bank: str | None = None  # ?30
    end_to_end_id: str | None = None  # EREF+ / EREF, NOTPROVIDED dropped
    customer_reference: str | None = None  # KREF+
    mandate_reference: str | None = None  # MREF+
    creditor_id: str | None = None  # CRED+
    return_reason: str | None = None  # RTRN


def parse_details(text: str) -> Details:
    raw = text.replace("\n", "").strip()
    m = _GVC.match(raw)
    if m and m.group(1) != "999" and (m.group(2) + "00" in raw or m.group(2) + "20" in raw):
        return _gvc(raw, m.group(1), m.group(2), raw[m.end() - 1:])
    if raw.startswith("/") and _SLASH_KEY.search(raw):
        return _slash(raw)
    return Details(raw=raw, remittance=raw or None)


def _gvc(raw: str, code: str, sep: str, body: str) -> Details:
    subfields: dict[str, str] = {}
    key = ""
    for part in body.split(sep)[1:]:
        if len(part) >= 2 and part[:2].isdigit():
            key, value = part[:2], part[2:]
        else:  # a separator character inside a value, not a subfield start: keep it as text
            value = sep + part
        subfields[key] = subfields.get(key, "") + value
    purpose = "".join(subfields.get(k, "") for k in _PURPOSE_KEYS)
    sepa = _sepa(purpose)
    name = (subfields.get("32", "") + subfields.get("33", "")).strip()
    return Details(
        raw=raw, transaction_code=code, posting_text=_clean(subfields.get("00")),
        remittance=_clean(sepa.get("SVWZ", purpose if not sepa else "")),
        counterparty_name=name or None, counterparty_account=_clean(subfields.get("31")),
        counterparty_bank=_clean(subfields.get("30")), end_to_end_id=_e2e(sepa.get("EREF")),
        customer_reference=_clean(sepa.get("KREF")), mandate_reference=_clean(sepa.get("MREF")),
        creditor_id=_clean(sepa.get("CRED")))


def _sepa(purpose: str) -> dict[str, str]:
    """'EREF+A SVWZ+B' -> {'EREF': 'A ', 'SVWZ': 'B'}; the first occurrence of a key wins."""
    marks = list(_SEPA_KEY.finditer(purpose))
    found: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(purpose)
        found.setdefault(m.group(1), purpose[m.end():end])
    return found


def _slash(raw: str) -> Details:
    marks = list(_SLASH_KEY.finditer(raw))
    found: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(raw)
        found.setdefault(m.group(1), raw[m.end():end].rstrip("/"))
    remittance = found.get("REMI", "")
    for prefix in ("USTD//", "USTD/", "STRD/CUR/", "STRD/"):
        remittance = remittance.removeprefix(prefix)
    return Details(raw=raw, remittance=_clean(remittance), counterparty_name=_clean(found.get("NAME")),
                   end_to_end_id=_e2e(found.get("EREF")), return_reason=_clean(found.get("RTRN")))


def _e2e(value: str | None) -> str | None:
    value = _clean(value)
    return None if value is None or value.upper() == NOT_PROVIDED else value


def _clean(value: str | None) -> str | None:
    return (value.strip() or None) if value else None


__all__ = ["Details", "parse_details"]
