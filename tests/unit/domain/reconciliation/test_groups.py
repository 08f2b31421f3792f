"""Match group rules, pure: how lines and items may form a group, what a write-off and an unmatch
need, and the stable names of suggestions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yinqi.domain.problems import DomainError
from yinqi.domain.reconciliation.groups import (
    ACTIVE_STATUSES,
    Decision,
    GroupItem,
    GroupLine,
    GroupStatus,
    MatchGroup,
    plan_group,
    plan_write_off,
    suggestion_id,
    unmatch_of,
)

AT = datetime(2030, 1, 10, tzinfo=UTC)


def ln(line_id: int, minor: int | None, currency: str = "EUR", account: str = "a" * 32) -> GroupLine:
    return GroupLine(line_id, minor, currency, account)


def item(item_id: str, minor: int, currency: str = "EUR") -> GroupItem:
    return GroupItem(item_id, -minor, currency)


def refused(call, **kwargs) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as exc:
        call(**kwargs)
    return exc.value.code, exc.value.where


@pytest.mark.parametrize(("lines", "items", "strategy"), [
    ([ln(1, -1000)], [item("o1", 1000)], "1:1"),
    ([ln(1, -1400)], [item("o1", 1000), item("o2", 400)], "1:N"),
    ([ln(1, -600), ln(2, -400)], [item("o1", 1000)], "N:1"),
    ([ln(1, -700), ln(2, -700)], [item("o1", 1000), item("o2", 400)], "M:N"),
])
def test_lines_that_add_up_to_the_items_form_a_group_of_the_right_shape(lines, items, strategy) -> None:  # type: ignore[no-untyped-def]
    plan = plan_group(lines=lines, items=items)
    assert plan.strategy == strategy and plan.fee_minor == 0 and plan.currency == "EUR"


def test_a_line_short_by_an_allowed_fee_books_the_fee_with_the_group() -> None:
    plan = plan_group(lines=[ln(1, -100_250)], items=[item("o1", 100_000)])
    assert plan.fee_minor == 250 and plan.lines == ((1, -100_250),) and plan.items == (("o1", -100_000),)


@pytest.mark.parametrize(("lines", "items", "expected"), [
    ([ln(1, -1100)], [item("o1", 1000)], ("RECON_AMOUNTS_DIFFER", "entry_ids")),  # fee above 2 % of the amount
    ([ln(1, -900)], [item("o1", 1000)], ("RECON_AMOUNTS_DIFFER", "entry_ids")),  # the bank never pays a fee
    ([ln(1, None)], [item("o1", 1000)], ("RECON_AMOUNTS_DIFFER", "entry_ids")),
    ([ln(1, -1000, "USD")], [item("o1", 1000)], ("RECON_CURRENCY_MIXED", "entry_ids")),
    ([ln(1, -500), ln(2, -500, account="b" * 32)], [item("o1", 1000)], ("RECON_ACCOUNTS_MIXED", "entry_ids")),
    ([], [item("o1", 1000)], ("RECON_MATCH_EMPTY", "entry_ids")),
    ([ln(1, -1000)], [], ("RECON_MATCH_EMPTY", "order_ids")),
    ([ln(1, -500), ln(1, -500)], [item("o1", 1000)], ("RECON_MATCH_EMPTY", "entry_ids")),
    ([ln(1, -2000)], [item("o1", 1000), item("o1", 1000)], ("RECON_MATCH_EMPTY", "order_ids")),
])
def test_a_group_that_breaks_a_rule_is_refused_with_its_code_and_field(lines, items, expected) -> None:  # type: ignore[no-untyped-def]
    assert refused(plan_group, lines=lines, items=items) == expected


def test_a_write_off_needs_a_reason_and_keeps_the_lines_total() -> None:
    assert refused(plan_write_off, lines=[ln(1, -1250)], reason=" ") == ("RECON_REASON_REQUIRED", "reason")
    assert refused(plan_write_off, lines=[ln(1, -1250)], reason="x" * 501) == ("RECON_REASON_REQUIRED", "reason")
    plan = plan_write_off(lines=[ln(1, -1250), ln(2, -250)], reason="bank charges")
    assert plan.strategy == "N:0" and plan.lines_minor == -1500 and plan.items == ()


def group(status: GroupStatus, *, active: bool = True) -> MatchGroup:
    return MatchGroup(id="g1", status=status, rule="manual", strategy="1:1", confidence="1.0000", reasons=(),
                      currency="EUR", account="a" * 32, fee_minor=30, ledger_seq=7, write_off_account=None,
                      supersedes=None, reason="", company_id="ACME", created_at=AT, created_by="tess",
                      entries=((1, -1030),), orders=(("o1", -1000),), active=active)


def test_an_unmatch_supersedes_the_group_with_its_members_and_a_reason() -> None:
    undone = unmatch_of(group(GroupStatus.MANUAL), group_id="g2", reason=" wrong line ", actor="tess", at=AT,
                        ledger_seq=None)
    assert (undone.status, undone.supersedes, undone.reason, undone.fee_minor) == (
        GroupStatus.UNMATCHED, "g1", "wrong line", 0)
    assert undone.entries == ((1, -1030),) and undone.orders == (("o1", -1000),)


@pytest.mark.parametrize("status", [GroupStatus.REJECTED, GroupStatus.UNMATCHED])
def test_only_an_active_group_can_be_taken_apart(status: GroupStatus) -> None:
    assert refused(unmatch_of, group=group(status), group_id="g2", reason="r", actor="t", at=AT,
                   ledger_seq=None) == ("RECON_GROUP_NOT_ACTIVE", "group_id")
    assert refused(unmatch_of, group=group(GroupStatus.AUTO, active=False), group_id="g2", reason="r", actor="t",
                   at=AT, ledger_seq=None) == ("RECON_GROUP_NOT_ACTIVE", "group_id")


def test_every_decision_names_its_audit_action_and_its_status() -> None:
    assert {d.value for d in Decision} == {"recon.match.accept", "recon.match.reject", "recon.match.manual",
                                           "recon.unmatch", "recon.write_off"}
    assert {d.status for d in Decision} - ACTIVE_STATUSES == {GroupStatus.REJECTED, GroupStatus.UNMATCHED}


@given(st.lists(st.integers(1, 10**9), min_size=1, max_size=8, unique=True),
       st.lists(st.uuids().map(str), min_size=1, max_size=8, unique=True), st.randoms())
def test_a_suggestion_is_named_by_its_lines_and_items_in_any_order(lines, items, rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled_lines, shuffled_items = list(lines), list(items)
    rnd.shuffle(shuffled_lines)
    rnd.shuffle(shuffled_items)
    assert suggestion_id(lines, items) == suggestion_id(shuffled_lines, shuffled_items)
    assert suggestion_id(lines, items) != suggestion_id(lines, [*items, "another"])


@given(st.lists(st.integers(1, 10**7), min_size=1, max_size=6), st.integers(0, 5))
def test_any_split_of_the_items_total_into_lines_is_a_group_without_fee(amounts, cuts) -> None:  # type: ignore[no-untyped-def]
    total = sum(amounts)
    pieces = [total // (cuts + 1)] * cuts
    lines = [ln(i + 1, -p) for i, p in enumerate([*pieces, total - sum(pieces)]) if p]
    plan = plan_group(lines=lines, items=[item(f"o{i}", a) for i, a in enumerate(amounts)])
    assert plan.fee_minor == 0 and plan.lines_minor == -total
