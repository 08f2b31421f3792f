"""API token format and scope rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yinqi.domain.identity.principal import NotAuthenticated, Role
from yinqi.domain.identity.tokens import (
    TokenScopeInvalid,
    check_companies,
    check_scopes,
    format_token,
    parse_token,
)

SECRET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234"


def test_a_formatted_token_parses_back() -> None:
    parsed = parse_token(format_token("0123456789abcdef", SECRET))
    assert (parsed.token_id, parsed.secret) == ("0123456789abcdef", SECRET)


@given(st.text(max_size=200))
def test_any_string_parses_or_is_refused_as_not_authenticated(raw: str) -> None:
    try:
        parsed = parse_token(raw)
    except NotAuthenticated as exc:
        assert exc.code == "NOT_AUTHENTICATED"
        return
    assert format_token(parsed.token_id, parsed.secret) == raw.strip()


@pytest.mark.parametrize(("scope", "rule"), [("order.approve", "subset_of_owner"), ("order.nuke", "known_permission")])
def test_a_scope_beyond_the_owner_is_refused(scope: str, rule: str) -> None:
    with pytest.raises(TokenScopeInvalid) as refused:
        check_scopes({"order.create", scope}, owner_roles={Role.OPERATOR})
    e = refused.value
    assert (e.code, e.where, e.rule, e.value) == ("TOKEN_SCOPE_INVALID", "scopes", rule, scope)


def test_scopes_and_companies_within_the_owner_are_kept() -> None:
    assert check_scopes({"order.create", "order.read"}, owner_roles={Role.OPERATOR}) == {"order.create", "order.read"}
    assert check_companies({"ACME"}, owner_companies=frozenset({"ACME", "B"})) == {"ACME"}


def test_a_company_beyond_the_owner_or_none_at_all_is_refused() -> None:
    with pytest.raises(TokenScopeInvalid) as refused:
        check_companies({"ACME", "OTHER"}, owner_companies=frozenset({"ACME"}))
    assert (refused.value.where, refused.value.rule, refused.value.value) == ("companies", "subset_of_owner", "OTHER")
    with pytest.raises(TokenScopeInvalid):
        check_scopes(set(), owner_roles={Role.OPERATOR})
