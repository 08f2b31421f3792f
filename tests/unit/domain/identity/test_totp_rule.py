"""The TOTP acceptance rule: ±1 step, single use, constant shape of the input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yinqi.domain.identity.totp import (
    TotpInvalid,
    TotpReplayed,
    accept_code,
    candidate_steps,
    normalise_code,
)

EXPECTED = {99: "111111", 100: "222222", 101: "333333"}


def test_the_window_is_one_step_either_side() -> None:
    assert candidate_steps(100) == [99, 100, 101]


@pytest.mark.parametrize(("code", "step"), [("111111", 99), ("222222", 100), ("333333", 101)])
def test_a_code_of_any_candidate_step_is_accepted(code: str, step: int) -> None:
    assert accept_code(code, EXPECTED, last_used_step=None) == step


@pytest.mark.parametrize("last", [100, 101, 150])
def test_a_code_of_a_step_at_or_before_the_last_used_one_is_a_replay(last: int) -> None:
    with pytest.raises(TotpReplayed) as refused:
        accept_code("222222", EXPECTED, last_used_step=last)
    assert (refused.value.code, refused.value.where, refused.value.rule) == ("TOTP_REPLAYED", "code",
                                                                              "totp_single_use")


def test_a_wrong_code_is_invalid() -> None:
    with pytest.raises(TotpInvalid) as refused:
        accept_code("444444", EXPECTED, last_used_step=None)
    assert (refused.value.code, refused.value.rule) == ("TOTP_INVALID", "totp_window")


@pytest.mark.parametrize("typed", ["123 456", " 123456 ", "123-456"])
def test_people_may_type_spaces_or_a_dash(typed: str) -> None:
    assert normalise_code(typed) == "123456"


@given(st.text(max_size=20))
def test_any_input_is_either_six_digits_or_refused_as_invalid(typed: str) -> None:
    try:
        code = normalise_code(typed)
    except TotpInvalid as exc:
        assert exc.code == "TOTP_INVALID" and exc.rule == "code_syntax"
        return
    assert len(code) == 6 and code.isascii() and code.isdigit()
