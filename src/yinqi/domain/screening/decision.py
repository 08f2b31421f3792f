"""From hits to a decision: clear, review or block, by per-list thresholds.

`screen` is the whole engine for one party: normalise, block through the index, score every
candidate, keep the best name per entity, apply the list's thresholds. A query with no strong
token (only legal forms, titles or particles: "CORP", "GLOBAL LTD") is clear by construction,
because nothing in it can identify a party. Block needs a score at or above the list's block
threshold from a name that is not a weak alias; review needs the review threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from yinqi.domain.problems import DomainError
from yinqi.domain.screening.index import NameIndex
from yinqi.domain.screening.normalise import normalise_name
from yinqi.domain.screening.score import Hit, Query, explain, score_hit

HITS_MAX = 5


class InvalidThresholds(DomainError):
    code = "SCREENING_THRESHOLDS_INVALID"


class Decision(StrEnum):
    CLEAR = "clear"
    REVIEW = "review"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Per-list cut-offs on the calibrated score. Fitted values: docs/adr/0006-screening.md."""

    review: float = 0.77
    block: float = 0.95

    def __post_init__(self) -> None:
        if not 0.0 < self.review <= self.block <= 1.0:
            raise InvalidThresholds(f"need 0 < review ({self.review}) <= block ({self.block}) <= 1",
                                    rule="0<review<=block<=1", value=(self.review, self.block))


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    query: Query
    decision: Decision
    hits: tuple[Hit, ...]
    list_versions: tuple[tuple[str, str], ...] = field(default=())

    @property
    def top_score(self) -> float:
        return self.hits[0].score if self.hits else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"query": self.query.name, "decision": self.decision.value,
                "hits": [{"list": h.list_name, "entity_id": h.entity_id, "name": h.name,
                          "score": h.score, "reasons": list(h.reasons)} for h in self.hits]}


def decide(hits: list[Hit], thresholds: Mapping[str, Thresholds]) -> Decision:
    """The strictest decision any hit earns under its own list's thresholds."""
    def one(h: Hit) -> Decision:
        t = thresholds.get(h.list_name, DEFAULT_THRESHOLDS)
        if h.score >= t.block and not h.weak_alias:
            return Decision.BLOCK
        return Decision.REVIEW if h.score >= t.review else Decision.CLEAR
    verdicts = {one(h) for h in hits}
    return next((d for d in (Decision.BLOCK, Decision.REVIEW) if d in verdicts), Decision.CLEAR)


def score_query(index: NameIndex, query: Query) -> list[Hit]:
    """Every candidate's best-scoring name per entity, best first (unthresholded)."""
    norm = normalise_name(query.name)
    if not norm.strong:
        return []
    best: dict[tuple[str, str], Hit] = {}
    for item in index.candidates(norm):
        hit = score_hit(query, norm, item, index)
        key = (hit.list_name, hit.entity_id)
        if key not in best or hit.score > best[key].score:
            best[key] = hit
    return sorted(best.values(), key=lambda h: (-h.score, h.list_name, h.entity_id))


def screen(index: NameIndex, query: Query, *, thresholds: Mapping[str, Thresholds]) -> ScreeningResult:
    """Screen one party against everything in `index`."""
    return result_from_hits(index, query, score_query(index, query), thresholds=thresholds)


def result_from_hits(index: NameIndex, query: Query, hits: list[Hit], *,
                     thresholds: Mapping[str, Thresholds]) -> ScreeningResult:
    """Threshold scored hits (from `score_query`) into a result; explain the hits kept."""
    floor = {h.list_name: thresholds.get(h.list_name, DEFAULT_THRESHOLDS).review for h in hits}
    norm = normalise_name(query.name)
    kept = [explain(query, norm, h, index) for h in hits if h.score >= floor[h.list_name]][:HITS_MAX]
    return ScreeningResult(query=query, decision=decide(kept, thresholds), hits=tuple(kept))
