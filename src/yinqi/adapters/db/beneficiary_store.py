"""SQL store of beneficiaries and their append-only change history.

Guarantees, each checked here and again by the schema:
- a beneficiary changes only through `save` with the version it was read at (optimistic lock, plus
  SELECT ... FOR UPDATE on PostgreSQL when the use case asks for it);
- a change gets at most one decision: the decision row has the fixed key `(change_id, 2)`, so a
  second approver racing the first fails on the primary key (BENEFICIARY_CHANGE_DECIDED);
- history rows are only inserted; the database refuses UPDATE and DELETE on them (a key
  rotation's re-seal of the sealed columns is the one UPDATE let through);
- account numbers are sealed by the vault (R19): a blind index finds a beneficiary by account, a
  masked copy is kept for display, and rows older than revision 0010 still read their clear value.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from yinqi.adapters.db.tables.beneficiaries import beneficiaries as bt
from yinqi.adapters.db.tables.beneficiaries import beneficiary_changes as ct
from yinqi.application.ports import AccountVault
from yinqi.domain.beneficiaries import (
    Beneficiary,
    BeneficiaryChange,
    BeneficiaryChangeDecided,
    BeneficiaryChangeNotFound,
    BeneficiaryNotFound,
    BeneficiaryStatus,
    ChangeKind,
    ChangeStatus,
    normalise_name,
)
from yinqi.domain.identifiers import Bic, CnapsCode, CnDomesticAccount, CountryCode, Iban
from yinqi.domain.parties import AccountRef, Address, Payee
from yinqi.domain.problems import Conflict

_ADDRESS_PARTS = ("street", "building_number", "postcode", "town")
_DECISION = {ChangeStatus.APPROVED: "approve", ChangeStatus.REJECTED: "reject"}


class BeneficiaryVersionConflict(Conflict):
    code = "BENEFICIARY_VERSION_CONFLICT"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _maybe_aware(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value)


def _address_json(address: Address | None) -> str | None:
    if address is None:
        return None
    return json.dumps({k: getattr(address, k) for k in _ADDRESS_PARTS}, sort_keys=True, separators=(",", ":"))


def _address(raw: str | None) -> Address | None:
    return Address(**json.loads(raw)) if raw else None


def _account_values(table: str, prefix: str, account: AccountRef | None, vault: AccountVault) -> dict[str, Any]:
    if account is None:
        return {f"{prefix}account_scheme": None, f"{prefix}account_enc": None, f"{prefix}account_masked": None,
                f"{prefix}bank_code": None}
    return {f"{prefix}account_scheme": account.scheme, f"{prefix}bank_code": account.bank_code,
            f"{prefix}account_enc": vault.seal(account.number, field=f"{table}.{prefix}account_enc"),
            f"{prefix}account_masked": account.masked}


def _account(r: Any, table: str, prefix: str, vault: AccountVault) -> AccountRef | None:
    sealed = r[f"{prefix}account_enc"]
    number = vault.open(sealed, field=f"{table}.{prefix}account_enc") if sealed else r[f"{prefix}account_number"]
    if number is None:
        return None
    if r[f"{prefix}account_scheme"] == "IBAN":
        return AccountRef(iban=Iban(number))
    return AccountRef(domestic=CnDomesticAccount(number, CnapsCode(r[f"{prefix}bank_code"])))


class SqlBeneficiaryStore:
    def __init__(self, conn: Connection, vault: AccountVault) -> None:
        self._conn = conn
        self._vault = vault

    # --- reads ------------------------------------------------------------------------------
    def get(self, beneficiary_id: str, *, for_update: bool = False) -> Beneficiary:
        """Raises BeneficiaryNotFound (BENEFICIARY_NOT_FOUND)."""
        query = select(bt).where(bt.c.id == beneficiary_id)
        if for_update and self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._conn.execute(query).first()
        if row is None:
            raise BeneficiaryNotFound(f"beneficiary {beneficiary_id} does not exist", where="beneficiary_id",
                                      rule="exists", value=beneficiary_id)
        return _beneficiary(row, self._vault)

    def list(self, *, company_ids: Iterable[str] | None = None, limit: int = 500) -> builtins.list[Beneficiary]:
        """By company and name; `company_ids` None: every company."""
        assert 1 <= limit <= 5000, "pages are bounded"
        query = select(bt).order_by(bt.c.company_id, bt.c.name_key, bt.c.id).limit(limit)
        if company_ids is not None:
            query = query.where(bt.c.company_id.in_(builtins.list(company_ids)))
        return [_beneficiary(row, self._vault) for row in self._conn.execute(query)]

    def find_by_name(self, company_id: str, name: str) -> builtins.list[Beneficiary]:
        key = normalise_name(name)
        rows = self._conn.execute(select(bt).where(bt.c.company_id == company_id, bt.c.name_key == key))
        return [_beneficiary(row, self._vault) for row in rows]

    def find_for_payee(self, company_id: str, *, name: str, account: AccountRef) -> builtins.list[Beneficiary]:
        """Beneficiaries of the company with the payee's normalised name or account (indexed; the
        account by blind index, or in clear on rows older than revision 0010)."""
        key = normalise_name(name)
        rows = self._conn.execute(select(bt).where(
            bt.c.company_id == company_id,
            or_(bt.c.name_key == key, bt.c.account_bidx == self._vault.blind_index(account.normalised),
                bt.c.account_number == account.number)))
        found = (_beneficiary(row, self._vault) for row in rows)
        return [b for b in found if b.matches(name=name, account=account)]

    def find_for_payees(self, company_id: str, payees: Sequence[tuple[str, AccountRef]]) -> builtins.list[Beneficiary]:
        """`find_for_payee` for many (name, account) payees in one query per 300 payees (bulk
        intake): every beneficiary of the company that matches one of them; the caller matches
        each payee with `Beneficiary.matches`."""
        found: dict[str, Beneficiary] = {}
        unique = sorted({(normalise_name(name), account.normalised, account.number) for name, account in payees})
        for i in range(0, len(unique), 300):
            part = unique[i:i + 300]
            rows = self._conn.execute(select(bt).where(bt.c.company_id == company_id, or_(
                bt.c.name_key.in_({key for key, _, _ in part}),
                bt.c.account_bidx.in_({self._vault.blind_index(normalised) for _, normalised, _ in part}),
                bt.c.account_number.in_({number for _, _, number in part}))))
            found.update((b.id, b) for b in (_beneficiary(row, self._vault) for row in rows))
        return builtins.list(found.values())

    def get_change(self, change_id: str) -> BeneficiaryChange:
        """Raises BeneficiaryChangeNotFound (BENEFICIARY_CHANGE_NOT_FOUND)."""
        rows = self._conn.execute(select(ct).where(ct.c.change_id == change_id).order_by(ct.c.seq)).all()
        if not rows:
            raise BeneficiaryChangeNotFound(f"beneficiary change {change_id} does not exist", where="change_id",
                                            rule="exists", value=change_id)
        return _change(rows[0], rows[1] if len(rows) > 1 else None, self._vault)

    def changes(self, beneficiary_id: str) -> builtins.list[BeneficiaryChange]:
        """Every proposal for the beneficiary with its decision, oldest first."""
        rows = self._conn.execute(select(ct).where(ct.c.beneficiary_id == beneficiary_id)
                                  .order_by(ct.c.change_id, ct.c.seq)).all()
        return sorted(_pair(rows, self._vault), key=lambda c: (c.proposed_at, c.kind is not ChangeKind.CREATE, c.id))

    def pending_changes(self, *, company_ids: Iterable[str] | None = None) -> builtins.list[BeneficiaryChange]:
        query = (select(ct).join(bt, and_(bt.c.pending_change_id == ct.c.change_id))
                 .where(ct.c.seq == 1).order_by(ct.c.at, ct.c.change_id))
        if company_ids is not None:
            query = query.where(bt.c.company_id.in_(builtins.list(company_ids)))
        return [_change(row, None, self._vault) for row in self._conn.execute(query)]

    # --- writes -----------------------------------------------------------------------------
    def add(self, beneficiary: Beneficiary, change: BeneficiaryChange) -> None:
        self._conn.execute(insert(bt).values(**_beneficiary_values(beneficiary, self._vault)))
        self._conn.execute(insert(ct).values(**_proposal_values(change, self._vault)))

    def propose(self, beneficiary: Beneficiary, change: BeneficiaryChange, *, expected_version: int) -> None:
        self.save(beneficiary, expected_version=expected_version)
        self._conn.execute(insert(ct).values(**_proposal_values(change, self._vault)))

    def decide(self, beneficiary: Beneficiary, change: BeneficiaryChange, *, expected_version: int) -> None:
        """Record the decision on `change` and the beneficiary it produced.

        Raises BeneficiaryChangeDecided (BENEFICIARY_CHANGE_DECIDED): someone decided first.
        """
        assert change.status is not ChangeStatus.PENDING and change.decided_by and change.decided_at
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(ct).values(
                    change_id=change.id, seq=2, beneficiary_id=change.beneficiary_id, company_id=change.company_id,
                    kind=change.kind.value, action=_DECISION[change.status], actor=change.decided_by,
                    at=change.decided_at, reason=change.decision_reason,
                    cooling_off_until=change.cooling_off_until))
        except IntegrityError:
            raise BeneficiaryChangeDecided(f"change {change.id} was decided by someone else first",
                                           where="change_id", rule="decided_once", value=change.id) from None
        self.save(beneficiary, expected_version=expected_version)

    def save(self, beneficiary: Beneficiary, *, expected_version: int) -> None:
        """Raises BeneficiaryVersionConflict (BENEFICIARY_VERSION_CONFLICT): changed since it was read."""
        values = {k: v for k, v in _beneficiary_values(beneficiary, self._vault).items()
                  if k not in ("id", "company_id", "created_by", "created_at")}
        values["version"] = expected_version + 1
        result = self._conn.execute(update(bt).where(bt.c.id == beneficiary.id, bt.c.version == expected_version)
                                    .values(**values))
        if result.rowcount != 1:
            raise BeneficiaryVersionConflict(f"beneficiary {beneficiary.id} changed since version {expected_version}",
                                             where="version", rule="optimistic_lock", value=expected_version)


def _beneficiary_values(b: Beneficiary, vault: AccountVault) -> dict[str, Any]:
    return {"id": b.id, "company_id": b.company_id, "name": b.name, "name_key": b.name_key,
            **_account_values("beneficiaries", "", b.account, vault), "account_number": None,
            "account_bidx": vault.blind_index(b.account.normalised), "bic": b.bic.value if b.bic else None,
            "country": b.country.value,
            "address": _address_json(b.address), "status": b.status.value, "pending_change_id": b.pending_change_id,
            "cooling_off_until": b.cooling_off_until, "created_by": b.created_by, "created_at": b.created_at,
            "updated_at": b.updated_at, "version": b.version}


def _proposal_values(c: BeneficiaryChange, vault: AccountVault) -> dict[str, Any]:
    new = c.proposed
    return {"change_id": c.id, "seq": 1, "beneficiary_id": c.beneficiary_id, "company_id": c.company_id,
            "kind": c.kind.value, "action": "propose", "actor": c.proposed_by, "at": c.proposed_at,
            "reason": c.reason, "name": new.name, **_account_values("beneficiary_changes", "new_", new.account, vault),
            "bic": new.bic.value if new.bic else None, "country": new.country.value,
            "address": _address_json(new.address),
            **_account_values("beneficiary_changes", "old_", c.old_account, vault)}


def _beneficiary(row: Row[Any], vault: AccountVault) -> Beneficiary:
    r = row._mapping
    account = _account(r, "beneficiaries", "", vault)
    assert account is not None
    return Beneficiary(
        id=r["id"], company_id=r["company_id"], name=r["name"], account=account,
        country=CountryCode(r["country"]), bic=Bic(r["bic"]) if r["bic"] else None, address=_address(r["address"]),
        status=BeneficiaryStatus(r["status"]), created_by=r["created_by"], created_at=_aware(r["created_at"]),
        updated_at=_aware(r["updated_at"]), version=r["version"], pending_change_id=r["pending_change_id"],
        cooling_off_until=_maybe_aware(r["cooling_off_until"]))


def _change(proposal: Row[Any], decision: Row[Any] | None, vault: AccountVault) -> BeneficiaryChange:
    p = proposal._mapping
    account = _account(p, "beneficiary_changes", "new_", vault)
    assert account is not None
    payee = Payee(name=p["name"], account=account, country=CountryCode(p["country"]),
                  bic=Bic(p["bic"]) if p["bic"] else None, address=_address(p["address"]))
    change = BeneficiaryChange(id=p["change_id"], beneficiary_id=p["beneficiary_id"], company_id=p["company_id"],
                               kind=ChangeKind(p["kind"]), proposed=payee,
                               old_account=_account(p, "beneficiary_changes", "old_", vault),
                               proposed_by=p["actor"], proposed_at=_aware(p["at"]), reason=p["reason"])
    if decision is None:
        return change
    d = decision._mapping
    status = ChangeStatus.APPROVED if d["action"] == "approve" else ChangeStatus.REJECTED
    return replace(change, status=status, decided_by=d["actor"], decided_at=_aware(d["at"]),
                   decision_reason=d["reason"], cooling_off_until=_maybe_aware(d["cooling_off_until"]))


def _pair(rows: Sequence[Row[Any]], vault: AccountVault) -> builtins.list[BeneficiaryChange]:
    by_change: dict[str, builtins.list[Row[Any]]] = {}
    for row in rows:
        by_change.setdefault(row._mapping["change_id"], []).append(row)
    return [_change(pair[0], pair[1] if len(pair) > 1 else None, vault) for pair in by_change.values()]
