from yinqi.domain.reconciliation.matching import EntryView, MatchRule, OrderView, match_exact


def entry(eid: int, minor: int | None, e2e: str, *, status: str = "BOOK", ccy: str = "EUR") -> EntryView:
    return EntryView(eid, minor, ccy, status, (e2e,))


ORDER = OrderView("o1", "E2E-1", 1000, "EUR")


def test_a_booked_debit_with_the_orders_end_to_end_id_and_amount_matches() -> None:
    matches, problems = match_exact([entry(1, -1000, "E2E-1")], [ORDER])
    assert [(m.entry_id, m.order_id, m.rule) for m in matches] == [(1, "o1", MatchRule.END_TO_END_ID)]
    assert problems == []


def test_a_different_amount_is_a_discrepancy_not_a_match() -> None:
    matches, problems = match_exact([entry(1, -990, "E2E-1")], [ORDER])
    assert matches == [] and problems[0].order_id == "o1" and "amount" in problems[0].reason


def test_a_different_currency_is_a_discrepancy() -> None:
    matches, problems = match_exact([entry(1, -1000, "E2E-1", ccy="USD")], [ORDER])
    assert matches == [] and "currency" in problems[0].reason


def test_pending_entries_are_not_matched() -> None:
    assert match_exact([entry(1, -1000, "E2E-1", status="PDNG")], [ORDER]) == ([], [])


def test_two_entries_that_both_fit_one_order_are_a_tie_for_a_person_not_first_wins() -> None:
    matches, problems = match_exact([entry(1, -1000, "E2E-1"), entry(2, -1000, "E2E-1")], [ORDER])
    assert matches == [] and [(p.entry_id, p.reason[:4]) for p in problems] == [(1, "tie:"), (2, "tie:")]


def test_an_entry_with_unknown_ids_stays_unmatched() -> None:
    assert match_exact([entry(1, -1000, "OTHER")], [ORDER]) == ([], [])
