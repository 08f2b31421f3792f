"""Journal entries: balance per currency on construction, reversal, idempotent-replay comparison."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yinqi.domain.ledger.entry import (
    IdempotencyConflict,
    JournalEntry,
    LedgerEntryInvalid,
    LedgerUnbalanced,
    Posting,
    check_balanced,
)
from yinqi.domain.money import Money

AT = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def entry(key: str = "k1", legs: list[tuple[str, int, str]] | None = None, **kw: object) -> JournalEntry:
    legs = legs if legs is not None else [("bank", 500, "EUR"), ("customer", -500, "EUR")]
    return JournalEntry.build(idempotency_key=key, postings=[(a, Money(m, c)) for a, m, c in legs],
                              memo=str(kw.get("memo", "top-up")), actor="ops", at=kw.get("at", AT),  # type: ignore[arg-type]
                              metadata=kw.get("metadata"))  # type: ignore[arg-type]


def test_balanced_entry_is_accepted_and_keeps_posting_order() -> None:
    e = entry()
    assert [p.account for p in e.postings] == ["bank", "customer"]
    assert e.at_utc == "2024-05-06T07:08:09.123456Z"


def test_unbalanced_entry_is_refused_on_construction() -> None:
    with pytest.raises(LedgerUnbalanced) as err:
        entry(legs=[("bank", 500, "EUR"), ("customer", -499, "EUR")])
    assert err.value.code == "LEDGER_UNBALANCED" and err.value.details["sums"] == {"EUR": 1}


def test_each_currency_must_balance_on_its_own() -> None:
    with pytest.raises(LedgerUnbalanced):
        entry(legs=[("bank-eur", 100, "EUR"), ("bank-usd", -100, "USD")])
    fx = entry(legs=[("bank-eur", 100, "EUR"), ("fx-eur", -100, "EUR"), ("fx-usd", 110, "USD"),
                     ("bank-usd", -110, "USD")])
    assert len(fx.postings) == 4


@pytest.mark.parametrize("legs", [[], [("bank", 0, "EUR"), ("x", 0, "EUR")], [("bank", 5, "EUR")]])
def test_fewer_than_two_postings_or_zero_amounts_are_refused(legs: list[tuple[str, int, str]]) -> None:
    with pytest.raises((LedgerEntryInvalid, LedgerUnbalanced)):
        entry(legs=legs)


def test_naive_timestamps_and_empty_keys_are_refused() -> None:
    with pytest.raises(LedgerEntryInvalid):
        entry(at=datetime(2024, 1, 1))
    with pytest.raises(LedgerEntryInvalid):
        entry(key="")


def test_timestamps_in_other_zones_are_stored_as_utc() -> None:
    e = entry(at=datetime(2024, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))))
    assert e.at_utc == "2024-01-01T00:00:00.000000Z" and e.at == datetime(2024, 1, 1, tzinfo=UTC)


def test_direct_construction_cannot_bypass_the_balance_rule() -> None:
    with pytest.raises(LedgerUnbalanced):
        JournalEntry(idempotency_key="k", postings=(Posting("a", Money(1, "EUR")), Posting("b", Money(2, "EUR"))),
                     memo="", actor="x", at_utc="2024-01-01T00:00:00.000000Z")


def test_reversal_negates_every_posting_and_points_at_the_original() -> None:
    rev = entry().reversal(seq=9, idempotency_key="k1-rev", actor="ops", at=AT, reason="duplicate")
    assert rev.reverses_seq == 9
    assert [(p.account, p.amount.minor) for p in rev.postings] == [("bank", -500), ("customer", 500)]
    assert rev.metadata == {"reason": "duplicate"}


def test_a_retry_later_with_the_same_content_is_the_same_request() -> None:
    first = entry()
    entry(at=AT + timedelta(minutes=5)).check_replay_of(first, seq=1)


def test_the_same_key_with_other_content_is_an_idempotency_conflict() -> None:
    with pytest.raises(IdempotencyConflict) as err:
        entry(legs=[("bank", 501, "EUR"), ("customer", -501, "EUR")]).check_replay_of(entry(), seq=3)
    assert err.value.code == "LEDGER_IDEMPOTENCY_CONFLICT" and err.value.details == {"seq": 3}


def test_metadata_is_stored_as_canonical_json() -> None:
    assert entry(metadata={"b": 1, "a": "é"}).metadata_json == '{"a":"\\u00e9","b":1}'


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(-10**6, 10**6),
                          st.sampled_from(["EUR", "USD"])), max_size=8))
def test_check_balanced_accepts_exactly_the_zero_sum_posting_sets(rows: list[tuple[str, int, str]]) -> None:
    sums = {c: sum(m for _, m, cc in rows if cc == c) for _, _, c in rows}
    if any(sums.values()):
        with pytest.raises(LedgerUnbalanced):
            check_balanced(rows)
    else:
        check_balanced(rows)
