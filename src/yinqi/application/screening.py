"""Screening use cases: load a list version, screen parties, evaluate on labelled queries.

The engine is `domain.screening`; this module owns the list store port and keeps one built index
per set of list versions, so a new version is indexed once (the index build is the "cold start").
No I/O here: adapters implement `SanctionsListStore`, entrypoints read files and print.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from yinqi.domain.problems import NotFound
from yinqi.domain.screening.decision import (
    DEFAULT_THRESHOLDS,
    ScreeningResult,
    Thresholds,
    result_from_hits,
    score_query,
    screen,
)
from yinqi.domain.screening.evaluation import Metrics, Outcome, metrics_by_group
from yinqi.domain.screening.index import NameIndex
from yinqi.domain.screening.listing import ListDiff, ListedEntity, diff_entities
from yinqi.domain.screening.score import Query


class UnknownList(NotFound):
    code = "SANCTIONS_LIST_UNKNOWN"


@dataclass(frozen=True, slots=True)
class ListVersion:
    list_name: str
    version: int
    entities: tuple[ListedEntity, ...]
    source: str
    loaded_at_utc: str
    sha256: str


class SanctionsListStore(Protocol):
    """Versioned storage of loaded lists (files today; a table with pipeline integration)."""

    def list_names(self) -> list[str]: ...

    def latest(self, list_name: str) -> ListVersion | None: ...

    def save(self, *, list_name: str, entities: Sequence[ListedEntity], source: str,
             loaded_at_utc: str, sha256: str) -> ListVersion: ...


@dataclass(frozen=True, slots=True)
class LoadReport:
    version: ListVersion
    previous: int | None
    diff: ListDiff


def load_list(*, store: SanctionsListStore, list_name: str, entities: Sequence[ListedEntity], source: str,
              loaded_at_utc: str, sha256: str) -> LoadReport:
    """Store a new version of `list_name` and report what changed against the previous one."""
    previous = store.latest(list_name)
    version = store.save(list_name=list_name, entities=entities, source=source,
                         loaded_at_utc=loaded_at_utc, sha256=sha256)
    diff = diff_entities(previous.entities if previous else (), version.entities)
    return LoadReport(version=version, previous=previous.version if previous else None, diff=diff)


class Screener:
    """One index over the chosen lists' latest versions, plus their thresholds."""

    def __init__(self, versions: Sequence[ListVersion], thresholds: Mapping[str, Thresholds] | None = None) -> None:
        self.versions = tuple(versions)
        self.index = NameIndex.build(e for v in self.versions for e in v.entities)
        self.thresholds = dict(thresholds or {})

    @classmethod
    def from_store(cls, store: SanctionsListStore, *, lists: Iterable[str] | None = None,
                   thresholds: Mapping[str, Thresholds] | None = None) -> Screener:
        """Raises: UnknownList (SANCTIONS_LIST_UNKNOWN) if a named list was never loaded."""
        names = list(lists) if lists else store.list_names()
        versions = []
        for name in names:
            v = store.latest(name)
            if v is None:
                raise UnknownList(f"sanctions list {name!r} has not been loaded", where="list", value=name)
            versions.append(v)
        return cls(versions, thresholds)

    def screen(self, query: Query) -> ScreeningResult:
        return screen(self.index, query, thresholds=self.thresholds)


@dataclass(frozen=True, slots=True)
class LabelledCase:
    query: Query
    expected_entity_id: str | None  # None: nothing may be hit
    group: str


def outcome(screener: Screener, case: LabelledCase) -> Outcome:
    scored = score_query(screener.index, case.query)
    result = result_from_hits(screener.index, case.query, scored, thresholds=screener.thresholds)
    flagged = result.decision.value != "clear"
    if case.expected_entity_id is None:
        return Outcome(case.group, False, flagged, False, result.top_score)
    found = flagged and any(h.entity_id == case.expected_entity_id for h in result.hits)
    expected = [h.score for h in scored if h.entity_id == case.expected_entity_id]
    return Outcome(case.group, True, flagged, found, expected[0] if expected else 0.0)


def evaluate(*, screener: Screener, cases: Iterable[LabelledCase]) -> dict[str, Metrics]:
    """Metrics overall and per group (perturbation family) of labelled cases."""
    return metrics_by_group(outcome(screener, c) for c in cases)


__all__ = ["DEFAULT_THRESHOLDS", "LabelledCase", "ListVersion", "LoadReport", "SanctionsListStore",
           "Screener", "Thresholds", "UnknownList", "evaluate", "load_list"]
