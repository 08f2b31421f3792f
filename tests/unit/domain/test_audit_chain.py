"""The audit chain (yinqi.domain.audit): a built chain verifies, and any single-field mutation,
deletion, reorder or tail truncation is caught at the right seq with the right reason."""

from __future__ import annotations

import dataclasses
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yinqi.domain.audit import GENESIS_HASH, AuditEvent, ChainHead, canonical_bytes, chain_hash, seal, verify_chain

KEY = b"\x07" * 32
AT = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_json_leaf = st.none() | st.booleans() | st.integers(-10**12, 10**12) | _text
_json_obj = st.dictionaries(_text, st.recursive(_json_leaf, lambda c: st.lists(c, max_size=3)
                                                 | st.dictionaries(_text, c, max_size=3), max_leaves=6), max_size=4)
_draft = st.fixed_dictionaries({
    "actor_id": _text, "actor_channel": st.sampled_from(["api", "console", "cli", "system"]),
    "source_address": _text, "action": _text, "object_type": _text, "object_id": st.none() | _text,
    "outcome": st.sampled_from(["success", "denied", "failed"]), "reason": _text,
    "before": st.none() | _json_obj, "after": st.none() | _json_obj, "company_id": st.none() | _text,
    "minutes": st.integers(0, 10**6)})


def build(drafts: list[dict[str, object]], key: bytes = KEY) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    prev = GENESIS_HASH
    for i, d in enumerate(drafts, start=1):
        fields = dict(d)
        minutes = fields.pop("minutes", 0)
        assert isinstance(minutes, int)
        e = seal(key, prev, i, at=AT + timedelta(minutes=minutes), **fields)  # type: ignore[arg-type]
        events.append(e)
        prev = e.hash
    return events


def head_of(events: list[AuditEvent]) -> ChainHead:
    return ChainHead(events[-1].seq, events[-1].hash) if events else ChainHead(0, GENESIS_HASH)


def simple(n: int) -> list[AuditEvent]:
    return build([{"actor_id": f"u{i}", "actor_channel": "api", "source_address": "", "action": "order.create",
                   "object_type": "order", "object_id": f"o{i}"} for i in range(n)])


def test_an_empty_chain_verifies_against_an_empty_head() -> None:
    check = verify_chain(KEY, [], head=ChainHead(0, GENESIS_HASH))
    assert check.ok and check.count == 0 and check.last_hash == GENESIS_HASH


def test_the_first_event_links_to_zero_bytes_and_the_hash_covers_prev_and_canonical_json() -> None:
    e = simple(1)[0]
    assert e.prev_hash == GENESIS_HASH
    assert e.hash == hmac.digest(KEY, GENESIS_HASH + canonical_bytes(e), "sha256")
    body = json.loads(canonical_bytes(e))
    assert "hash" not in body and body["at"] == "2030-01-10T09:00:00.000000Z" and body["prev_hash"] == "00" * 32
    assert list(body) == sorted(body)


def test_canonical_bytes_are_utf8_compact_and_sorted_at_every_level() -> None:
    e = build([{"actor_id": "张三", "actor_channel": "console", "source_address": "", "action": "x",
                "object_type": "t", "object_id": None, "after": {"b": 1, "a": {"z": 1, "y": 2}}}])[0]
    raw = canonical_bytes(e)
    assert "张三".encode() in raw and b'"after":{"a":{"y":2,"z":1},"b":1}' in raw and b", " not in raw


