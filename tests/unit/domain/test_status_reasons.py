"""ISO external status reason codes render in plain words; unknown codes still render."""

from __future__ import annotations

import pytest

from yinqi.domain.status_reasons import STATUS_REASONS, describe, plain_words

REQUIRED = ["AC01", "AC04", "AC06", "AM04", "AM05", "AG01", "BE04", "DU01", "FF01", "MS02", "MS03", "RC01",
            "RR01", "RR02", "RR03", "RR04", "NARR"]


@pytest.mark.parametrize("code", REQUIRED)
def test_every_common_rejection_code_has_an_official_name_and_an_explanation(code: str) -> None:
    reason = describe(code)
    assert reason.known and reason.name[0].isupper() and " " not in reason.name
    assert len(reason.explanation) > 15


def test_codes_are_four_characters_and_names_are_unique() -> None:
    assert all(len(c) == 4 and c.isalnum() and c.isupper() for c in STATUS_REASONS)
    assert len({r.name for r in STATUS_REASONS.values()}) == len(STATUS_REASONS)


def test_lookup_ignores_case_and_spaces() -> None:
    assert describe(" am04 ").name == "InsufficientFunds"


def test_an_unknown_code_still_renders_marked_unknown() -> None:
    assert not describe("ZZ99").known
    assert plain_words("ZZ99") == "ZZ99 Unknown: a reason code not in Yinqi's table; ask the bank what it means."


def test_no_code_means_no_text() -> None:
    assert plain_words(None) is None and plain_words("  ") is None
