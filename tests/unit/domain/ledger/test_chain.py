"""The canonical encoding and HMAC link are frozen by golden values: changing either is a new
chain version (docs/adr hash-chain format), never a silent edit."""

import hashlib
import hmac
import json

from yinqi.domain.ledger.chain import GENESIS_HASH, canonical_content, canonical_json, entry_hash, parse_at

GOLDEN_CONTENT = (b'{"at":"2024-01-02T03:04:05.000006Z","idempotency_key":"pay-1","memo":"r\\u00e8glement",'
                  b'"metadata":{"order":"PO-1"},"postings":[["bank:CN-ICBC-001",1250,"CNY"],'
                  b'["customer:42",-1250,"CNY"]],"reverses_seq":null}')
KEY = bytes(range(32))
GOLDEN_HASH = "f2c3e5979a7eb130de608f1c4e33da5fa774dda6dd95fb1992c77fac03afa200"


def content() -> bytes:
    return canonical_content(idempotency_key="pay-1", memo="règlement", metadata_json='{"order":"PO-1"}',
                             postings=[("bank:CN-ICBC-001", 1250, "CNY"), ("customer:42", -1250, "CNY")],
                             reverses_seq=None, at_utc="2024-01-02T03:04:05.000006Z")


def test_canonical_content_matches_the_golden_bytes() -> None:
    assert content() == GOLDEN_CONTENT


def test_hand_assembled_content_equals_generic_canonical_json() -> None:
    obj = json.loads(GOLDEN_CONTENT)
    assert canonical_json(obj).encode() == GOLDEN_CONTENT


def test_entry_hash_is_hmac_over_version_prev_seq_content_actor() -> None:
    msg = b"\x01" + GENESIS_HASH + (1).to_bytes(8, "big") + GOLDEN_CONTENT + b"ops"
    expected = hmac.new(KEY, msg, hashlib.sha256).digest()
    assert entry_hash(KEY, prev_hash=GENESIS_HASH, seq=1, content=content(), actor="ops") == expected


def test_every_hash_input_changes_the_hash() -> None:
    base = entry_hash(KEY, prev_hash=GENESIS_HASH, seq=1, content=content(), actor="ops")
    variants = [
        entry_hash(KEY[::-1], prev_hash=GENESIS_HASH, seq=1, content=content(), actor="ops"),
        entry_hash(KEY, prev_hash=b"\x01" * 32, seq=1, content=content(), actor="ops"),
        entry_hash(KEY, prev_hash=GENESIS_HASH, seq=2, content=content(), actor="ops"),
        entry_hash(KEY, prev_hash=GENESIS_HASH, seq=1, content=content().replace(b"1250", b"1251"), actor="ops"),
        entry_hash(KEY, prev_hash=GENESIS_HASH, seq=1, content=content(), actor="ops2"),
    ]
    assert base not in variants and len(set(variants)) == len(variants)


def test_reversal_link_is_part_of_the_content() -> None:
    c = canonical_content(idempotency_key="k", postings=[("a", 1, "EUR"), ("b", -1, "EUR")], memo="",
                          metadata_json="{}", reverses_seq=17, at_utc="2024-01-02T03:04:05.000006Z")
    assert c.endswith(b'"reverses_seq":17}')


def test_timestamps_round_trip_through_the_canonical_form() -> None:
    assert parse_at("2024-01-02T03:04:05.000006Z").microsecond == 6


def test_first_entry_hash_matches_the_pinned_version_1_value() -> None:
    h = entry_hash(KEY, prev_hash=GENESIS_HASH, seq=1, content=content(), actor="ops")
    assert h.hex() == GOLDEN_HASH
