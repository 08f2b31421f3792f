"""The engine on a small list: listed names are found through spelling tricks, generic ones are not."""

from __future__ import annotations

import pytest

from yinqi.domain.screening.decision import Decision, Thresholds, screen
from yinqi.domain.screening.evaluation import Outcome, metrics, roc_auc
from yinqi.domain.screening.index import NameIndex
from yinqi.domain.screening.listing import InvalidListEntry, ListedEntity, diff_entities
from yinqi.domain.screening.normalise import normalise_name
from yinqi.domain.screening.score import Query

ENTITIES = [
    ListedEntity("test", "1", ("KARIMOV, Muhammad Yusuf",), kind="individual", birth_dates=("1961-03-12",),
                 countries=("UZ",)),
    ListedEntity("test", "2", ("KOREA HYOKSIN TRADING CORPORATION",), kind="organisation"),
    ListedEntity("test", "3", ("VOLKOVA, Aleksandr Ivanovich",), kind="individual", weak_aliases=("SASHA",)),
    ListedEntity("test", "4", ("GLOBAL TRADING LTD", "CORP"), kind="organisation", identifiers=("IMO9123456",)),
    *[ListedEntity("test", f"f{i}", (f"FILLER{chr(97 + i % 26)}{i} TRADING GROUP LTD",)) for i in range(60)],
]
INDEX = NameIndex.build(ENTITIES)
T = {"test": Thresholds()}


def run(name: str, **kw: str) -> tuple[Decision, list[str]]:
    result = screen(INDEX, Query(name, **kw), thresholds=T)
    return result.decision, [h.entity_id for h in result.hits]


@pytest.mark.parametrize("query", [
    "KARIMOV, Muhammad Yusuf",
    "Yusuf Muhammad KARIMOV",  # reordered
    "KARIMOV, Muhamad Yusuf",  # typo
    "KARIMОV, Muhammad Yusuf",  # Cyrillic О
    "KARI\u200bMOV, Muhammad\u2060 Yusuf",  # invisible characters
    "Mr. KARIMOV Muhammad Yusuf",  # title
])
def test_a_listed_name_with_spelling_tricks_is_a_hit_with_reasons(query: str) -> None:
    result = screen(INDEX, Query(query), thresholds=T)
    assert result.decision is not Decision.CLEAR
    assert result.hits[0].entity_id == "1"
    assert result.hits[0].reasons and "tokens matched" in " ".join(result.hits[0].reasons)


def test_homoglyph_and_invisible_reasons_are_stated() -> None:
    hit = screen(INDEX, Query("KARI\u200bMОV, Muhammad Yusuf"), thresholds=T).hits[0]
    text = " ".join(hit.reasons)
    assert "invisible character" in text and "look-alike" in text


@pytest.mark.parametrize("query", ["CORP", "TRADING", "GLOBAL LTD", "Trading Co Ltd", "LLC", "GROUP"])
def test_short_generic_names_stay_clear(query: str) -> None:
    assert run(query)[0] is Decision.CLEAR


def test_a_different_person_sharing_a_surname_is_clear() -> None:
    assert run("KARIMOV Dilshod")[0] is Decision.CLEAR


def test_a_contradicting_date_of_birth_lowers_the_score_and_says_why() -> None:
    same = screen(INDEX, Query("KARIMOV Muhammad Yusuf", birth_date="1961-03-12"), thresholds=T)
    other = screen(INDEX, Query("KARIMOV Muhammad Yusuf", birth_date="1990-01-01"), thresholds=T)
    assert same.top_score > other.top_score
    assert any("date of birth" in r for r in same.hits[0].reasons)


def test_a_weak_alias_alone_never_blocks() -> None:
    decision, _ = run("Sasha")
    assert decision is not Decision.BLOCK


def test_an_identical_identifier_is_decisive() -> None:
    result = screen(INDEX, Query("Global Trading", identifiers=("IMO 9123456",)), thresholds=T)
    assert result.decision is Decision.BLOCK and result.hits[0].entity_id == "4"


def test_a_query_scores_only_the_candidates_the_index_returns() -> None:
    candidates = INDEX.candidates(normalise_name("KARIMOV Muhammad"), limit=5)
    assert 1 <= len(candidates) <= 5 and candidates[0].entity.entity_id == "1"


def test_list_diff_reports_added_removed_and_changed_entries() -> None:
    old = ENTITIES[:3]
    new = [ENTITIES[0], ListedEntity("test", "2", ("KOREA HYOKSIN TRADING CORP",)), ENTITIES[3]]
    diff = diff_entities(old, new)
    assert (diff.added, diff.removed, diff.changed) == (("4",), ("3",), ("2",))
    assert diff.summary() == "1 added, 1 removed, 1 changed"


def test_an_entry_without_a_name_is_refused() -> None:
    with pytest.raises(InvalidListEntry) as exc:
        ListedEntity("test", "9", ("  ",))
    assert exc.value.code == "SANCTIONS_ENTRY_INVALID"


def test_roc_auc_matches_the_mann_whitney_definition_with_ties() -> None:
    assert roc_auc([0.9, 0.8, 0.5], [0.5, 0.1]) == pytest.approx(5.5 / 6)
    m = metrics([Outcome("g", True, True, True, 0.9), Outcome("g", False, True, False, 0.6),
                 Outcome("g", False, False, False, 0.1)])
    assert (m.recall, m.false_positive_rate, m.precision) == (1.0, 0.5, 0.5)
