"""The ledger's hash chain: a documented canonical encoding and an HMAC-SHA256 link per entry.

Format (version 1), decided in docs/adr "hash-chain format" and frozen by golden tests:

    hash = HMAC-SHA256(key, 0x01 || prev_hash (32 bytes) || seq (8 bytes, big-endian)
                            || canonical content || actor (UTF-8))

`canonical content` is compact JSON with sorted keys, ASCII only (non-ASCII as \\uXXXX escapes):

    {"at":"2024-01-02T03:04:05.000000Z","idempotency_key":"…","memo":"…","metadata":{…},
     "postings":[["account",amount_minor,"CUR"],…],"reverses_seq":null}

Postings keep their order. `metadata` is itself canonical JSON. The concatenation is unambiguous:
the version, previous hash and sequence number have fixed widths, and a JSON object ends at its
matching brace, so everything after it is the actor. The first entry links to 32 zero bytes.
Because the key is secret, someone with write access to the database but not to the key cannot
forge a valid chain; someone with both can, which is what signed checkpoints (outside the
database) are for.

>>> content = canonical_content(idempotency_key="k1", postings=[("a", 5, "EUR"), ("b", -5, "EUR")],
...                             memo="", metadata_json="{}", reverses_seq=None,
...                             at_utc="2024-01-02T03:04:05.000000Z")
>>> content[:45]
b'{"at":"2024-01-02T03:04:05.000000Z","idempote'
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import encode_basestring_ascii
from typing import Any

__all__ = ["GENESIS_HASH", "VERSION", "canonical_content", "canonical_json", "canonical_text", "entry_hash",
           "format_at", "is_canonical_at", "parse_at"]

VERSION = 1
_VERSION_BYTE = bytes([VERSION])
GENESIS_HASH = bytes(32)
_AT_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")

# One encoder object: json.dumps(…, separators=…) would build a new encoder on every call.
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), sort_keys=True,
                           allow_nan=False).encode


def canonical_json(value: Any) -> str:
    """Compact, sorted-key, ASCII-only JSON: one text per value."""
    return _encode(value)


def canonical_content(*, idempotency_key: str, postings: Sequence[tuple[str, int, str]], memo: str,
                      metadata_json: str, reverses_seq: int | None, at_utc: str) -> bytes:
    """The canonical bytes of one entry. Byte-identical to `canonical_json` of the same object
    (tests check this on golden and generated entries)."""
    return canonical_text(idempotency_key=idempotency_key, postings=postings, memo=memo,
                          metadata_json=metadata_json, reverses_seq=reverses_seq, at_utc=at_utc).encode("ascii")


# json's own C string escaper: the same bytes `_encode` writes for a str, without its dispatch.
_str = encode_basestring_ascii


def canonical_text(*, idempotency_key: str, postings: Sequence[tuple[str, int, str]], memo: str,
                   metadata_json: str, reverses_seq: int | None, at_utc: str) -> str:
    """`canonical_content` before encoding, filled into a fixed template because the store and the
    verifier run it once per entry. Keys are written in sorted order (Keep them sorted!)."""
    rs = "null" if reverses_seq is None else str(int(reverses_seq))
    return (f'{{"at":{_str(at_utc)},"idempotency_key":{_str(idempotency_key)},"memo":{_str(memo)},'
            f'"metadata":{metadata_json},"postings":[{_legs(postings)}],"reverses_seq":{rs}}}')


def _legs(postings: Sequence[tuple[str, int, str]]) -> str:
    if all(type(m) is int for _, m, _ in postings):  # json writes an int as int.__repr__ does
        try:
            return ",".join([f"[{_str(a)},{m},{_str(c)}]" for a, m, c in postings])
        except TypeError:  # a code that is not a str
            pass
    return _encode(list(postings))[1:-1]  # anything else exactly as json would (bool, float, None…)


def entry_hash(key: bytes, *, prev_hash: bytes, seq: int, content: bytes, actor: str) -> bytes:
    msg = b"".join((_VERSION_BYTE, prev_hash, seq.to_bytes(8, "big"), content, actor.encode("utf-8")))
    return hmac.digest(key, msg, "sha256")


def format_at(at: datetime) -> str:
    """The canonical UTC timestamp. Naive datetimes are refused: a ledger never guesses a zone."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("ledger timestamps must be timezone-aware")
    return _format_utc(at)


@lru_cache(maxsize=1024)  # pure; a batch often shares one booking time, and isoformat is slow
def _format_utc(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def is_canonical_at(at_utc: str) -> bool:
    """The canonical shape, and a real date (what `parse_at` accepts), without building the value."""
    if not isinstance(at_utc, str) or not _AT_SHAPE.fullmatch(at_utc):
        return False
    try:
        datetime.fromisoformat(at_utc[:-1])
    except ValueError:
        return False
    return True


def parse_at(at_utc: str) -> datetime:
    """Read a canonical timestamp; raises ValueError for anything else (zone, precision, range)."""
    if not _AT_SHAPE.fullmatch(at_utc):
        raise ValueError(f"{at_utc!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    return datetime.fromisoformat(at_utc[:-1]).replace(tzinfo=UTC)
