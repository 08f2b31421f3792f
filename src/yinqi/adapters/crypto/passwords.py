"""Password hashing with Argon2id (ASVS 6.2, R16; OWASP Password Storage Cheat Sheet).

Parameters: Argon2id, 19 MiB of memory, 2 passes, 1 lane: the OWASP minimum configuration,
about 20-40 ms per hash on the 2-core target, which bounds what a login flood costs the server
while making offline guessing memory-hard. The encoded hash carries its parameters
(`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), so raising them later only needs `needs_rehash`
at the next successful sign-in. A random 16-byte salt per hash comes from argon2-cffi.

>>> hasher = Argon2PasswordHasher()
>>> encoded = hasher.hash("correct horse battery")
>>> encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
True
>>> hasher.verify(encoded, "correct horse battery"), hasher.verify(encoded, "wrong")
(True, False)
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["MEMORY_COST_KIB", "PARALLELISM", "TIME_COST", "Argon2PasswordHasher"]

MEMORY_COST_KIB = 19_456
TIME_COST = 2
PARALLELISM = 1


class Argon2PasswordHasher:
    def __init__(self, *, memory_cost_kib: int = MEMORY_COST_KIB, time_cost: int = TIME_COST,
                 parallelism: int = PARALLELISM) -> None:
        if memory_cost_kib < MEMORY_COST_KIB or time_cost < TIME_COST or parallelism < 1:
            raise ValueError("Argon2id parameters below the minimum (m >= 19456 KiB, t >= 2, p >= 1)")
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism,
                                      hash_len=32, salt_len=16, type=Type.ID)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, encoded: str, password: str) -> bool:
        """False for a wrong password and for a malformed stored hash (never raises on bad input)."""
        try:
            return self._hasher.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, encoded: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(encoded)
        except (InvalidHashError, ValueError):
            return True
