"""Match groups: which statement lines pay which items, decided by the engine or by a person.

A group ties any number of lines to any number of items (1:1, 1:N batch bookings, N:1
instalments, M:N by hand) or, for a write-off, lines to no item at all. Groups are history: a
decision is never edited, it is followed by a new group (an unmatch supersedes the group it takes
apart), so the reconciliation of any day can be replayed. A line or an item is in at most one
*active* group (auto, accepted, manual, written off).

The amount rule is the engine's, applied to whole groups: the lines add up to the items exactly,
or show less by a fee the match policy allows (the bank kept it on the way; it is posted with the
group). Anything else is refused with its amounts, never booked "close enough".

>>> plan_group(lines=[GroupLine(1, -1000, "EUR", "a"), GroupLine(2, -1500, "EUR", "a")],
...            items=[GroupItem("o1", -2500, "EUR")]).strategy
'N:1'
>>> plan_group(lines=[GroupLine(1, -10_025, "EUR", "a")], items=[GroupItem("o1", -10_000, "EUR")]).fee_minor
25
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from yinqi.domain.problems import DomainError
from yinqi.domain.reconciliation.tolerance import DEFAULT_POLICY, MatchPolicy

__all__ = [
    "ACTIVE_STATUSES", "Decision", "GroupItem", "GroupLine", "GroupPlan", "GroupStatus", "MatchGroup",
    "ReconAccountsMixed",
    "ReconAmountsDiffer", "ReconCurrencyMixed", "ReconGroupNotActive", "ReconGroupNotFound", "ReconLineClaimed",
    "ReconLineNotFound", "ReconMatchEmpty", "ReconOrderNotMatchable", "ReconReasonRequired",
    "ReconSuggestionNotFound", "plan_group", "plan_write_off", "require_reason", "suggestion_id", "unmatch_of",
]

MAX_GROUP_MEMBERS = 200  # a person ticks lines and items; more than this in one group is a mistake
REASON_MAX_CHARS = 500


class GroupStatus(StrEnum):
    AUTO = "auto"  # booked by the engine, unattended
    ACCEPTED = "accepted"  # an engine suggestion a person accepted
    MANUAL = "manual"  # lines and items a person put together
    WRITTEN_OFF = "written_off"  # lines booked to the write-off account, with a reason
    REJECTED = "rejected"  # a suggestion a person turned down: never shown again
    UNMATCHED = "unmatched"  # a person took an active group apart (supersedes it)


ACTIVE_STATUSES = frozenset({GroupStatus.AUTO, GroupStatus.ACCEPTED, GroupStatus.MANUAL, GroupStatus.WRITTEN_OFF})


class Decision(StrEnum):
    """What a person decides in the exceptions queue; the value is the audit action."""

    ACCEPT = "recon.match.accept"
    REJECT = "recon.match.reject"
    MANUAL = "recon.match.manual"
    UNMATCH = "recon.unmatch"
    WRITE_OFF = "recon.write_off"

    @property
    def status(self) -> GroupStatus:
        return {Decision.ACCEPT: GroupStatus.ACCEPTED, Decision.REJECT: GroupStatus.REJECTED,
                Decision.MANUAL: GroupStatus.MANUAL, Decision.UNMATCH: GroupStatus.UNMATCHED,
                Decision.WRITE_OFF: GroupStatus.WRITTEN_OFF}[self]


class ReconMatchEmpty(DomainError):
    code = "RECON_MATCH_EMPTY"


class ReconCurrencyMixed(DomainError):
    code = "RECON_CURRENCY_MIXED"


class ReconAccountsMixed(DomainError):
    code = "RECON_ACCOUNTS_MIXED"


class ReconAmountsDiffer(DomainError):
    code = "RECON_AMOUNTS_DIFFER"


class ReconReasonRequired(DomainError):
    code = "RECON_REASON_REQUIRED"


class ReconLineNotFound(DomainError):
    code = "RECON_LINE_NOT_FOUND"


class ReconLineClaimed(DomainError):
    """The line or item already belongs to an active group: unmatch that group first."""

    code = "RECON_LINE_CLAIMED"


class ReconOrderNotMatchable(DomainError):
    """The order is not open (SENT / ACCEPTED) nor a settled order whose match was taken apart."""

    code = "RECON_ORDER_NOT_MATCHABLE"


class ReconGroupNotFound(DomainError):
    code = "RECON_GROUP_NOT_FOUND"


class ReconGroupNotActive(DomainError):
    code = "RECON_GROUP_NOT_ACTIVE"


class ReconSuggestionNotFound(DomainError):
    """The suggestion is gone: decided by someone else, or the engine no longer proposes it."""

    code = "RECON_SUGGESTION_NOT_FOUND"


@dataclass(frozen=True, slots=True)
class GroupLine:
    """A statement line as a group sees it: signed minor units (debit negative) and its account."""

    line_id: int
    amount_minor: int | None
    currency: str
    account: str  # the account's blind index: lines of one group are on one bank account


@dataclass(frozen=True, slots=True)
class GroupItem:
    """An item as a group sees it: `signed_minor` is what its line should show (an order: negative)."""

    item_id: str
    signed_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class GroupPlan:
    lines: tuple[tuple[int, int], ...]  # (line id, signed minor units)
    items: tuple[tuple[str, int], ...]  # (item id, signed minor units its line should show)
    strategy: str  # '1:1', '1:N', 'N:1', 'M:N', or 'N:0' for a write-off
    currency: str
    account: str
    fee_minor: int  # what the bank kept (>= 0); posted with the group

    @property
    def line_ids(self) -> tuple[int, ...]:
        return tuple(i for i, _ in self.lines)

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(i for i, _ in self.items)

    @property
    def lines_minor(self) -> int:
        return sum(a for _, a in self.lines)


@dataclass(frozen=True, slots=True)
class MatchGroup:
    """One decision, as stored: never changed afterwards (an unmatch is a new group)."""

    id: str
    status: GroupStatus
    rule: str
    strategy: str
    confidence: str  # decimal string in [0, 1]
    reasons: tuple[str, ...]
    currency: str
    account: str | None
    fee_minor: int
    ledger_seq: int | None  # the group's own posting: fee, write-off, or the reversal of one
    write_off_account: str | None
    supersedes: str | None
    reason: str
    company_id: str | None
    created_at: datetime
    created_by: str
    entries: tuple[tuple[int, int], ...] = ()
    orders: tuple[tuple[str, int], ...] = ()
    active: bool = False  # read back: its claims are held

    @property
    def is_active(self) -> bool:
        return self.active and self.status in ACTIVE_STATUSES


def unmatch_of(group: MatchGroup, *, group_id: str, reason: str, actor: str, at: datetime,
               ledger_seq: int | None) -> MatchGroup:
    """The group that takes `group` apart: same members, status unmatched, `supersedes` it.

    Raises:
        ReconGroupNotActive (RECON_GROUP_NOT_ACTIVE): already taken apart, rejected or superseded.
        ReconReasonRequired (RECON_REASON_REQUIRED): no reason.
    """
    if not group.is_active:
        raise ReconGroupNotActive(f"match group {group.id} is {group.status.value} and holds nothing to unmatch",
                                  where="group_id", rule="group_active", value=group.id)
    return replace(group, id=group_id, status=GroupStatus.UNMATCHED, rule="unmatch", confidence="1.0000",
                   reasons=(), fee_minor=0, ledger_seq=ledger_seq, supersedes=group.id,
                   reason=require_reason(reason), created_at=at, created_by=actor, active=False)


def plan_group(*, lines: Sequence[GroupLine], items: Sequence[GroupItem],
               policy: MatchPolicy = DEFAULT_POLICY) -> GroupPlan:
    """Check that `lines` can pay `items` as one group and say how (strategy, fee).

    Raises:
        ReconMatchEmpty (RECON_MATCH_EMPTY): no line, no item, a repeated one, or too many.
        ReconCurrencyMixed (RECON_CURRENCY_MIXED): lines and items are not all in one currency.
        ReconAccountsMixed (RECON_ACCOUNTS_MIXED): the lines are on different bank accounts.
        ReconAmountsDiffer (RECON_AMOUNTS_DIFFER): the totals differ by more than an allowed fee.
    """
    _require_members([x.line_id for x in lines], where="entry_ids")
    _require_members([i.item_id for i in items], where="order_ids")
    currency, account = _common(lines, items)
    lines_minor = sum(x.amount_minor or 0 for x in lines)
    items_minor = sum(i.signed_minor for i in items)
    drift = lines_minor - items_minor
    fee = 0
    if drift:
        if not policy.fee_allows(drift_minor=drift, amount_minor=abs(items_minor)):
            raise ReconAmountsDiffer(f"the lines add up to {lines_minor}, the items expect {items_minor} "
                                     f"(minor units of {currency}); a difference is allowed only as a bank fee",
                                     where="entry_ids", rule="amounts_add_up", value=drift,
                                     details={"lines_minor": lines_minor, "items_minor": items_minor})
        fee = -drift
    strategy = ("1:1" if len(lines) == len(items) == 1 else "1:N" if len(lines) == 1
                else "N:1" if len(items) == 1 else "M:N")
    return GroupPlan(_amounts(lines), tuple((i.item_id, i.signed_minor) for i in items), strategy, currency,
                     account, fee)


def plan_write_off(*, lines: Sequence[GroupLine], reason: str) -> GroupPlan:
    """Lines booked against the write-off account: one currency, one account, and a reason.

    Raises:
        ReconReasonRequired (RECON_REASON_REQUIRED), ReconMatchEmpty, ReconCurrencyMixed,
        ReconAccountsMixed: as `plan_group`.
    """
    require_reason(reason)
    _require_members([x.line_id for x in lines], where="entry_ids")
    currency, account = _common(lines, ())
    return GroupPlan(_amounts(lines), (), "N:0", currency, account, 0)


def require_reason(reason: str, *, where: str = "reason") -> str:
    """Raises:
        ReconReasonRequired (RECON_REASON_REQUIRED): blank, or longer than 500 characters.
    """
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > REASON_MAX_CHARS:
        raise ReconReasonRequired(f"a reason of 1 to {REASON_MAX_CHARS} characters is required", where=where,
                                  rule="reason_required", value=text[:40] or None)
    return text


def suggestion_id(line_ids: Sequence[int], item_ids: Sequence[str]) -> str:
    """A stable name for "these lines with these items", whatever order they are listed in.

    >>> suggestion_id([2, 1], ["b", "a"]) == suggestion_id([1, 2], ["a", "b"])
    True
    """
    text = ",".join(map(str, sorted(line_ids))) + "|" + ",".join(sorted(item_ids))
    return "s-" + hashlib.sha256(text.encode()).hexdigest()[:20]


def _amounts(lines: Sequence[GroupLine]) -> tuple[tuple[int, int], ...]:
    return tuple((x.line_id, x.amount_minor or 0) for x in lines)


def _require_members(ids: Sequence[object], *, where: str) -> None:
    if not ids or len(set(ids)) != len(ids) or len(ids) > MAX_GROUP_MEMBERS:
        raise ReconMatchEmpty(f"a group needs 1 to {MAX_GROUP_MEMBERS} distinct {where.replace('_ids', '')}s",
                              where=where, rule="distinct_members", value=len(ids))


def _common(lines: Sequence[GroupLine], items: Sequence[GroupItem]) -> tuple[str, str]:
    currencies = {x.currency for x in lines} | {i.currency for i in items}
    if len(currencies) != 1:
        raise ReconCurrencyMixed(f"a group is in one currency, these are in {sorted(currencies)}",
                                 where="entry_ids", rule="one_currency", value=",".join(sorted(currencies)))
    if any(x.amount_minor is None or x.amount_minor == 0 for x in lines):
        raise ReconAmountsDiffer("a line whose amount does not fit its currency cannot be matched",
                                 where="entry_ids", rule="amount_in_minor_units")
    accounts = {x.account for x in lines}
    if len(accounts) != 1:
        raise ReconAccountsMixed("the lines of a group are on one bank account", where="entry_ids",
                                 rule="one_account", value=len(accounts))
    return currencies.pop(), accounts.pop()
