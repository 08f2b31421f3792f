"""The matching engine, stage by stage and strategy by strategy, read as behaviour."""

from __future__ import annotations

from datetime import date

import pytest

from yinqi.domain.reconciliation.engine import match_statement
from yinqi.domain.reconciliation.model import (
    Direction,
    MatchResult,
    OpenItem,
    ReasonCode,
    Rule,
    StatementLine,
    Strategy,
)
from yinqi.domain.reconciliation.tolerance import MatchPolicy, MatchPolicyInvalid

D0 = date(2026, 3, 2)


def line(line_id: int, minor: int, *, e2e: str | None = None, ccy: str = "EUR", when: date = D0,
         name: str | None = None, text: str | None = None, **keys: str) -> StatementLine:
    return StatementLine(line_id, minor, ccy, "BOOK", when, when, (e2e,) if e2e else (),
                         counterparty_name=name, remittance=text, **keys)


def order(item_id: str, minor: int, *, e2e: str | None = None, ccy: str = "EUR", when: date = D0,
          name: str | None = "Kalo Trading GmbH", refs: tuple[str, ...] = (), **keys: str) -> OpenItem:
    return OpenItem(item_id, Direction.OUT, minor, ccy, when, e2e, counterparty_name=name, references=refs, **keys)


def codes(result: MatchResult, which: str = "matches") -> list[list[str]]:
    return [[r.code.value for r in m.reasons] for m in getattr(result, which)]


def pairs(result: MatchResult) -> list[tuple[tuple[int, ...], tuple[str, ...]]]:
    return [(m.line_ids, m.item_ids) for m in result.matches]


# --- stage 1: identity keys ------------------------------------------------------------------
def test_an_end_to_end_id_with_the_exact_amount_is_booked_with_full_confidence() -> None:
    result = match_statement(lines=[line(1, -1000, e2e="E2E-1")], items=[order("o1", 1000, e2e="E2E-1")])
    (m,) = result.matches
    assert (m.rule, m.strategy, m.confidence, m.auto) == (Rule.IDENTITY, Strategy.ONE_TO_ONE, 1.0, True)
    assert codes(result) == [["END_TO_END_ID", "AMOUNT_EXACT"]]


@pytest.mark.parametrize(("key", "code"), [("uetr", "UETR"), ("bank_reference", "BANK_REFERENCE"),
                                           ("instruction_id", "INSTRUCTION_ID")])
def test_other_identity_keys_match_too(key: str, code: str) -> None:
    value = "6f1c7a2e-0c1d-4a8e-9d3b-2b1b0c9d8e7f"
    result = match_statement(lines=[line(1, -1000, **{key: value})], items=[order("o1", 1000, **{key: value})])
    assert pairs(result) == [((1,), ("o1",))] and codes(result)[0][0] == code


def test_an_end_to_end_id_beats_the_instruction_id_a_whole_batch_shares() -> None:
    lines = [line(1, -300, e2e="A", instruction_id="PMT-1"), line(2, -500, e2e="B", instruction_id="PMT-1")]
    items = [order("a", 300, e2e="A", instruction_id="PMT-1"), order("b", 500, e2e="B", instruction_id="PMT-1")]
    assert pairs(match_statement(lines=lines, items=items)) == [((1,), ("a",)), ((2,), ("b",))]


def test_a_bank_fee_within_tolerance_is_a_match_that_names_the_fee() -> None:
    result = match_statement(lines=[line(1, -100_250, e2e="E")], items=[order("o1", 100_000, e2e="E")])
    (m,) = result.matches
    assert m.fee_minor == 250 and m.confidence < 1.0 and "FEE_DRIFT:250" in [str(r) for r in m.reasons]


def test_a_drift_beyond_the_fee_tolerance_is_a_discrepancy_not_a_match() -> None:
    result = match_statement(lines=[line(1, -109_000, e2e="E")], items=[order("o1", 100_000, e2e="E")])
    assert result.matches == () and [d.code for d in result.discrepancies] == [ReasonCode.AMOUNT_DIFFERS]


def test_a_different_currency_is_a_discrepancy() -> None:
    result = match_statement(lines=[line(1, -1000, e2e="E", ccy="USD")], items=[order("o1", 1000, e2e="E")])
    assert result.matches == () and result.discrepancies[0].code is ReasonCode.CURRENCY_DIFFERS


def test_a_partial_booking_is_a_suggestion_for_a_person() -> None:
    result = match_statement(lines=[line(1, -400, e2e="E")], items=[order("o1", 1000, e2e="E")])
    assert result.matches == () and codes(result, "suggestions") == [["END_TO_END_ID", "PARTIAL"]]


def test_a_credit_never_pays_an_outgoing_order() -> None:
    result = match_statement(lines=[line(1, 1000, name="Kalo Trading", text="INV-0001234")],
                             items=[order("o1", 1000, refs=("INV-0001234",))])
    assert result.matches == ()


# --- 1:N and N:1 ----------------------------------------------------------------------------
def test_one_line_carrying_several_end_to_end_ids_books_the_batch_when_the_sum_agrees() -> None:
    batch = StatementLine(1, -800, "EUR", "BOOK", D0, D0, ("A", "B", "C"))
    items = [order("a", 100, e2e="A"), order("b", 300, e2e="B"), order("c", 400, e2e="C")]
    (m,) = match_statement(lines=[batch], items=items).matches
    assert (m.strategy, m.item_ids, m.auto) == (Strategy.ONE_TO_MANY, ("a", "b", "c"), True)


