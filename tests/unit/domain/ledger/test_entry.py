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


# --- from_rows: the bulk construction path makes the same checks as build -------------------------
ROW_VALUES = st.tuples(st.sampled_from(["bank", "cust:1", "", "bad code", 7]),
                       st.one_of(st.integers(-10**19, 10**19), st.sampled_from([0, True, 1.5, 10**18, -(10**18) + 1])),
                       st.sampled_from(["EUR", "eur", "JPY", "XXX1", "", 3]))


def _outcome(make: object) -> object:
    try:
        return make()  # type: ignore[operator]
    except Exception as exc:
        return (type(exc), getattr(exc, "code", None))


@given(st.lists(ROW_VALUES, min_size=0, max_size=4), st.booleans())
def test_from_rows_accepts_and_refuses_exactly_what_build_does(rows: list[tuple[object, object, object]],
                                                               balance: bool) -> None:
    if balance and rows and type(rows[0][1]) is int and not isinstance(rows[0][1], bool):
        rows = [*rows, (rows[0][0], -rows[0][1], rows[0][2])]
    fast = _outcome(lambda: JournalEntry.from_rows(idempotency_key="k", rows=rows, memo="m", actor="ops", at=AT))  # type: ignore[arg-type]
    slow = _outcome(lambda: JournalEntry.build(idempotency_key="k", memo="m", actor="ops", at=AT,
                                               postings=[(a, Money(m, c)) for a, m, c in rows]))  # type: ignore[arg-type]
    # the same value, or both refused with a typed error (which one may differ when several rows are bad:
    # build's caller makes every Money first, from_rows goes row by row)
    assert fast == slow or (isinstance(fast, tuple) and isinstance(slow, tuple) and None not in (fast[1], slow[1]))


def test_from_rows_builds_the_value_build_builds() -> None:
    legs = [("bank", 500, "eur"), ("fees", 1, "EUR"), ("customer", -501, "EUR")]
    fast = JournalEntry.from_rows(idempotency_key="k", rows=legs, memo="x", actor="ops", at=AT, metadata={"a": 1})
    assert fast == JournalEntry.build(idempotency_key="k", memo="x", actor="ops", at=AT, metadata={"a": 1},
                                      postings=[(a, Money(m, c)) for a, m, c in legs])
    assert fast.postings[0].amount == Money(500, "EUR") and fast.content() == entry_like(fast).content()


def entry_like(e: JournalEntry) -> JournalEntry:
    return JournalEntry(idempotency_key=e.idempotency_key, postings=e.postings, memo=e.memo, actor=e.actor,
                        at_utc=e.at_utc, metadata_json=e.metadata_json, reverses_seq=e.reverses_seq)


def test_the_fast_path_amount_limit_is_money_s_limit() -> None:
    from yinqi.domain.ledger import entry as entry_module
    from yinqi.domain.money import AmountInvalid

    assert Money(entry_module._MINOR_LIMIT - 1, "EUR").minor == entry_module._MINOR_LIMIT - 1
    with pytest.raises(AmountInvalid):
        Money(entry_module._MINOR_LIMIT, "EUR")


def test_a_non_integer_reversal_link_is_refused() -> None:
    e = entry()
    with pytest.raises(LedgerEntryInvalid):
        JournalEntry(idempotency_key="r", postings=e.postings, memo="", actor="ops", at_utc=e.at_utc,
                     reverses_seq=2.0)  # type: ignore[arg-type]
