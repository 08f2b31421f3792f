"""The reconciliation exceptions queue on SQLite and PostgreSQL: match groups booked by a person
(manual 1:N, accepted suggestions, write-offs), unmatch as a new group, an automatic run that
leaves people's decisions alone, append-only history, and company separation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.support.orders import funded_uow_factory
from tests.support.recon import (
    AUDITOR,
    HOME,
    OPERATOR,
    OUTSIDER,
    TREASURER,
    Clock,
    line,
    sent_order,
    store_statement,
)
from yinqi.adapters.db.ledger_verify import verify
from yinqi.application import recon_decisions as decide
from yinqi.application.recon_queue import list_exceptions
from yinqi.application.reconciliation import run_reconciliation
from yinqi.domain.identity.principal import Forbidden
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.problems import DomainError

CLOCK = Clock()


@pytest.fixture
def new_uow(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    return funded_uow_factory(engine, opening="10000.00", clock=CLOCK)  # type: ignore[arg-type]


@pytest.fixture
def batch(new_uow):  # type: ignore[no-untyped-def]
    """Two orders the bank booked as one line without ids, and a bank charge line with no order."""
    o1 = sent_order(new_uow, CLOCK, "B-1", "100.00", payee="Alpha Supplies")
    o2 = sent_order(new_uow, CLOCK, "B-2", "40.00", payee="Beta Parts")
    ids = store_statement(new_uow, CLOCK, [line("BR1", "-140.00", text="collective booking", name=None),
                                           line("BR2", "-12.50", text="account fee Q1", name="BANK")])
    return o1, o2, ids[0], ids[1]


def queue(new_uow, who=TREASURER):  # type: ignore[no-untyped-def]
    with new_uow() as u:
        return list_exceptions(uow=u, principal=who, home_company=HOME)


def decide_with(new_uow, case, **kwargs):  # type: ignore[no-untyped-def]
    with new_uow() as u:
        return case(uow=u, clock=CLOCK, principal=kwargs.pop("principal", TREASURER), home_company=HOME, **kwargs)


def states(new_uow, *orders) -> list[OrderState]:  # type: ignore[no-untyped-def]
    with new_uow() as u:
        return [u.orders.get(o.id).state for o in orders]


def test_unmatched_lines_and_orders_are_listed_with_their_reasons(new_uow, batch) -> None:  # type: ignore[no-untyped-def]
    o1, o2, batch_line, fee_line = batch
    q = queue(new_uow)
    assert [x.entry.id for x in q.lines] == [batch_line, fee_line]
    assert all(x.reasons == ("NO_CANDIDATE",) for x in q.lines) and q.lines[0].company_ids == (HOME,)
    assert {i.order.id: i.reason for i in q.items} == {o1.id: "open", o2.id: "open"}
    assert queue(new_uow, AUDITOR).lines and queue(new_uow, OPERATOR).items  # recon.read: read-only roles see it


def test_a_manual_one_to_many_match_settles_both_orders_and_claims_the_line(new_uow, batch, engine) -> None:  # type: ignore[no-untyped-def]
    o1, o2, batch_line, _ = batch
    group = decide_with(new_uow, decide.match_manually, entry_ids=[batch_line], order_ids=[o1.id, o2.id],
                        reason="one booking for two invoices")
    assert group.strategy == "1:N" and group.status.value == "manual" and group.fee_minor == 0
    assert states(new_uow, o1, o2) == [OrderState.SETTLED, OrderState.SETTLED]
    q = queue(new_uow)
    assert batch_line not in [x.entry.id for x in q.lines] and not q.items
    assert [g.id for g in q.groups] == [group.id]
    with new_uow() as u:
        events = [e for e in u.audit.iter_all() if e.action.startswith("recon.")]
    assert [(e.action, e.object_id, e.actor_id, e.reason) for e in events] == [
        ("recon.match.manual", group.id, "tess", "one booking for two invoices")]
    assert verify(engine, hash_key=b"k" * 32).ok


def test_an_automatic_run_after_a_manual_match_leaves_it_alone(new_uow, batch) -> None:  # type: ignore[no-untyped-def]
    o1, o2, batch_line, _ = batch
    group = decide_with(new_uow, decide.match_manually, entry_ids=[batch_line], order_ids=[o1.id, o2.id])
    o3 = sent_order(new_uow, CLOCK, "B-3", "140.00")  # would fit the batch line on amount alone
    run = run_reconciliation(uow_factory=new_uow, clock=CLOCK)
    assert o3.id not in run.settled and batch_line not in [i for m in run.booked for i in m.line_ids]
    with new_uow() as u:
        assert u.recon.claims("entry", [str(batch_line)]) == {str(batch_line): group.id}
        assert u.recon.get(group.id).is_active


def test_a_line_in_a_group_cannot_be_matched_again(new_uow, batch) -> None:  # type: ignore[no-untyped-def]
    o1, o2, batch_line, _ = batch
    decide_with(new_uow, decide.match_manually, entry_ids=[batch_line], order_ids=[o1.id, o2.id])
    o3 = sent_order(new_uow, CLOCK, "B-3", "140.00")
    with pytest.raises(DomainError) as refused:
        decide_with(new_uow, decide.match_manually, entry_ids=[batch_line], order_ids=[o3.id])
    assert (refused.value.code, refused.value.where) == ("RECON_LINE_CLAIMED", "entry_ids")


def test_amounts_that_do_not_add_up_are_refused_and_nothing_is_booked(new_uow, batch) -> None:  # type: ignore[no-untyped-def]
    o1, _, batch_line, _ = batch
    with pytest.raises(DomainError) as refused:
        decide_with(new_uow, decide.match_manually, entry_ids=[batch_line], order_ids=[o1.id])
    assert (refused.value.code, refused.value.where) == ("RECON_AMOUNTS_DIFFER", "entry_ids")
    assert states(new_uow, o1) == [OrderState.SENT]


def test_unmatch_returns_the_line_and_the_settled_orders_to_the_queue_and_a_rematch_does_not_settle_twice(  # type: ignore[no-untyped-def]
        new_uow, batch, engine) -> None:
    o1, o2, batch_line, _ = batch
    group = decide_with(new_uow, decide.match_manually, entry_ids=[batch_line], order_ids=[o1.id, o2.id])
    with pytest.raises(DomainError) as no_reason:
        decide_with(new_uow, decide.unmatch, group_id=group.id, reason="  ")
    assert (no_reason.value.code, no_reason.value.where) == ("RECON_REASON_REQUIRED", "reason")
    undone = decide_with(new_uow, decide.unmatch, group_id=group.id, reason="wrong pair")
    assert undone.supersedes == group.id and undone.status.value == "unmatched"
    q = queue(new_uow)
    assert batch_line in [x.entry.id for x in q.lines]
    assert {i.order.id: i.reason for i in q.items} == {o1.id: "settled", o2.id: "settled"}
    assert run_reconciliation(uow_factory=new_uow, clock=CLOCK).entries == 1  # the fee line only: people's line
    with pytest.raises(DomainError) as twice:
        decide_with(new_uow, decide.unmatch, group_id=group.id, reason="again")
    assert twice.value.code == "RECON_GROUP_NOT_ACTIVE"
    again = decide_with(new_uow, decide.match_manually, entry_ids=[batch_line], order_ids=[o1.id, o2.id])
    assert states(new_uow, o1, o2) == [OrderState.SETTLED] * 2
    with new_uow() as u:
        assert u.recon.get(again.id).is_active and not u.recon.get(group.id).is_active
        assert u.ledger.balance("payments:outgoing:EUR").minor == 14_000  # settled once, not twice
    assert verify(engine, hash_key=b"k" * 32).ok


def test_a_manual_match_with_a_fee_posts_it_and_its_unmatch_reverses_it(new_uow, engine) -> None:  # type: ignore[no-untyped-def]
    order = sent_order(new_uow, CLOCK, "F-1", "200.00")
    (entry,) = store_statement(new_uow, CLOCK, [line("BRF", "-200.30", text="payment", name=None)])
    group = decide_with(new_uow, decide.match_manually, entry_ids=[entry], order_ids=[order.id])
    with new_uow() as u:
        assert u.ledger.balance("expenses:bank-charges:EUR").minor == 30
        assert u.ledger.find_by_key(f"recon:{group.id}:fee").entry.memo.startswith("bank fee")
    decide_with(new_uow, decide.unmatch, group_id=group.id, reason="fee belongs to another line")
    with new_uow() as u:
        assert u.ledger.balance("expenses:bank-charges:EUR").minor == 0
    assert verify(engine, hash_key=b"k" * 32).ok


def test_a_write_off_books_the_line_to_the_write_off_account_and_needs_a_reason(new_uow, batch, engine) -> None:  # type: ignore[no-untyped-def]
    _, _, _, fee_line = batch
    with pytest.raises(DomainError) as refused:
        decide_with(new_uow, decide.write_off, entry_ids=[fee_line], reason="")
    assert (refused.value.code, refused.value.where) == ("RECON_REASON_REQUIRED", "reason")
    group = decide_with(new_uow, decide.write_off, entry_ids=[fee_line], reason="quarterly account fee")
    assert group.status.value == "written_off" and group.write_off_account == "expenses:recon-write-off:EUR"
    with new_uow() as u:
        assert u.ledger.balance("expenses:recon-write-off:EUR").minor == 1250
    assert fee_line not in [x.entry.id for x in queue(new_uow).lines]
    assert verify(engine, hash_key=b"k" * 32).ok


def test_a_suggestion_can_be_accepted_and_another_rejected_for_good(new_uow) -> None:  # type: ignore[no-untyped-def]
    near = sent_order(new_uow, CLOCK, "S-1", "300.00")
    other = sent_order(new_uow, CLOCK, "S-2", "75.00", payee="Gamma Tools AG")
    store_statement(new_uow, CLOCK, [line("BRS", "-300.00", text="payment"),
                                     line("BRT", "-75.00", text="payment", name="GAMMA TOOLS AG")])
    run_reconciliation(uow_factory=new_uow, clock=CLOCK)  # name + amount + date: suggestions, not booked
    q = queue(new_uow)
    by_order = {s.match.item_ids: s for s in q.suggestions}
    accept, reject = by_order[(near.id,)], by_order[(other.id,)]
    assert not accept.match.auto and 0.6 <= accept.match.confidence < 0.85
    group = decide_with(new_uow, decide.accept_suggestion, suggestion_id=accept.id)
    assert group.status.value == "accepted" and states(new_uow, near) == [OrderState.SETTLED]
    decide_with(new_uow, decide.reject_suggestion, suggestion_id=reject.id, reason="not our supplier")
    q = queue(new_uow)
    assert not q.suggestions and other.id in [i.order.id for i in q.items]
    with pytest.raises(DomainError) as gone:
        decide_with(new_uow, decide.accept_suggestion, suggestion_id=reject.id)
    assert (gone.value.code, gone.value.where) == ("RECON_SUGGESTION_NOT_FOUND", "suggestion_id")


def test_only_a_treasurer_decides_and_another_company_sees_nothing(new_uow, batch) -> None:  # type: ignore[no-untyped-def]
    o1, o2, batch_line, _ = batch
    with pytest.raises(Forbidden):
        decide_with(new_uow, decide.match_manually, principal=OPERATOR, entry_ids=[batch_line],
                    order_ids=[o1.id, o2.id])
    outside = queue(new_uow, OUTSIDER)
    assert not outside.lines and not outside.items
    with pytest.raises(DomainError) as hidden:
        decide_with(new_uow, decide.write_off, principal=OUTSIDER, entry_ids=[batch_line], reason="x")
    assert (hidden.value.code, hidden.value.where) == ("RECON_LINE_NOT_FOUND", "entry_ids")


@pytest.mark.parametrize("table", ["reconciliation_groups", "reconciliation_group_members"])
def test_match_group_history_refuses_update_and_delete(new_uow, batch, engine: Engine, table: str) -> None:  # type: ignore[no-untyped-def]
    o1, o2, batch_line, _ = batch
    decide_with(new_uow, decide.match_manually, entry_ids=[batch_line], order_ids=[o1.id, o2.id])
    for sql in (f"UPDATE {table} SET amount_minor = 0" if table.endswith("members") else
                f"UPDATE {table} SET reason = 'edited'", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text(sql))
