"""Text evidence: reference tokens found in free text, and name / reference similarity.

A reference token is what an invoice number or order serial looks like once separators are gone:
at least five characters, letters and digits, with at least one digit ("INV-2026/0042" becomes
"INV20260042"). Words without digits ("RENT", "INVOICE") name nothing specific and are ignored.
Names are compared after dropping case, punctuation and legal-form words, with rapidfuzz's
token-sort ratio, so "ACME GmbH" and "Acme" agree and word order does not matter.

>>> reference_tokens("Payment for INV-2026/0042, thanks")
('INV20260042',)
>>> name_similarity("ACME Trading GmbH", "acme trading")
1.0
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import fuzz

_TOKEN = re.compile(r"[A-Z0-9][A-Z0-9\-/._]{3,}")
_SEPARATORS = re.compile(r"[\-/._]")
_PUNCT = re.compile(r"[^\w\s]")
_LEGAL = frozenset({"GMBH", "AG", "LTD", "LIMITED", "INC", "LLC", "SA", "SARL", "BV", "NV", "CO", "CORP",
                    "PLC", "KG", "SPA", "SRL", "OY", "AB", "AS", "SE", "有限公司", "股份有限公司"})


@lru_cache(maxsize=200_000)
def reference_tokens(text: str | None) -> tuple[str, ...]:
    """Normalised reference-like tokens of `text`, in order of appearance, without repeats."""
    if not text:
        return ()
    found = (_SEPARATORS.sub("", raw) for raw in _TOKEN.findall(text.upper()))
    return tuple(dict.fromkeys(t for t in found if len(t) >= 5 and any(c.isdigit() for c in t)))


@lru_cache(maxsize=200_000)
def normalise_name(name: str | None) -> str:
    if not name:
        return ""
    words = _PUNCT.sub(" ", name.upper()).split()
    return " ".join(w for w in words if w not in _LEGAL)


def name_similarity(a: str | None, b: str | None) -> float:
    """Similarity of two counterparty names in [0, 1]; 0 when either is missing."""
    left, right = normalise_name(a), normalise_name(b)
    if not left or not right:
        return 0.0
    return round(fuzz.token_sort_ratio(left, right) / 100.0, 4)


def reference_similarity(item_refs: tuple[str, ...], line_tokens: tuple[str, ...]) -> float:
    """Best similarity in [0, 1] between an item's reference tokens and the line's text tokens."""
    best = 0.0
    for ref in item_refs:
        for token in line_tokens:
            if ref == token:
                return 1.0
            if abs(len(ref) - len(token)) <= 2:
                best = max(best, fuzz.ratio(ref, token) / 100.0)
    return round(best, 4)
