"""Store imported statements idempotently and record which entry settled which order.

The statement's account is stored as its blind index (dedupe and lookups compare that), sealed by
the vault, and masked (R19): `statement()` and `list_statements()` give `account` masked, for
display, and `account_number` opened, for the code that needs the number itself.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, Connection, Select, String, cast, func, insert, select

from yinqi.adapters.crypto.field_encryption import mask
from yinqi.adapters.db.tables.reconciliation import reconciliation_claims, reconciliation_groups
from yinqi.adapters.db.tables.statements import bank_statement_entries, bank_statements
from yinqi.adapters.iso20022.model import Statement, StatementEntry
from yinqi.application.ports import AccountVault
from yinqi.domain.currency import Currency, UnknownCurrency


@dataclass(frozen=True, slots=True)
class StoredEntry:
    id: int
    amount: Decimal
    amount_minor: int | None
    currency: str
    status: str
    value_date: date | None
    end_to_end_ids: tuple[str, ...]
    bank_reference: str | None
    remittance: str | None
    counterparty_name: str | None = None
    booking_date: date | None = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    statement_pk: int
    duplicate: bool  # these bytes, or a copy adding no entry and no balance change, came before: nothing stored
    entries: tuple[StoredEntry, ...]  # the entries this import added (already-known lines skipped)
    skipped: int = 0


def account_key(statement: Statement) -> str:
    return statement.account.iban or statement.account.other_id or "unknown"


def exact_minor(amount: Decimal, currency: str) -> int | None:
    """Minor units when the amount fits the currency's exponent exactly, else None (flagged)."""
    try:
        exponent = Currency.of(currency).exponent
    except UnknownCurrency:
        return None
    scaled = amount.scaleb(exponent)
    return int(scaled) if scaled == scaled.to_integral_value() else None


ACCOUNT = "bank_statements.account_enc"


