"""The canonical encoding and HMAC link are frozen by golden values: changing either is a new
chain version (docs/adr hash-chain format), never a silent edit."""

import hashlib
import hmac
import json

from hypothesis import given
from hypothesis import strategies as st

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


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@given(key=TEXT, memo=TEXT, at=TEXT, rev=st.one_of(st.none(), st.integers(1, 2**62)),
       legs=st.lists(st.tuples(TEXT, st.integers(-10**18, 10**18), TEXT), max_size=5),
       meta=st.dictionaries(TEXT, st.one_of(TEXT, st.integers()), max_size=3))
def test_the_template_writes_exactly_what_json_of_the_object_writes(key: str, memo: str, at: str, rev: int | None,
                                                                    legs: list[tuple[str, int, str]],
                                                                    meta: dict[str, object]) -> None:
    meta_json = canonical_json(meta)
    obj = {"at": at, "idempotency_key": key, "memo": memo, "metadata": meta, "postings": legs, "reverses_seq": rev}
    assert canonical_content(idempotency_key=key, postings=legs, memo=memo, metadata_json=meta_json,
                             reverses_seq=rev, at_utc=at) == canonical_json(obj).encode("ascii")


def test_formatting_a_timestamp_is_the_same_through_the_cache() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from yinqi.domain.ledger.chain import format_at

    at = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=8)))
    assert format_at(at) == format_at(at.astimezone(UTC)) == "2024-01-01T19:04:05.000006Z"