def test_a_batch_booked_without_one_rejected_order_matches_the_unique_subset() -> None:
    items = [order(i, amount, instruction_id="PMT-9") for i, amount in (("a", 100), ("b", 300), ("c", 450))]
    result = match_statement(lines=[line(1, -550, instruction_id="PMT-9")], items=items)
    (m,) = result.matches
    assert m.item_ids == ("a", "c") and "SUBSET_SUM" in codes(result)[0]
    assert result.unmatched_item_ids == ("b",)


def test_a_batch_amount_that_several_subsets_explain_goes_to_a_person() -> None:
    items = [order(i, amount, instruction_id="PMT-9") for i, amount in (("a", 100), ("b", 100), ("c", 300))]
    result = match_statement(lines=[line(1, -400, instruction_id="PMT-9")], items=items)
    assert result.matches == () and "TIE" in codes(result, "suggestions")[0]


def test_instalments_that_name_the_invoice_add_up_to_one_expected_receipt() -> None:
    receipt = OpenItem("r1", Direction.IN, 1000, "EUR", D0, counterparty_name="Buyer", references=("INV-2026-0077",))
    lines = [line(1, 400, text="part 1 INV-2026-0077"), line(2, 600, when=date(2026, 3, 20), text="INV-2026-0077 rest")]
    (m,) = match_statement(lines=lines, items=[receipt]).matches
    assert (m.strategy, m.line_ids, m.rule) == (Strategy.MANY_TO_ONE, (1, 2), Rule.REFERENCE)


# --- stages 2 and 3: the amount block -------------------------------------------------------
def test_amount_name_and_date_alone_are_only_a_suggestion() -> None:
    result = match_statement(lines=[line(1, -1000, name="KALO TRADING")], items=[order("o1", 1000)])
    assert result.matches == () and codes(result, "suggestions") == [
        ["AMOUNT_EXACT", "VALUE_DATE_IN_WINDOW", "NAME_SIMILAR"]]


def test_a_mangled_reference_inside_the_amount_block_and_window_is_booked() -> None:
    lines = [line(1, -1000, e2e="NOTPROVIDED", when=date(2026, 3, 5), name="Kalo Tradng", text="Pay INV-2026-00771")]
    result = match_statement(lines=lines, items=[order("o1", 1000, e2e="E2E-X", refs=("INV-2026-00717",))])
    (m,) = result.matches
    assert m.rule is Rule.AMOUNT_BLOCK and m.auto and "REFERENCE_FUZZY" in codes(result)[0]
    assert "VALUE_DATE_IN_WINDOW:3" in [str(r) for r in m.reasons]


def test_outside_the_value_date_window_the_block_offers_nothing() -> None:
    lines = [line(1, -1000, when=date(2026, 3, 9), name="Kalo Trading", text="INV-2026-00717")]
    items = [order("o1", 1000, refs=("INV-2026-00718",))]
    result = match_statement(lines=lines, items=items, policy=MatchPolicy(date_window_days=3))
    assert result.matches == () and result.suggestions == ()


def test_the_most_specific_candidate_wins() -> None:
    lines = [line(1, -1000, name="Kalo Trading", text="INV-2026-00717")]
    items = [order("o1", 1000, refs=("INV-2026-00717",)), order("o2", 1000, refs=("INV-2026-99999",))]
    assert pairs(match_statement(lines=lines, items=items)) == [((1,), ("o1",))]


def test_a_real_tie_goes_to_a_person_and_is_never_booked() -> None:
    lines = [line(1, -1000, name="Kalo Trading", text="INV-2026-00717")]
    items = [order("o1", 1000, refs=("INV-2026-00717",)), order("o2", 1000, refs=("INV-2026-00717",))]
    result = match_statement(lines=lines, items=items)
    assert result.matches == ()
    (tie,) = result.suggestions
    assert tie.is_tie and tie.item_ids == ("o1", "o2") and not tie.auto


def test_two_lines_that_fit_one_item_equally_are_a_tie() -> None:
    lines = [line(1, -1000, name="Kalo Trading", text="INV-2026-00717"),
             line(2, -1000, name="Kalo Trading", text="INV-2026-00717")]
    result = match_statement(lines=lines, items=[order("o1", 1000, refs=("INV-2026-00717",))])
    assert result.matches == () and result.suggestions[0].line_ids == (1, 2)


def test_a_resent_line_with_the_same_bank_reference_is_set_aside_as_a_duplicate() -> None:
    twin = [line(1, -1000, e2e="E", bank_reference="BR1"), line(2, -1000, e2e="E", bank_reference="BR1")]
    result = match_statement(lines=twin, items=[order("o1", 1000, e2e="E")])
    assert pairs(result) == [((1,), ("o1",))] and result.duplicate_line_ids == (2,)


def test_pending_lines_and_lines_without_minor_units_are_left_alone() -> None:
    lines = [StatementLine(1, -1000, "EUR", "PDNG", end_to_end_ids=("E",)), StatementLine(2, None, "EUR")]
    result = match_statement(lines=lines, items=[order("o1", 1000, e2e="E")])
    assert result.matches == () and result.unmatched_line_ids == (1, 2)


@pytest.mark.parametrize("bad", [{"date_window_days": -1}, {"auto_threshold": 0.0},
                                 {"suggest_floor": 0.9, "auto_threshold": 0.8}, {"fee_max_bp": 20_000}])
def test_a_policy_out_of_range_is_refused_naming_the_setting(bad: dict[str, object]) -> None:
    with pytest.raises(MatchPolicyInvalid) as exc:
        MatchPolicy(**bad)  # type: ignore[arg-type]
    assert exc.value.code == "MATCH_POLICY_INVALID" and exc.value.where in bad
