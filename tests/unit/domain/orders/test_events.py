"""Order events are hash-chained: any edit, removal, insertion or reordering is detected."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from yinqi.domain.orders.events import GENESIS_HASH, OrderEvent, canonical_bytes, chain_hash, first_broken_seq
from yinqi.domain.orders.lifecycle import OrderState

S = OrderState
AT = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
KNOWN_HEADS = ["b645d9ed00405bbf", "048e854d48f103b4", "79b57d71b06dc802", "7644cb30c27f0118"]


def chain(n: int = 4) -> list[OrderEvent]:
    states = [S.DRAFT, S.VALIDATED, S.PENDING_APPROVAL, S.APPROVED, S.RELEASED][:n]
    events, prev, prev_state = [], GENESIS_HASH, None
    for seq, state in enumerate(states, start=1):
        event = OrderEvent(order_id="o1", seq=seq, from_state=prev_state, to_state=state, actor="maker",
                           at=AT + timedelta(seconds=seq), data={"n": seq}).sealed(prev)
        events.append(event)
        prev, prev_state = event.hash, state
    return events


def test_an_untouched_chain_verifies() -> None:
    assert first_broken_seq(chain()) is None


def test_each_hash_covers_the_previous_hash_and_the_canonical_event() -> None:
    events = chain()
    assert events[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert events[2].hash == chain_hash(events[1].hash, events[2])


def test_canonical_bytes_are_sorted_compact_utc() -> None:
    event = OrderEvent(order_id="o1", seq=1, from_state=None, to_state=S.DRAFT, actor="经办",
                       at=datetime(2030, 1, 10, 17, 0, tzinfo=UTC).astimezone(), reason="", data={"b": 1, "a": 2})
    assert canonical_bytes(event) == (
        '{"actor":"经办","at":"2030-01-10T17:00:00.000000Z","data":{"a":2,"b":1},"from_state":null,'
        '"kind":"OrderCreated","order_id":"o1","reason":"","seq":1,"to_state":"DRAFT"}').encode()


def test_editing_an_event_breaks_the_chain_at_that_event() -> None:
    events = chain()
    events[1] = replace(events[1], actor="mallory")
    assert first_broken_seq(events) == 2


def test_deleting_an_event_breaks_the_chain() -> None:
    events = chain()
    del events[1]
    assert first_broken_seq(events) == 3


def test_swapping_two_events_breaks_the_chain() -> None:
    events = chain()
    events[1], events[2] = events[2], events[1]
    assert first_broken_seq(events) == 3


def test_rehashing_an_edited_event_still_breaks_the_next_link() -> None:
    events = chain()
    forged = replace(events[1], reason="forged").sealed(events[0].hash)
    events[1] = forged
    assert first_broken_seq(events) == 3


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                     max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(order_id=st.text(), seq=st.integers(min_value=1, max_value=10**6), to_state=st.sampled_from(list(S)),
       from_state=st.none() | st.sampled_from(list(S)), actor=st.text(), reason=st.text(),
       data=st.dictionaries(st.text(), _JSON, max_size=4),
       at=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))])),
       prev=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64))
def test_canonical_bytes_are_those_of_json_dumps_of_the_content(order_id: str, seq: int, to_state: S,
                                                                from_state: S | None, actor: str, reason: str,
                                                                data: dict[str, Any], at: datetime, prev: str) -> None:
    event = OrderEvent(order_id=order_id, seq=seq, from_state=from_state, to_state=to_state, actor=actor, at=at,
                       reason=reason, data=data)
    content = event.content()
    content["at"] = event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # the reference formatting
    reference = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert canonical_bytes(event) == reference
    linked = OrderEvent.linked(order_id=order_id, seq=seq, from_state=from_state, to_state=to_state, actor=actor,
                               at=at, reason=reason, data=data, prev_hash=prev)
    assert linked == event.sealed(prev) and linked.hash == chain_hash(prev, replace(linked, hash=""))


def test_a_known_chain_keeps_its_hashes() -> None:
    """Hashes computed before canonical_bytes was written out by hand (stored chains verify)."""
    assert [e.hash[:16] for e in chain()] == KNOWN_HEADS
