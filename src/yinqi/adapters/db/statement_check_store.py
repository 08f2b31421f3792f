"""Statement checks and their alerts (`statement_checks`, `statement_breaks`, revision 0011).

The statement before a new one is read from `bank_statements` (balances stored since 0001), with
its sequence number from `statement_checks` where it was checked, so statements imported before
0011 still serve as the previous link. Alerts are unique per (account, statement id, check): the
first time a break is seen is the alert; a re-import or a re-sent copy of the statement finds it
there and adds nothing.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import Connection, insert, select

from yinqi.adapters.db.tables.statement_checks import statement_breaks, statement_checks
from yinqi.adapters.db.tables.statements import bank_statements
from yinqi.application.ports import AccountVault
from yinqi.domain.money import Money
from yinqi.domain.reconciliation.continuity import Balance, Checks, StatementFacts, parse_sequence, to_money


class SqlStatementCheckStore:
    def __init__(self, conn: Connection, vault: AccountVault) -> None:
        self._conn = conn
        self._vault = vault

    def stored(self, statement_pk: int) -> tuple[str, str] | None:
        """(account blind index, statement id) of a stored statement version."""
        s = bank_statements.c
        row = self._conn.execute(select(s.account, s.statement_id).where(s.id == statement_pk)).first()
        return (str(row[0]), str(row[1])) if row else None

    def is_checked(self, statement_pk: int) -> bool:
        c = statement_checks.c
        return self._conn.execute(select(c.statement_pk).where(c.statement_pk == statement_pk)).first() is not None

    def previous(self, account: str, statement_id: str, closing_date: date | None) -> StatementFacts | None:
        """The newest other statement of the account closing no later than `closing_date` (any, by
        import order, when the new one has no closing date). Its last stored version counts."""
        s, c = bank_statements.c, statement_checks.c
        query = (select(s.statement_id, s.currency, s.closing_amount, s.closing_date, c.sequence_number)
                 .select_from(bank_statements.outerjoin(statement_checks, c.statement_pk == s.id))
                 .where(s.account == account, s.statement_id != statement_id))
        if closing_date is not None:
            query = query.where(s.closing_date <= closing_date).order_by(s.closing_date.desc(), s.id.desc())
        else:
            query = query.order_by(s.id.desc())
        row = self._conn.execute(query.limit(1)).first()
        if row is None:
            return None
        money = _money(row[2], row[1])
        return StatementFacts(statement_id=str(row[0]), sequence=parse_sequence(row[4]), opening=None,
                              closing=Balance(money, row[3]) if money is not None else None, booked_total=None)

    def is_newest(self, account: str, statement_pk: int, closing_date: date | None) -> bool:
        """No other statement of the account closes later (a statement imported late is not compared
        with today's ledger)."""
        if closing_date is None:
            return False
        s = bank_statements.c
        later = self._conn.execute(select(s.id).where(s.account == account, s.id != statement_pk,
                                                      s.closing_date > closing_date).limit(1)).first()
        return later is None

    def record(self, *, statement_pk: int, account: str, facts: StatementFacts, sequence_text: str | None,
               checks: Checks, ledger: Money | None, at: datetime) -> list[dict[str, object]]:
        """Store the check and the breaks not raised before for this statement; returns every break
        of the check, each with `new` (False: the alert exists from an earlier import)."""
        known_balance = facts.closing or facts.opening
        currency = known_balance.amount.currency if known_balance is not None else None
        self._conn.execute(insert(statement_checks).values(
            statement_pk=statement_pk, account=account, statement_id=facts.statement_id,
            sequence_number=(sequence_text or None) and sequence_text[:35], currency=currency,
            opening_minor=facts.opening.amount.minor if facts.opening else None,
            opening_date=facts.opening.on if facts.opening else None,
            closing_minor=facts.closing.amount.minor if facts.closing else None,
            closing_date=facts.closing.on if facts.closing else None,
            ledger_minor=ledger.minor if ledger is not None else None, breaks=len(checks.breaks),
            skipped=json.dumps(list(checks.skipped)), checked_at=at))
        b = statement_breaks.c
        known = {r[0] for r in self._conn.execute(select(b.code).where(
            b.account == account, b.statement_id == facts.statement_id))}
        out: list[dict[str, object]] = []
        for br in checks.breaks:
            row = {"statement_pk": statement_pk, "account": account, "statement_id": facts.statement_id,
                   "code": br.code.value, "currency": br.amount.currency if br.amount else currency,
                   "amount_minor": br.amount.minor if br.amount else None, "expected": br.expected,
                   "actual": br.actual, "created_at": at}
            if br.code.value not in known:
                self._conn.execute(insert(statement_breaks).values(**row))
            out.append({**_public(row), "new": br.code.value not in known})
        return out

    def check_of(self, statement_pk: int) -> dict[str, object] | None:
        """The check stored for a statement version, with the statement's alerts (all versions)."""
        row = self._conn.execute(select(statement_checks).where(
            statement_checks.c.statement_pk == statement_pk)).mappings().first()
        if row is None:
            return None
        b = statement_breaks.c
        breaks = self._conn.execute(select(statement_breaks).where(
            b.account == row["account"], b.statement_id == row["statement_id"]).order_by(b.id)).mappings()
        return {"statement_pk": statement_pk, "sequence_number": row["sequence_number"],
                "checked_at": row["checked_at"], "skipped": json.loads(row["skipped"]),
                "breaks": [_public(dict(r)) for r in breaks]}

    def breaks(self, *, account: str | None = None, limit: int = 500) -> list[dict[str, object]]:
        """Alerts, newest first, with the account masked; `account` (a number) narrows to one account."""
        b, s = statement_breaks.c, bank_statements.c
        query = (select(statement_breaks, s.account_masked)
                 .join_from(statement_breaks, bank_statements, s.id == b.statement_pk)
                 .order_by(b.id.desc()).limit(limit))
        if account is not None:
            query = query.where(b.account.in_([self._vault.blind_index(account), account]))
        return [{**_public(dict(r)), "id": int(r["id"]), "account_bidx": r["account"],
                 "account": r["account_masked"] or "****"} for r in self._conn.execute(query).mappings()]


def _money(text: str | None, currency: str | None) -> Money | None:
    if not text or not currency:
        return None
    try:
        return to_money(Decimal(text), currency)
    except InvalidOperation:
        return None


def _public(row: dict[str, object]) -> dict[str, object]:
    minor, currency = row.get("amount_minor"), row.get("currency")
    amount = Money(int(minor), str(currency)).format() if isinstance(minor, int) and currency else None
    return {"statement_pk": int(str(row["statement_pk"])), "statement_id": row["statement_id"], "code": row["code"],
            "amount": amount, "amount_minor": minor, "currency": currency, "expected": row["expected"],
            "actual": row["actual"], "created_at": row["created_at"]}
