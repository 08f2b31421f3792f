"""Username and password rules, each with its exact code, where and rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yinqi.domain.identity.users import (
    PasswordTooWeak,
    UsernameInvalid,
    check_password,
    normalise_password,
    normalise_username,
)


def test_usernames_are_lower_cased_and_trimmed() -> None:
    assert normalise_username("  Olivia.Ops_1 ") == "olivia.ops_1"


@pytest.mark.parametrize("raw", ["ab", "a" * 65, "olivia ops", "olivia@acme", "ölivia", "", "x/y"])
def test_a_bad_username_is_refused(raw: str) -> None:
    with pytest.raises(UsernameInvalid) as refused:
        normalise_username(raw)
    assert (refused.value.code, refused.value.where, refused.value.rule) == ("USERNAME_INVALID", "username",
                                                                              "username_syntax")


@given(st.text(max_size=100))
def test_username_normalisation_either_refuses_or_yields_a_fixed_point(raw: str) -> None:
    try:
        name = normalise_username(raw)
    except UsernameInvalid:
        return
    assert normalise_username(name) == name and 3 <= len(name) <= 64


@pytest.mark.parametrize(("password", "rule"), [
    ("elevenchars", "min_length"), ("x" * 257, "max_length"), ("Olivia.Ops.1", "not_username"),
])
def test_a_weak_password_is_refused_without_echoing_it(password: str, rule: str) -> None:
    with pytest.raises(PasswordTooWeak) as refused:
        check_password(password, username="olivia.ops.1")
    e = refused.value
    assert (e.code, e.where, e.rule, e.value) == ("PASSWORD_TOO_WEAK", "password", rule, None)
    assert password not in e.message


def test_long_passphrases_with_any_characters_are_allowed() -> None:
    check_password("ÿ 密码 🙂 " * 20, username="olivia")
    check_password("x" * 256, username="olivia")


def test_equivalent_unicode_spellings_are_one_password() -> None:
    assert normalise_password("cafe\u0301 crème brûlée") == normalise_password("café crème brûlée")
