"""Request fingerprints and the 'first differing field' of a reused idempotency key."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yinqi.application.idempotency import (
    IdempotencyKeyInvalid,
    IdempotencyKeyRequired,
    IdempotentRequest,
    canonical_json,
    first_difference,
    require_key,
)


def req(body: bytes, path: str = "/api/v1/payment-orders") -> IdempotentRequest:
    return IdempotentRequest(scope="user:a", key="k", method="POST", path=path, body=body)


def test_key_order_and_whitespace_do_not_change_the_fingerprint() -> None:
    a = req(b'{"amount": "1.00", "payee": {"name": "A", "country": "FR"}}')
    b = req(b'{"payee":{"country":"FR","name":"A"},"amount":"1.00"}')
    assert a.fingerprint == b.fingerprint


def test_a_json_number_and_a_string_are_different_requests() -> None:
    assert req(b'{"amount": 12.30}').fingerprint != req(b'{"amount": "12.30"}').fingerprint
    assert canonical_json(b'{"amount": 12.30}') == canonical_json(b'{"amount": 12.3}') == '{"amount":12.3}'


def test_path_and_method_are_part_of_the_fingerprint() -> None:
    assert req(b"{}", "/a").fingerprint != req(b"{}", "/b").fingerprint


def test_a_body_that_is_not_json_is_fingerprinted_as_raw_text() -> None:
    assert canonical_json(b"not json") == "not json"
    assert req(b"not json").fingerprint != req(b"not json!").fingerprint


@pytest.mark.parametrize(("a", "b", "where"), [
    ({"amount": "1.00"}, {"amount": "2.00"}, "amount"),
    ({"payee": {"account": {"iban": "X"}}}, {"payee": {"account": {"iban": "Y"}}}, "payee.account.iban"),
    ({"a": 1}, {"a": 1, "b": 2}, "b"),
    ({"l": [1, 2]}, {"l": [1, 2, 3]}, "l[2]"),
    ({"a": "1"}, {"a": 1}, "a"),
])
def test_first_difference_names_the_dotted_path(a: object, b: object, where: str) -> None:
    assert first_difference(a, b) == where


@given(st.recursive(st.none() | st.booleans() | st.text(max_size=5) | st.integers(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                max_size=3), max_leaves=10))
def test_a_value_never_differs_from_itself_and_canonical_form_is_stable(value: object) -> None:
    assert first_difference(value, value) is None
    text = canonical_json(json.dumps(value))
    assert canonical_json(text) == text


def test_a_missing_or_blank_key_is_required_and_an_unprintable_one_invalid() -> None:
    for missing in (None, "", "  "):
        with pytest.raises(IdempotencyKeyRequired):
            require_key(missing)
    with pytest.raises(IdempotencyKeyInvalid):
        require_key("k" * 256)
    with pytest.raises(IdempotencyKeyInvalid):
        require_key("bad\nkey")
    assert require_key("4f1c-uuid") == "4f1c-uuid"
