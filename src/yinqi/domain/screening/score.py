"""Scoring one query name against one listed name, then against the supporting fields.

A name score is a logistic model over a handful of explainable features of the best one-to-one
alignment of strong tokens (rapidfuzz similarities, with credit for initials, truncations and equal
consonant skeletons), weighted by token rarity in the list: how much of the *query* is explained by
the listed name, how much of the *listed name* the query covers, how much rare material is left over
on each side, and the similarity of the order-free keys. Its coefficients were fitted on a held-out
training split (see docs/adr/0006-screening.md); the output is a probability-like score in [0, 1].
Supporting fields then move the score in log-odds: date of birth, country, and identifiers (an
identical identifier is decisive). Every step that moves a score leaves a human-readable reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

from rapidfuzz.distance import Indel, JaroWinkler

from yinqi.domain.screening.index import IndexedName, NameIndex
from yinqi.domain.screening.normalise import NormalisedName, skeleton

# Fitted by `python -m bench.b3_screening --calibrate` on the training half of the labelled set.
# Order: bias, then FEATURES.
COEFFICIENTS: tuple[float, ...] = (-3.74, 2.284, 1.368, -2.022, -2.654, 2.187, 0.026, -2.116, 1.206)
FEATURES = ("q_cov", "c_cov", "q_left", "c_left", "key_sim", "min_sim", "single_token", "same_tokens")
MATCHED_MIN = 0.72  # a token pair below this similarity counts as unmatched
WEAK_ALIAS_CAP = 0.85


@dataclass(frozen=True, slots=True)
class Query:
    """A party to screen: name plus optional supporting fields (ISO country, ISO date, identifiers)."""

    name: str
    country: str | None = None
    birth_date: str | None = None
    identifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Alignment:
    pairs: tuple[tuple[str, str, float], ...]  # (query token, listed token, similarity)
    q_left: tuple[str, ...]
    c_left: tuple[str, ...]
    initials: tuple[str, ...]  # listed tokens explained by a query initial


@dataclass(frozen=True, slots=True)
class Hit:
    """One listed name that scored against the query, with the reasons for its score."""

    list_name: str
    entity_id: str
    name: str
    score: float
    reasons: tuple[str, ...]
    weak_alias: bool = False
    source: IndexedName | None = field(default=None, compare=False, repr=False)


@lru_cache(maxsize=262_144)
def token_similarity(a: str, b: str) -> float:
    """Similarity of two tokens in [0, 1]: edit distance, prefix (truncation), consonant skeleton."""
    if a == b:
        return 1.0
    sim = max(Indel.normalized_similarity(a, b), JaroWinkler.similarity(a, b) - 0.05)
    if min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)):
        sim = max(sim, 0.9)
    sa, sb = skeleton(a), skeleton(b)
    if len(sa) >= 2 and sa == sb:
        sim = max(sim, 0.92)
    elif sa == a or sb == b:  # one side has no vowels: compare skeletons
        sim = max(sim, 0.95 * Indel.normalized_similarity(sa, sb))
    return sim


def align(query: NormalisedName, listed: NormalisedName) -> Alignment:
    """Best one-to-one pairing of strong tokens, greedy by similarity (token order is ignored)."""
    scored = sorted(((token_similarity(q, c), qi, ci) for qi, q in enumerate(query.strong)
                     for ci, c in enumerate(listed.strong)), reverse=True)
    used_q: set[int] = set()
    used_c: set[int] = set()
    pairs = []
    for sim, qi, ci in scored:
        if sim >= MATCHED_MIN and qi not in used_q and ci not in used_c:
            used_q.add(qi)
            used_c.add(ci)
            pairs.append((query.strong[qi], listed.strong[ci], sim))
    c_left = [c for ci, c in enumerate(listed.strong) if ci not in used_c]
    letters = [t for t in query.weak if len(t) == 1]
    initials = []
    for c in c_left:
        if c[0] in letters:
            letters.remove(c[0])
            initials.append(c)
    return Alignment(pairs=tuple(pairs), q_left=tuple(q for qi, q in enumerate(query.strong) if qi not in used_q),
                     c_left=tuple(c for c in c_left if c not in initials), initials=tuple(initials))


def features(query: NormalisedName, listed: NormalisedName, index: NameIndex) -> tuple[float, ...]:
    """The name-score features (order of `FEATURES`)."""
    a = align(query, listed)
    w = index.token_weight
    q_total = sum(w(t) for t in query.strong) or 1.0
    c_total = sum(w(t) for t in listed.strong) or 1.0
    q_cov = sum(w(q) * s for q, _, s in a.pairs) / q_total
    c_cov = (sum(w(c) * s for _, c, s in a.pairs) + 0.6 * sum(w(c) for c in a.initials)) / c_total
    q_left = sum(w(t) for t in a.q_left)
    c_left = sum(w(t) for t in a.c_left)
    key_sim = Indel.normalized_similarity(query.key, listed.key)
    min_sim = min((s for _, _, s in a.pairs), default=0.0)
    single = 1.0 if len(listed.strong) == 1 or len(query.strong) == 1 else 0.0
    same = 1.0 if query.strong == listed.strong or query.key == listed.key else 0.0
    return (q_cov, c_cov, q_left, c_left, key_sim, min_sim, single, same)


def logistic(values: tuple[float, ...], coefficients: tuple[float, ...] = COEFFICIENTS) -> float:
    z = coefficients[0] + sum(c * v for c, v in zip(coefficients[1:], values, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def name_reasons(query: NormalisedName, item: IndexedName) -> list[str]:
    a = align(query, item.norm)
    label = "weak alias" if item.weak_alias else ("alias" if item.name != item.entity.names[0] else "primary name")
    tokens = ", ".join(q if q == c else f"{q}≈{c} ({s:.2f})" for q, c, s in a.pairs)
    reasons = [f"{label} {item.name!r}: tokens matched {tokens or 'none'}"]
    if a.initials:
        reasons.append("initials stand for: " + ", ".join(a.initials))
    if a.c_left:
        reasons.append("listed tokens not in query: " + ", ".join(a.c_left))
    if a.q_left:
        reasons.append("query tokens not in listed name: " + ", ".join(a.q_left))
    if query.invisible:
        reasons.append(f"{query.invisible} invisible character(s) removed from the query")
    if query.homoglyphs:
        reasons.append(f"{query.homoglyphs} look-alike Cyrillic/Greek letter(s) in the query read as Latin")
    if query.transliterated:
        reasons.append("query transliterated from a non-Latin script")
    return reasons


def _log_odds(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _dob_adjustment(query: Query, listed: tuple[str, ...]) -> tuple[float, str | None]:
    if not query.birth_date or not listed:
        return 0.0, None
    if any(query.birth_date.startswith(d) for d in listed if len(d) == 10) or query.birth_date in listed:
        return 1.5, f"date of birth {query.birth_date} matches the list"
    years = {d[:4] for d in listed}
    if query.birth_date[:4] in years:
        return 0.8, f"year of birth {query.birth_date[:4]} matches the list"
    if any(abs(int(query.birth_date[:4]) - int(y)) <= 1 for y in years):
        return 0.0, f"year of birth {query.birth_date[:4]} within a year of the list's"
    return -2.5, f"date of birth {query.birth_date} differs from the list ({', '.join(sorted(listed))})"


def _country_adjustment(query: Query, listed: tuple[str, ...]) -> tuple[float, str | None]:
    if not query.country or not listed:
        return 0.0, None
    if query.country.upper() in listed:
        return 0.5, f"country {query.country.upper()} matches the list"
    return -0.7, f"country {query.country.upper()} not among the list's ({', '.join(listed)})"


def _normal_id(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())


def _adjustments(query: Query, item: IndexedName) -> list[tuple[float, str | None]]:
    return [_dob_adjustment(query, item.entity.birth_dates), _country_adjustment(query, item.entity.countries)]


def score_hit(query: Query, norm: NormalisedName, item: IndexedName, index: NameIndex) -> Hit:
    """Score one candidate name: name model, then supporting fields, then list-quality caps.

    Reasons are left empty here (scoring runs on every candidate); `explain` fills them in for the
    few hits that are reported.
    """
    base = logistic(features(norm, item.norm, index))
    z = _log_odds(base) + sum(delta for delta, _ in _adjustments(query, item))
    score = 1.0 / (1.0 + math.exp(-z))
    listed_ids = {_normal_id(i) for i in item.entity.identifiers}
    if any(_normal_id(i) in listed_ids for i in query.identifiers):
        score = max(score, 0.99)
    elif item.weak_alias:
        score = min(score, WEAK_ALIAS_CAP)
    return Hit(list_name=item.entity.list_name, entity_id=item.entity.entity_id, name=item.name,
               score=round(score, 4), reasons=(), weak_alias=item.weak_alias, source=item)


def explain(query: Query, norm: NormalisedName, hit: Hit, index: NameIndex) -> Hit:
    """The same hit with the human-readable reasons for its score."""
    item = hit.source
    if item is None:
        return hit
    reasons = [f"name score {logistic(features(norm, item.norm, index)):.2f}", *name_reasons(norm, item)]
    reasons += [reason for _, reason in _adjustments(query, item) if reason]
    listed_ids = {_normal_id(i) for i in item.entity.identifiers}
    shared = [i for i in query.identifiers if _normal_id(i) in listed_ids]
    if shared:
        reasons.append(f"identifier {shared[0]} matches the list")
    elif item.weak_alias and hit.score >= WEAK_ALIAS_CAP:
        reasons.append(f"weak alias: score capped at {WEAK_ALIAS_CAP}, never a block on its own")
    return replace(hit, reasons=tuple(reasons))
