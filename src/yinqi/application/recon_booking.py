"""Booking a match group: its ledger effect, the orders it settles, and the group row, together.

Both the automatic run and a person's decision come through `book_group`, so a group booked
unattended and one accepted in the console look the same in the ledger and in the history:

* a fee (the bank kept part of the money on the way) is one journal entry per group,
  `Dr expenses:bank-charges:<CCY> / Cr funds:available:<account>`, key `recon:<group id>:fee`.
  Not `funds:held` (ADR 0007 first proposed it): held funds are exactly the orders' amounts and
  go to zero when they settle, and they refuse overdraft; the fee was never reserved, it comes out
  of the account's available money, which is what the bank's balance shows.
* open orders (SENT / ACCEPTED) settle (`orders.settle_order`); an order already SETTLED (its
  earlier match was taken apart) is only claimed again, never settled twice.
* a write-off books the lines' total against the configured write-off account
  (`expenses:recon-write-off:<CCY>` unless the caller names another), key `recon:<id>:write-off`.
* an unmatch reverses the superseded group's own posting (fee or write-off), key
  `recon:<id>:reverse`. Orders it had settled stay SETTLED (the order lifecycle has no way back
  from SETTLED but a return) and come back to the queue as settled orders without a line.

The caller owns the transaction: it wraps the steps in `uow.atomic()` and commits once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from yinqi.application import accounts
from yinqi.application import orders as order_cases
from yinqi.application.ports import Clock
from yinqi.domain.money import Money
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.reconciliation.groups import GroupPlan, GroupStatus, MatchGroup, unmatch_of

OPEN_STATES = (OrderState.SENT, OrderState.ACCEPTED)
FEE_ACCOUNT = "expenses:bank-charges"
WRITE_OFF_ACCOUNT = "expenses:recon-write-off"
_BLIND_INDEX = re.compile(r"[0-9a-f]{32}")


def funds_account(uow: Any, account: str) -> str:
    """`funds:available:<ledger key>` of a statement's account (stored as its blind index)."""
    bidx = account if _BLIND_INDEX.fullmatch(account) else uow.vault.blind_index(account)  # pre-0007 rows: clear
    return accounts.available_account(f"acct_{bidx[:16]}")


def book_group(uow: Any, *, clock: Clock, plan: GroupPlan, status: GroupStatus, actor: str, rule: str,
               confidence: float, reasons: Sequence[str], orders: Sequence[Any], reason: str = "",
               company_id: str | None = None, group_id: str | None = None) -> MatchGroup:
    """Post the fee (first: it is the step that can be refused), settle, store the group.

    Raises:
        InsufficientFunds (INSUFFICIENT_FUNDS): the account's available funds do not cover the fee;
            nothing is written.
        IllegalTransition (ORDER_ILLEGAL_TRANSITION): an order can no longer settle.
    """
    gid = group_id or str(uuid.uuid4())
    now = clock.now()
    seq = _post_fee(uow, gid, plan, actor=actor, at=now) if plan.fee_minor else None
    for order in orders:
        if order.state in OPEN_STATES:
            order_cases.settle_order(uow=uow, order_id=order.id, actor=actor, clock=clock)
    group = _row(gid, plan, status=status, rule=rule, confidence=confidence, reasons=reasons, seq=seq,
                 reason=reason, company_id=company_id, actor=actor, at=now)
    uow.recon.add_group(group)
    return group


def book_write_off(uow: Any, *, clock: Clock, plan: GroupPlan, actor: str, reason: str, company_id: str | None,
                   account_base: str = WRITE_OFF_ACCOUNT) -> MatchGroup:
    """Book the lines against `<account_base>:<CCY>` and store a written-off group."""
    gid = str(uuid.uuid4())
    now = clock.now()
    write_off = f"{account_base}:{plan.currency}"
    uow.ledger.ensure_account(code=write_off, currency=plan.currency, kind="expense",
                              name=f"Reconciliation write-offs {plan.currency}")
    total = Money(plan.lines_minor, plan.currency)
    seq = uow.ledger.post(idempotency_key=f"recon:{gid}:write-off",
                          postings=[(write_off, -total), (funds_account(uow, plan.account), total)],
                          memo=f"write-off of statement lines {list(plan.line_ids)}: {reason}", actor=actor, at=now,
                          metadata={"recon_group": gid})
    group = _row(gid, plan, status=GroupStatus.WRITTEN_OFF, rule="write_off", confidence=1.0, reasons=(), seq=seq,
                 reason=reason, company_id=company_id, actor=actor, at=now, write_off=write_off)
    uow.recon.add_group(group)
    return group


def book_unmatch(uow: Any, *, clock: Clock, group: MatchGroup, actor: str, reason: str) -> MatchGroup:
    """Release the group's claims, reverse its own posting, append the group that supersedes it.

    Raises:
        ReconGroupNotActive (RECON_GROUP_NOT_ACTIVE), ReconReasonRequired (RECON_REASON_REQUIRED).
        InsufficientFunds (INSUFFICIENT_FUNDS): reversing a written-off credit needs money since spent.
    """
    gid = str(uuid.uuid4())
    now = clock.now()
    undo = unmatch_of(group, group_id=gid, reason=reason, actor=actor, at=now, ledger_seq=None)
    seq = None
    if group.ledger_seq is not None:
        seq = int(uow.ledger.reverse(seq=group.ledger_seq, idempotency_key=f"recon:{gid}:reverse", actor=actor,
                                     at=now, reason=f"unmatch of reconciliation group {group.id}: {undo.reason}"))
    uow.recon.release(group.id)
    undone = replace(undo, ledger_seq=seq)
    uow.recon.add_group(undone)
    return undone


def _post_fee(uow: Any, gid: str, plan: GroupPlan, *, actor: str, at: datetime) -> int:
    fee = Money(plan.fee_minor, plan.currency)
    charges = f"{FEE_ACCOUNT}:{plan.currency}"
    uow.ledger.ensure_account(code=charges, currency=plan.currency, kind="expense",
                              name=f"Bank charges {plan.currency}")
    return int(uow.ledger.post(idempotency_key=f"recon:{gid}:fee",
                               postings=[(charges, fee), (funds_account(uow, plan.account), -fee)],
                               memo=f"bank fee kept on statement lines {list(plan.line_ids)}", actor=actor, at=at,
                               metadata={"recon_group": gid, "orders": list(plan.item_ids)}))


def _row(gid: str, plan: GroupPlan, *, status: GroupStatus, rule: str, confidence: float, reasons: Sequence[str],
         seq: int | None, reason: str, company_id: str | None, actor: str, at: datetime,
         write_off: str | None = None) -> MatchGroup:
    return MatchGroup(id=gid, status=status, rule=rule, strategy=plan.strategy, confidence=f"{confidence:.4f}",
                      reasons=tuple(reasons), currency=plan.currency, account=plan.account, fee_minor=plan.fee_minor,
                      ledger_seq=seq, write_off_account=write_off, supersedes=None, reason=reason,
                      company_id=company_id, created_at=at, created_by=actor, entries=plan.lines, orders=plan.items)
