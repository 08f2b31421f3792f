"""Signed checkpoints: the chain head and Merkle root at a size, kept outside the database.

A hash chain alone cannot catch someone who holds the HMAC key and rewrites the whole chain
consistently. A checkpoint pins (size, head hash, RFC 6962 root) at a moment and is signed with an
Ed25519 key that the database never sees; the checkpoint log is a JSON-lines file in YINQI_HOME.
A later verify recomputes the head and root at every checkpointed size and compares. This module
holds the value object and its exact signed bytes; signing itself is an adapter
(`yinqi.adapters.crypto.checkpoint_signing`).

>>> cp = Checkpoint(size=0, head_hash=bytes(32), merkle_root=bytes(32), at_utc="2024-01-01T00:00:00.000000Z")
>>> Checkpoint.from_record(cp.to_record(signature=b"s", key_id="k"))[0] == cp
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yinqi.domain.ledger.chain import canonical_json
from yinqi.domain.problems import DomainError

__all__ = ["SIGNING_CONTEXT", "Checkpoint", "CheckpointInvalid"]

SIGNING_CONTEXT = b"yinqi/ledger-checkpoint/v1\n"


class CheckpointInvalid(DomainError):
    code = "LEDGER_CHECKPOINT_INVALID"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    size: int
    head_hash: bytes
    merkle_root: bytes
    at_utc: str

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise CheckpointInvalid("checkpoint size must be a non-negative int", rule="size",
                                    value=self.size)
        if len(self.head_hash) != 32 or len(self.merkle_root) != 32:
            raise CheckpointInvalid("checkpoint hashes must be 32 bytes", rule="hash_length")

    def body(self) -> dict[str, Any]:
        return {"size": self.size, "head_hash": self.head_hash.hex(), "merkle_root": self.merkle_root.hex(),
                "at": self.at_utc}

    def signing_bytes(self) -> bytes:
        """What the signature covers: a context label, then the canonical JSON body."""
        return SIGNING_CONTEXT + canonical_json(self.body()).encode("ascii")

    def to_record(self, *, signature: bytes, key_id: str) -> dict[str, Any]:
        return {**self.body(), "key_id": key_id, "sig": signature.hex()}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> tuple[Checkpoint, bytes, str]:
        """Parse one JSON-lines record into (checkpoint, signature, key id).

        Raises:
            CheckpointInvalid (LEDGER_CHECKPOINT_INVALID): a field missing or malformed.
        """
        try:
            cp = cls(size=record["size"], head_hash=bytes.fromhex(record["head_hash"]),
                     merkle_root=bytes.fromhex(record["merkle_root"]), at_utc=str(record["at"]))
            return cp, bytes.fromhex(record["sig"]), str(record.get("key_id", ""))
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointInvalid(f"malformed checkpoint record: {exc}", rule="record_shape") from None