class SqlStatementStore:
    def __init__(self, conn: Connection, vault: AccountVault) -> None:
        self._conn = conn
        self._vault = vault

    def import_statement(self, statement: Statement, *, fmt: str, source_sha256: str,
                         at: datetime) -> ImportResult:
        """Store one statement version and the entries not seen before on this account."""
        number = account_key(statement)
        account = self._vault.blind_index(number)
        existing = self._conn.execute(select(bank_statements.c.id).where(
            bank_statements.c.account == account, bank_statements.c.statement_id == statement.id,
            bank_statements.c.source_sha256 == source_sha256)).scalar()
        if existing is not None:
            return ImportResult(int(existing), True, (), len(statement.entries))
        keys = dedupe_keys(statement)
        known = self._known_keys(account, keys)
        fresh = [(n, e, k) for n, (e, k) in enumerate(zip(statement.entries, keys, strict=True), start=1)
                 if k not in known]
        closing = statement.closing_balance
        closing_text = _text(closing.amount) if closing else None
        latest = self._latest_copy(account, statement.id)
        if not fresh and latest is not None and latest[1] == closing_text:
            return ImportResult(latest[0], True, (), len(keys))  # a re-sent copy that says nothing new
        pk = self._conn.execute(insert(bank_statements).values(
            account=account, account_enc=self._vault.seal(number, field=ACCOUNT), account_masked=mask(number),
            statement_id=statement.id, format=fmt,
            currency=statement.account.currency or (closing.currency if closing else None),
            opening_amount=_text(statement.opening_balance.amount) if statement.opening_balance else None,
            closing_amount=closing_text, closing_date=closing.date if closing else None,
            source_sha256=source_sha256, warnings=json.dumps(list(statement.warnings)),
            imported_at=at)).inserted_primary_key[0]
        if fresh:
            self._conn.execute(insert(bank_statement_entries), [_entry_row(int(pk), account, n, e, k)
                                                                for n, e, k in fresh])
        return ImportResult(int(pk), False, self.entries(int(pk)), len(keys) - len(fresh))

    def _latest_copy(self, account: str, statement_id: str) -> tuple[int, str | None] | None:
        row = self._conn.execute(select(bank_statements.c.id, bank_statements.c.closing_amount).where(
            bank_statements.c.account == account, bank_statements.c.statement_id == statement_id)
            .order_by(bank_statements.c.id.desc()).limit(1)).first()
        return (int(row[0]), row[1]) if row else None

    def _known_keys(self, account: str, keys: list[str]) -> set[str]:
        if not keys:
            return set()
        rows = self._conn.execute(select(bank_statement_entries.c.dedupe_key).where(
            bank_statement_entries.c.account == account, bank_statement_entries.c.dedupe_key.in_(keys)))
        return {r[0] for r in rows}

    def entries(self, statement_pk: int) -> tuple[StoredEntry, ...]:
        rows = self._conn.execute(select(bank_statement_entries).where(
            bank_statement_entries.c.statement_pk == statement_pk)
            .order_by(bank_statement_entries.c.line_no)).mappings()
        return tuple(_stored(r) for r in rows)

    def unmatched_entries(self, *, limit: int = 10_000) -> tuple[StoredEntry, ...]:
        """Entries no active match group claims (revision 0009: groups and claims are the truth)."""
        rows = self._conn.execute(select(bank_statement_entries)
                                  .where(_entry_ref().not_in(_claimed("entry")))
                                  .order_by(bank_statement_entries.c.id).limit(limit)).mappings()
        return tuple(_stored(r) for r in rows)

    def is_matched(self, entry_id: int) -> bool:
        return self._claim("entry", str(entry_id)) is not None

    def order_is_matched(self, order_id: str) -> bool:
        return self._claim("order", order_id) is not None

    def _claim(self, kind: str, ref: str) -> str | None:
        c = reconciliation_claims.c
        return self._conn.execute(select(c.group_id).where(c.kind == kind, c.ref == ref)).scalar()

    def record_match(self, *, entry_id: int, order_id: str, rule: str, confidence: str,
                     at: datetime, actor: str) -> None:
        """One automatic 1:1 match group (the shape of the first release's matches)."""
        import uuid

        from yinqi.adapters.db.recon_store import SqlReconStore
        from yinqi.domain.reconciliation.groups import GroupStatus, MatchGroup

        entry = self._conn.execute(select(bank_statement_entries.c.amount_minor, bank_statement_entries.c.currency,
                                          bank_statement_entries.c.account)
                                   .where(bank_statement_entries.c.id == entry_id)).one()
        amount = int(entry[0] or 0)
        SqlReconStore(self._conn).add_group(MatchGroup(
            id=str(uuid.uuid4()), status=GroupStatus.AUTO, rule=rule, strategy="1:1", confidence=confidence, reasons=(),
            currency=entry[1], account=entry[2], fee_minor=0, ledger_seq=None, write_off_account=None,
            supersedes=None, reason="", company_id=None, created_at=at, created_by=actor,
            entries=((entry_id, amount),), orders=((order_id, amount),)))

    def match_for_order(self, order_id: str) -> dict[str, object] | None:
        """The statement line (the first, for a group of several) of the group that holds the order."""
        c, g, e = reconciliation_claims.c, reconciliation_groups.c, bank_statement_entries.c
        line = reconciliation_claims.alias("line")
        row = self._conn.execute(
            select(g.rule, g.confidence, g.status, g.id.label("group_id"), g.created_at.label("matched_at"),
                   g.created_by.label("matched_by"), e.id.label("entry_id"), e.bank_reference,
                   bank_statements.c.statement_id)
            .join_from(reconciliation_claims, reconciliation_groups, g.id == c.group_id)
            .join(line, (line.c.group_id == g.id) & (line.c.kind == "entry"))
            .join(bank_statement_entries, _entry_ref() == line.c.ref)
            .join(bank_statements, bank_statements.c.id == e.statement_pk)
            .where(c.kind == "order", c.ref == order_id).order_by(e.id).limit(1)).mappings().first()
        return {**dict(row), "order_id": order_id} if row else None

    def entries_with_matches(self, statement_pk: int) -> list[dict[str, object]]:
        """The statement's entries as stored, each with the order its match group settled (the
        first by id when the group holds several) and the group's rule and confidence."""
        e, g = bank_statement_entries, reconciliation_groups
        line = reconciliation_claims.alias("line")
        item = reconciliation_claims.alias("item")
        first_order = (select(func.min(item.c.ref)).where(item.c.group_id == line.c.group_id, item.c.kind == "order")
                       .scalar_subquery())
        rows = self._conn.execute(
            select(e, first_order.label("order_id"), g.c.rule, g.c.confidence)
            .select_from(e.outerjoin(line, (line.c.kind == "entry") & (line.c.ref == _entry_ref()))
                         .outerjoin(g, g.c.id == line.c.group_id))
            .where(e.c.statement_pk == statement_pk).order_by(e.c.line_no)).mappings()
        return [{**dict(r), "end_to_end_ids": json.loads(r["end_to_end_ids"])} for r in rows]

    def statement(self, statement_pk: int) -> dict[str, object] | None:
        row = self._conn.execute(select(bank_statements).where(bank_statements.c.id == statement_pk)).mappings().first()
        return self._statement_dict(row) if row else None

    def list_statements(self, *, limit: int = 100, account: str | None = None) -> list[dict[str, object]]:
        """Newest first; `account` (a number) narrows to that account's statements by blind index."""
        query = select(bank_statements).order_by(bank_statements.c.id.desc()).limit(limit)
        if account is not None:
            query = query.where(bank_statements.c.account.in_([self._vault.blind_index(account), account]))
        return [self._statement_dict(r) for r in self._conn.execute(query).mappings()]

    def _statement_dict(self, row: object) -> dict[str, object]:
        s: dict[str, object] = dict(row)  # type: ignore[call-overload]
        sealed = s.pop("account_enc")
        number = self._vault.open(str(sealed), field=ACCOUNT) if sealed else str(s["account"])  # pre-0007: clear
        s["account"] = s.pop("account_masked") or mask(number)
        s["account_number"] = number
        return s