def test_seal_refuses_what_could_not_be_verified_later() -> None:
    base = {"actor_channel": "api", "source_address": "", "action": "x", "object_type": "t", "object_id": None}
    with pytest.raises(ValueError, match="outcome"):
        seal(KEY, GENESIS_HASH, 1, at=AT, actor_id="a", outcome="ok", **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone"):
        seal(KEY, GENESIS_HASH, 1, at=datetime(2030, 1, 1), actor_id="a", **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="plain JSON"):
        seal(KEY, GENESIS_HASH, 1, at=AT, actor_id="a", after={1: "int key"}, **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        seal(KEY, GENESIS_HASH, 1, at=AT, actor_id="a", after={"x": float("nan")}, **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="numbered from 1"):
        seal(KEY, GENESIS_HASH, 0, at=AT, actor_id="a", **base)  # type: ignore[arg-type]


def test_a_chain_made_with_another_key_does_not_verify() -> None:
    events = build([{"actor_id": "a", "actor_channel": "api", "source_address": "", "action": "x",
                     "object_type": "t", "object_id": None}], key=b"other")
    check = verify_chain(KEY, events, head=head_of(events))
    assert not check.ok and check.problem is not None
    assert (check.problem.kind, check.problem.seq) == ("hash_mismatch", 1)


def test_events_appended_after_the_head_was_read_are_not_tampering() -> None:
    events = simple(5)
    assert verify_chain(KEY, events, head=ChainHead(3, events[2].hash)).ok


def test_a_head_that_disagrees_with_its_event_is_reported() -> None:
    events = simple(3)
    check = verify_chain(KEY, events, head=ChainHead(3, b"\x01" * 32))
    assert check.problem is not None and (check.problem.kind, check.problem.seq) == ("head_mismatch", 3)


@settings(max_examples=60, deadline=None)
@given(st.lists(_draft, max_size=8))
def test_any_event_sequence_verifies(drafts: list[dict[str, object]]) -> None:
    events = build(drafts)
    check = verify_chain(KEY, events, head=head_of(events))
    assert check.ok, check.problem
    assert check.count == len(events) and check.last_hash == head_of(events).hash


_MUTABLE = [f.name for f in dataclasses.fields(AuditEvent) if f.name not in ("seq", "prev_hash", "hash")]


def _mutate(value: object, name: str) -> object:
    if name == "at":
        assert isinstance(value, datetime)
        return value + timedelta(microseconds=1)
    if name in ("before", "after"):
        return {"tampered": True} if value != {"tampered": True} else None
    if value is None:
        return "x"
    assert isinstance(value, str)
    return value + "x"


@settings(max_examples=80, deadline=None)
@given(st.lists(_draft, min_size=1, max_size=6), st.data())
def test_any_single_field_mutation_is_caught_at_that_event(drafts: list[dict[str, object]],
                                                           data: st.DataObject) -> None:
    events = build(drafts)
    i = data.draw(st.integers(0, len(events) - 1))
    name = data.draw(st.sampled_from([*_MUTABLE, "seq", "prev_hash", "hash"]))
    e = events[i]
    if name == "seq":
        changed = dataclasses.replace(e, seq=e.seq + 100)
    elif name in ("prev_hash", "hash"):
        old = getattr(e, name)
        changed = dataclasses.replace(e, **{name: bytes([old[0] ^ 1]) + old[1:]})
    else:
        changed = dataclasses.replace(e, **{name: _mutate(getattr(e, name), name)})
    tampered = [*events[:i], changed, *events[i + 1:]]
    check = verify_chain(KEY, tampered, head=head_of(events))
    assert not check.ok and check.problem is not None
    assert check.problem.seq == e.seq, (name, check.problem)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 8), st.data())
def test_a_deletion_is_caught_as_a_gap_or_a_truncated_tail(n: int, data: st.DataObject) -> None:
    events = simple(n)
    i = data.draw(st.integers(0, n - 1))
    check = verify_chain(KEY, events[:i] + events[i + 1:], head=head_of(events))
    assert check.problem is not None and check.problem.seq == i + 1
    assert check.problem.kind == ("truncated" if i == n - 1 else "sequence_gap")


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 8), st.data())
def test_a_reorder_is_caught_at_the_first_moved_event(n: int, data: st.DataObject) -> None:
    events = simple(n)
    i = data.draw(st.integers(0, n - 2))
    j = data.draw(st.integers(i + 1, n - 1))
    swapped = list(events)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    check = verify_chain(KEY, swapped, head=head_of(events))
    assert check.problem is not None and check.problem.seq == i + 1


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 8), st.data())
def test_a_truncated_tail_is_caught_by_the_head(n: int, data: st.DataObject) -> None:
    events = simple(n)
    keep = data.draw(st.integers(0, n - 1))
    check = verify_chain(KEY, events[:keep], head=head_of(events))
    assert check.problem is not None
    assert (check.problem.kind, check.problem.seq) == ("truncated", keep + 1)


def test_one_edit_reports_that_event_only_as_the_first_problem() -> None:
    events = simple(5)
    edited = dataclasses.replace(events[1], reason="changed")
    assert chain_hash(KEY, edited) != edited.hash
    check = verify_chain(KEY, [events[0], edited, *events[2:]], head=head_of(events))
    assert check.problem is not None and (check.problem.kind, check.problem.seq) == ("hash_mismatch", 2)
    assert check.count == 1 and check.last_seq == 1
