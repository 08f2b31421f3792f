"""Argon2id password hashing: parameters, verification, rehash detection."""

from __future__ import annotations

import pytest

from yinqi.adapters.crypto.passwords import Argon2PasswordHasher


def test_hashes_are_argon2id_with_the_owasp_minimum_and_random_salts() -> None:
    hasher = Argon2PasswordHasher()
    first, second = hasher.hash("correct horse battery"), hasher.hash("correct horse battery")
    assert first.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and first != second
    assert hasher.verify(first, "correct horse battery") and not hasher.verify(first, "correct horse batterY")


def test_a_malformed_stored_hash_verifies_as_false_and_needs_rehash() -> None:
    hasher = Argon2PasswordHasher()
    assert not hasher.verify("not a hash", "whatever") and hasher.needs_rehash("not a hash")


def test_weaker_stored_parameters_ask_for_a_rehash() -> None:
    stronger = Argon2PasswordHasher(memory_cost_kib=32768, time_cost=3)
    assert stronger.needs_rehash(Argon2PasswordHasher().hash("correct horse battery"))


def test_parameters_below_the_minimum_are_refused() -> None:
    with pytest.raises(ValueError):
        Argon2PasswordHasher(memory_cost_kib=4096)
