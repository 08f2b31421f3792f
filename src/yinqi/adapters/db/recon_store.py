"""Match groups and their claims, on the unit of work's connection (`uow.recon`).

`add_group` appends a group and its members and, for an active status, claims its lines and items
in the same transaction; the claims' primary key refuses a line or item that is already claimed
(IntegrityError: the storage half of "matched at most once", the domain checks first). `release`
deletes the claims of a group that an unmatch supersedes; the groups themselves never change.
Statement lines are read here with their account (blind index) and statement id, which the
exceptions queue needs and `StoredEntry` does not carry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Connection, String, and_, cast, delete, insert, select

from yinqi.adapters.db.tables.orders import payment_orders
from yinqi.adapters.db.tables.reconciliation import (
    reconciliation_claims,
    reconciliation_group_members,
    reconciliation_groups,
)
from yinqi.adapters.db.tables.statements import bank_statement_entries, bank_statements
from yinqi.domain.reconciliation.groups import ACTIVE_STATUSES, GroupStatus, MatchGroup

ACTIVE = tuple(s.value for s in ACTIVE_STATUSES)
MAX_ROWS = 10_000  # one queue page of lines; more wait for the next look


@dataclass(frozen=True, slots=True)
class QueueEntry:
    id: int
    account: str  # blind index of the bank account
    statement_id: str
    amount: str
    amount_minor: int | None
    currency: str
    status: str
    booking_date: date | None
    value_date: date | None
    end_to_end_ids: tuple[str, ...]
    bank_reference: str | None
    counterparty_name: str | None
    remittance: str | None


class SqlReconStore:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # --- writing ---------------------------------------------------------------------------
    def add_group(self, group: MatchGroup) -> None:
        """Append the group and its members; claim them when its status is active."""
        g = reconciliation_groups.c
        self._conn.execute(insert(reconciliation_groups).values({
            g.id: group.id, g.status: group.status.value, g.rule: group.rule, g.strategy: group.strategy,
            g.confidence: group.confidence, g.reasons: json.dumps(list(group.reasons)), g.currency: group.currency,
            g.account: group.account, g.fee_minor: group.fee_minor, g.ledger_seq: group.ledger_seq,
            g.write_off_account: group.write_off_account, g.supersedes: group.supersedes, g.reason: group.reason,
            g.company_id: group.company_id, g.created_at: group.created_at, g.created_by: group.created_by}))
        members = _members(group)
        if members:
            self._conn.execute(insert(reconciliation_group_members), members)
        if group.status in ACTIVE and members:
            self._conn.execute(insert(reconciliation_claims), [
                {"kind": m["kind"], "ref": m["ref"], "group_id": group.id} for m in members])

    def release(self, group_id: str) -> int:
        """Drop the claims of `group_id` (its unmatch is being appended); how many were held."""
        result = self._conn.execute(delete(reconciliation_claims).where(reconciliation_claims.c.group_id == group_id))
        return int(result.rowcount or 0)

    # --- groups ----------------------------------------------------------------------------
    def get(self, group_id: str) -> MatchGroup | None:
        row = self._conn.execute(select(reconciliation_groups).where(
            reconciliation_groups.c.id == group_id)).mappings().first()
        return None if row is None else self._with_members([row])[0]

    def active_groups(self, *, limit: int = 200) -> list[MatchGroup]:
        """Groups holding claims, newest first."""
        held = select(reconciliation_claims.c.group_id).distinct()
        rows = self._conn.execute(select(reconciliation_groups).where(reconciliation_groups.c.id.in_(held))
                                  .order_by(reconciliation_groups.c.created_at.desc(),
                                            reconciliation_groups.c.id.desc()).limit(limit)).mappings().all()
        return self._with_members(rows)

    def _with_members(self, rows: Sequence[object]) -> list[MatchGroup]:
        ids = [dict(r)["id"] for r in rows]  # type: ignore[call-overload]
        m = reconciliation_group_members.c
        members: dict[str, list[tuple[str, str, int]]] = {i: [] for i in ids}
        for gid, kind, ref, amount in self._conn.execute(select(m.group_id, m.kind, m.ref, m.amount_minor)
                                                         .where(m.group_id.in_(ids)).order_by(m.kind, m.ref)):
            members[gid].append((kind, ref, int(amount)))
        held = {r[0] for r in self._conn.execute(select(reconciliation_claims.c.group_id).distinct().where(
            reconciliation_claims.c.group_id.in_(ids)))}
        return [_group(dict(r), members[dict(r)["id"]], dict(r)["id"] in held) for r in rows]  # type: ignore[call-overload]

    # --- claims ----------------------------------------------------------------------------
    def claims(self, kind: str, refs: Iterable[str]) -> dict[str, str]:
        """ref → the group holding it, for the refs that are claimed."""
        wanted = sorted(set(refs))
        c = reconciliation_claims.c
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            found.update((r[0], r[1]) for r in self._conn.execute(
                select(c.ref, c.group_id).where(c.kind == kind, c.ref.in_(chunk))))
        return found

    def taken_apart(self, kind: str) -> set[str]:
        """Refs a person took out of a group (an unmatch) that no active group holds now."""
        m, g, c = reconciliation_group_members.c, reconciliation_groups.c, reconciliation_claims.c
        rows = self._conn.execute(select(m.ref).distinct().join_from(
            reconciliation_group_members, reconciliation_groups, g.id == m.group_id).where(
            m.kind == kind, g.status == "unmatched",
            m.ref.not_in(select(c.ref).where(c.kind == kind))))
        return {r[0] for r in rows}

    def rejected(self) -> set[tuple[tuple[int, ...], tuple[str, ...]]]:
        """The (lines, items) sets of suggestions a person rejected."""
        m, g = reconciliation_group_members.c, reconciliation_groups.c
        sets: dict[str, tuple[list[int], list[str]]] = {}
        for gid, kind, ref in self._conn.execute(select(m.group_id, m.kind, m.ref).join_from(
                reconciliation_group_members, reconciliation_groups, g.id == m.group_id).where(g.status == "rejected")):
            lines, items = sets.setdefault(gid, ([], []))
            (lines.append(int(ref)) if kind == "entry" else items.append(ref))
        return {(tuple(sorted(lines)), tuple(sorted(items))) for lines, items in sets.values()}

    # --- statement lines -------------------------------------------------------------------
    def unclaimed_entries(self, *, limit: int = MAX_ROWS) -> list[QueueEntry]:
        e, c = bank_statement_entries.c, reconciliation_claims.c
        claimed = select(c.ref).where(c.kind == "entry")
        return self._entries(and_(e.status == "BOOK", _entry_ref(e.id).not_in(claimed)), limit=limit)

    def entries(self, ids: Iterable[int]) -> list[QueueEntry]:
        wanted = sorted(set(ids))
        return self._entries(bank_statement_entries.c.id.in_(wanted), limit=max(1, len(wanted))) if wanted else []

    def _entries(self, condition: object, *, limit: int) -> list[QueueEntry]:
        e, s = bank_statement_entries.c, bank_statements.c
        rows = self._conn.execute(select(bank_statement_entries, s.statement_id.label("stmt_id")).join_from(
            bank_statement_entries, bank_statements, s.id == e.statement_pk).where(condition)  # type: ignore[arg-type]
            .order_by(e.id).limit(limit)).mappings()
        return [_entry(dict(r)) for r in rows]

    def account_companies(self, accounts: Iterable[str]) -> dict[str, set[str]]:
        """Bank account (blind index) → the companies whose orders pay from it."""
        wanted = sorted(set(accounts))
        po = payment_orders.c
        found: dict[str, set[str]] = {}
        if wanted:
            for bidx, company in self._conn.execute(select(po.payer_account_bidx, po.company_id).distinct()
                                                    .where(po.payer_account_bidx.in_(wanted))):
                found.setdefault(bidx, set()).add(company)
        return found


def _entry_ref(column: ColumnElement[int]) -> ColumnElement[str]:
    return cast(column, String(36))


def _members(group: MatchGroup) -> list[dict[str, object]]:
    return ([{"group_id": group.id, "kind": "entry", "ref": str(i), "amount_minor": a} for i, a in group.entries]
            + [{"group_id": group.id, "kind": "order", "ref": i, "amount_minor": a} for i, a in group.orders])


def _group(r: dict[str, object], members: list[tuple[str, str, int]], active: bool) -> MatchGroup:
    seq = r["ledger_seq"]
    return MatchGroup(
        id=str(r["id"]), status=GroupStatus(str(r["status"])), rule=str(r["rule"]), strategy=str(r["strategy"]),
        confidence=str(r["confidence"]), reasons=tuple(json.loads(str(r["reasons"]))), currency=str(r["currency"]),
        account=r["account"], fee_minor=int(r["fee_minor"]), ledger_seq=None if seq is None else int(seq),  # type: ignore[call-overload, arg-type]
        write_off_account=r["write_off_account"], supersedes=r["supersedes"], reason=str(r["reason"]),  # type: ignore[arg-type]
        company_id=r["company_id"], created_at=r["created_at"], created_by=str(r["created_by"]),  # type: ignore[arg-type]
        entries=tuple((int(ref), a) for k, ref, a in members if k == "entry"),
        orders=tuple((ref, a) for k, ref, a in members if k == "order"), active=active)


def _entry(r: dict[str, object]) -> QueueEntry:
    return QueueEntry(
        id=int(r["id"]), account=str(r["account"]), statement_id=str(r["stmt_id"]), amount=str(r["amount"]),  # type: ignore[call-overload]
        amount_minor=r["amount_minor"], currency=str(r["currency"]), status=str(r["status"]),  # type: ignore[arg-type]
        booking_date=r["booking_date"], value_date=r["value_date"],  # type: ignore[arg-type]
        end_to_end_ids=tuple(json.loads(str(r["end_to_end_ids"]))), bank_reference=r["bank_reference"],  # type: ignore[arg-type]
        counterparty_name=r["counterparty_name"], remittance=r["remittance"])  # type: ignore[arg-type]
