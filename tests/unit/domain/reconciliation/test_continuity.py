"""Statement-level checks: opening = previous closing, no sequence gaps, entries add up, bank = ledger.
Breaks carry their amount in minor units; what a statement does not say is skipped, never a break."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from yinqi.domain.bank_messages import AccountId, BalanceAmount, Statement, StatementEntry
from yinqi.domain.money import Money
from yinqi.domain.reconciliation.continuity import (
    Balance,
    BreakCode,
    Sequence,
    StatementFacts,
    check_statement,
    facts_of,
    parse_sequence,
    to_money,
)

D1, D2 = date(2030, 1, 10), date(2030, 1, 11)


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def facts(*, sid: str = "S2", seq: Sequence | None = None, opening: int | None = 0, closing: int | None = 0,
          booked: int | None = 0) -> StatementFacts:
    return StatementFacts(sid, seq, Balance(eur(opening), D1) if opening is not None else None,
                          Balance(eur(closing), D2) if closing is not None else None,
                          eur(booked) if booked is not None else None)


def codes(result: object) -> list[str]:
    return [b.code.value for b in result.breaks]  # type: ignore[attr-defined]


def test_a_statement_that_follows_its_predecessor_and_matches_the_ledger_has_no_break() -> None:
    prev = facts(sid="S1", seq=Sequence(41), closing=10_000)
    cur = facts(seq=Sequence(42), opening=10_000, booked=-2_500, closing=7_500)
    result = check_statement(cur, previous=prev, ledger=eur(7_500))
    assert result.ok and result.skipped == ()


def test_opening_not_equal_previous_closing_is_an_opening_mismatch_with_the_difference() -> None:
    prev = facts(sid="S1", closing=10_000)
    result = check_statement(facts(opening=9_950, booked=0, closing=9_950), previous=prev, ledger=None)
    (brk,) = result.breaks
    assert brk.code is BreakCode.OPENING_MISMATCH and brk.amount == eur(-50)
    assert "S1" in brk.expected and brk.actual == "99.50 EUR"


def test_a_skipped_sequence_number_is_a_gap_naming_the_expected_and_the_actual_number() -> None:
    result = check_statement(facts(seq=Sequence(44)), previous=facts(sid="S1", seq=Sequence(42)), ledger=None)
    (brk,) = result.breaks
    assert (brk.code, brk.amount, brk.expected, brk.actual) == (BreakCode.SEQUENCE_GAP, None, "43", "44")


def test_the_next_page_of_the_same_mt940_statement_number_is_not_a_gap() -> None:
    result = check_statement(facts(seq=Sequence(7, 2)), previous=facts(sid="S1", seq=Sequence(7, 1)), ledger=None)
    assert BreakCode.SEQUENCE_GAP.value not in codes(result)


def test_a_repeated_sequence_number_is_a_gap() -> None:
    result = check_statement(facts(seq=Sequence(7)), previous=facts(sid="S1", seq=Sequence(7)), ledger=None)
    assert codes(result) == ["SEQUENCE_GAP"]


def test_no_sequence_numbers_means_the_gap_check_is_skipped_not_failed() -> None:
    result = check_statement(facts(seq=None), previous=facts(sid="S1", seq=Sequence(1)), ledger=None)
    assert result.ok and any(s.startswith("SEQUENCE_GAP:") for s in result.skipped)


def test_entries_that_do_not_add_up_are_flagged_with_closing_minus_expected() -> None:
    result = check_statement(facts(opening=1_000, booked=500, closing=1_400), previous=None, ledger=None)
    (brk,) = result.breaks
    assert brk.code is BreakCode.ENTRIES_DO_NOT_ADD_UP and brk.amount == eur(-100)


def test_bank_closing_different_from_the_ledger_is_a_ledger_mismatch_with_the_difference() -> None:
    result = check_statement(facts(opening=0, booked=0, closing=0), previous=None, ledger=eur(-1_234))
    (brk,) = result.breaks
    assert brk.code is BreakCode.LEDGER_MISMATCH and brk.amount == eur(1_234)


def test_absent_balances_and_ledger_skip_every_check() -> None:
    result = check_statement(facts(opening=None, closing=None, booked=None), previous=None, ledger=None)
    assert result.ok and len(result.skipped) == 4


def test_a_ledger_in_another_currency_is_not_compared() -> None:
    result = check_statement(facts(), previous=None, ledger=Money(0, "USD"))
    assert result.ok and any(s.startswith("LEDGER_MISMATCH: ledger in USD") for s in result.skipped)


def test_sequence_numbers_parse_with_leading_zeros_and_pages_and_refuse_anything_else() -> None:
    assert parse_sequence("00042/002") == Sequence(42, 2)
    assert parse_sequence("42") == Sequence(42)
    assert parse_sequence(" 7 ") == Sequence(7)
    assert parse_sequence(None) is None and parse_sequence("") is None and parse_sequence("A1") is None


def test_amounts_finer_than_the_currency_are_not_rounded_into_money() -> None:
    assert to_money(Decimal("1.005"), "EUR") is None
    assert to_money(Decimal("1.50"), "EUR") == eur(150)
    assert to_money(Decimal("1"), "XXZ") is None


def _statement(opening: str, closing: str, amounts: list[str], *, status: str = "BOOK",
               seq: str | None = "5") -> Statement:
    entries = tuple(StatementEntry(Decimal(a), "EUR", status, D2, D2) for a in amounts)
    return Statement("S", AccountId(iban="DE89370400440532013000"), BalanceAmount(Decimal(opening), "EUR", D1, "OPBD"),
                     BalanceAmount(Decimal(closing), "EUR", D2, "CLBD"), entries, sequence_number=seq)


def test_facts_sum_only_booked_entries() -> None:
    booked = facts_of(_statement("10.00", "7.00", ["-3.00"]))
    pending = facts_of(_statement("10.00", "10.00", ["-3.00"], status="PDNG"))
    assert booked.booked_total == eur(-300) and pending.booked_total == eur(0)
    assert booked.sequence == Sequence(5) and booked.opening == Balance(eur(1_000), D1)


def test_an_entry_in_another_currency_makes_the_sum_unknown_so_the_add_up_check_is_skipped() -> None:
    st_ = _statement("10.00", "7.00", ["-3.00"])
    mixed = Statement(st_.id, st_.account, st_.opening_balance, st_.closing_balance,
                      (*st_.entries, StatementEntry(Decimal("1"), "USD", "BOOK", D2, D2)))
    result = check_statement(facts_of(mixed), previous=None, ledger=None)
    assert result.ok and any(s.startswith("ENTRIES_DO_NOT_ADD_UP:") for s in result.skipped)


_minor = st.integers(min_value=-10**12, max_value=10**12)


@given(opening=_minor, amounts=st.lists(_minor, max_size=30), drift=_minor)
def test_add_up_break_amount_is_exactly_the_drift_added_to_the_true_closing(
        opening: int, amounts: list[int], drift: int) -> None:
    closing = opening + sum(amounts) + drift
    stmt = _statement(str(Decimal(opening).scaleb(-2)), str(Decimal(closing).scaleb(-2)),
                      [str(Decimal(a).scaleb(-2)) for a in amounts])
    result = check_statement(facts_of(stmt), previous=None, ledger=None)
    if drift == 0:
        assert result.ok
    else:
        (brk,) = result.breaks
        assert brk.code is BreakCode.ENTRIES_DO_NOT_ADD_UP and brk.amount == eur(drift)


@given(prev_closing=_minor, opening=_minor, ledger=_minor, prev_seq=st.integers(0, 10**9), step=st.integers(-3, 5))
def test_every_break_amount_is_the_signed_difference_and_sequence_breaks_exactly_when_not_plus_one(
        prev_closing: int, opening: int, ledger: int, prev_seq: int, step: int) -> None:
    cur = facts(seq=Sequence(prev_seq + step), opening=opening, booked=0, closing=opening)
    result = check_statement(cur, previous=facts(sid="S1", seq=Sequence(prev_seq), closing=prev_closing),
                             ledger=eur(ledger))
    got = {b.code: b.amount for b in result.breaks}
    assert got.get(BreakCode.OPENING_MISMATCH) == (eur(opening - prev_closing) if opening != prev_closing else None)
    assert got.get(BreakCode.LEDGER_MISMATCH) == (eur(opening - ledger) if opening != ledger else None)
    assert (BreakCode.SEQUENCE_GAP in got) == (step != 1)
    assert BreakCode.ENTRIES_DO_NOT_ADD_UP not in got