def _entry_ref() -> ColumnElement[str]:
    """An entry's id as claims and group members name it (text)."""
    return cast(bank_statement_entries.c.id, String(36))


def _claimed(kind: str) -> Select[tuple[str]]:
    return select(reconciliation_claims.c.ref).where(reconciliation_claims.c.kind == kind)


def _text(amount: Decimal) -> str:
    return f"{amount:f}"


def dedupe_keys(statement: Statement) -> list[str]:
    """One key per entry that is the same every time the bank sends the entry again.

    With a bank reference: (reference, amount, value date) plus the occurrence number of that
    triple in this statement, because banks do repeat a reference inside one statement (seen in
    real MT940 files). Without one: the line position in this statement id.
    """
    seen: dict[str, int] = {}
    keys = []
    for line_no, e in enumerate(statement.entries, start=1):
        if not e.bank_reference:
            keys.append(f"line:{statement.id}#{line_no}"[:120])
            continue
        base = f"ref:{e.bank_reference}|{_text(e.amount)}|{e.value_date}"
        seen[base] = seen.get(base, 0) + 1
        keys.append(hashlib.sha256(f"{base}#{seen[base]}".encode()).hexdigest())
    return keys


def _entry_row(statement_pk: int, account: str, line_no: int, e: StatementEntry,
               dedupe_key: str) -> dict[str, object]:
    return {"statement_pk": statement_pk, "line_no": line_no, "account": account,
            "dedupe_key": dedupe_key, "amount": _text(e.amount),
            "amount_minor": exact_minor(e.amount, e.currency), "currency": e.currency,
            "status": e.status, "booking_date": e.booking_date, "value_date": e.value_date,
            "bank_reference": e.bank_reference, "end_to_end_ids": json.dumps(list(e.end_to_end_ids)),
            "counterparty_name": e.counterparty_name, "remittance": e.remittance}


def _stored(r: object) -> StoredEntry:
    m = dict(r)  # type: ignore[call-overload]
    return StoredEntry(id=int(m["id"]), amount=Decimal(m["amount"]), amount_minor=m["amount_minor"],
                       currency=m["currency"], status=m["status"], value_date=m["value_date"],
                       end_to_end_ids=tuple(json.loads(m["end_to_end_ids"])),
                       bank_reference=m["bank_reference"], remittance=m["remittance"],
                       counterparty_name=m["counterparty_name"], booking_date=m["booking_date"])
