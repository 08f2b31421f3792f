"""SQL repository of payment orders and their events.

Guarantees, each checked here and again by the schema:
- a company's serial is unique: the pre-check gives DUPLICATE_SERIAL with the existing order id,
  and so does the unique constraint when two creations race (the INSERT runs in a savepoint);
- an order changes only through `save` with the version it was read at (optimistic lock, plus
  SELECT ... FOR UPDATE on PostgreSQL when the use case asks for it);
- events are only appended, each linking to the stored chain head; the database refuses UPDATE
  and DELETE on them, and `events()` re-verifies the chain on every read;
- account numbers are never written in clear (R19): each is sealed by the vault for its column,
  with a blind index for lookups (`find_by_account`) and a masked copy for display.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from yinqi.adapters.db.bulk_insert import in_chunks, insert_rows
from yinqi.adapters.db.tables.orders import payment_order_events as ev
from yinqi.adapters.db.tables.orders import payment_orders as po
from yinqi.application.ports import AccountVault
from yinqi.domain.identifiers import Bic, CnapsCode, CnDomesticAccount, CountryCode, EndToEndId, Iban, OrderSerial
from yinqi.domain.money import Money
from yinqi.domain.orders.events import OrderEvent, first_broken_seq
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.orders.order import (
    DuplicateEndToEndId,
    DuplicateSerial,
    OrderNotFound,
    OrderSource,
    OrderVersionConflict,
    PaymentOrder,
    Urgency,
)
from yinqi.domain.parties import AccountRef, Address, Payee, Payer
from yinqi.domain.problems import DomainError


class OrderChainBroken(DomainError):
    code = "ORDER_CHAIN_BROKEN"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))  # one, not one per call


def _canonical(data: dict[str, Any]) -> str:
    return _ENCODER.encode(data)


class SqlOrderRepository:
    def __init__(self, conn: Connection, vault: AccountVault) -> None:
        self._conn = conn
        self._vault = vault

    # --- reads ------------------------------------------------------------------------------
    def get(self, order_id: str, *, for_update: bool = False) -> PaymentOrder:
        """Raises OrderNotFound (ORDER_NOT_FOUND)."""
        found = self._one(po.c.id == order_id, for_update=for_update)
        if found is None:
            raise OrderNotFound(f"payment order {order_id} does not exist", where="order_id",
                                rule="exists", value=order_id)
        return found

    def find_by_serial(self, company_id: str, serial: str) -> PaymentOrder | None:
        return self._one(and_(po.c.company_id == company_id, po.c.serial == serial))

    def find_by_end_to_end_id(self, end_to_end_id: str, *, for_update: bool = False) -> PaymentOrder | None:
        return self._one(po.c.end_to_end_id == end_to_end_id, for_update=for_update)

    def find_by_account(self, account: AccountRef, *, side: str = "payee", company_id: str | None = None,
                        limit: int = 200) -> builtins.list[PaymentOrder]:
        """Orders paying to (`side="payee"`) or from (`"payer"`) `account`, newest first, found by
        its blind index: the number itself is never compared in SQL, it is not stored in clear."""
        assert side in ("payee", "payer") and 1 <= limit <= 10_000
        column = po.c.payee_account_bidx if side == "payee" else po.c.payer_account_bidx
        query = (select(po).where(column == self._vault.blind_index(account.normalised))
                 .order_by(po.c.created_at.desc(), po.c.id.desc()).limit(limit))
        if company_id:
            query = query.where(po.c.company_id == company_id)
        return [_order_from_row(row, self._vault) for row in self._conn.execute(query)]

    def find_same_amount(self, *, company_id: str, currency: str, amount_minor: int, execution_from: Any,
                         execution_to: Any, limit: int = 200) -> builtins.list[PaymentOrder]:
        """The company's orders of this amount and currency with an execution date in the closed
        range (index ix_payment_orders_duplicate_lookup); the caller compares payee accounts."""
        query = select(po).where(po.c.company_id == company_id, po.c.currency == currency,
                                 po.c.amount_minor == amount_minor,
                                 po.c.requested_execution_date.between(execution_from, execution_to)
                                 ).order_by(po.c.created_at, po.c.id).limit(limit)
        return [_order_from_row(row, self._vault) for row in self._conn.execute(query)]

    def find_same_amounts(self, *, company_id: str, amounts: Sequence[tuple[str, int]], execution_from: Any,
                          execution_to: Any) -> builtins.list[PaymentOrder]:
        """`find_same_amount` for many (currency, amount_minor) pairs at once (bulk intake: one
        query per 500 amounts instead of one per order), oldest first; unbounded per pair, so the
        caller applies any per-order limit itself."""
        wanted = sorted(set(amounts))
        found: dict[str, PaymentOrder] = {}
        for i in range(0, len(wanted), MAX_IN):
            part = set(wanted[i:i + MAX_IN])
            query = select(po).where(po.c.company_id == company_id,
                                     po.c.amount_minor.in_(sorted({minor for _, minor in part})),
                                     po.c.currency.in_(sorted({currency for currency, _ in part})),
                                     po.c.requested_execution_date.between(execution_from, execution_to))
            rows = self._conn.execute(query)
            found.update((o.id, o) for o in (_order_from_row(r, self._vault) for r in rows)
                         if (o.amount.currency, o.amount.minor) in part)
        return sorted(found.values(), key=lambda o: (o.created_at, o.id))

    def serials_in_use(self, company_id: str, serials: Sequence[str]) -> dict[str, str]:
        """serial -> id of the company's order that uses it, for those of `serials` in use."""
        found: dict[str, str] = {}
        for condition in in_chunks(self._conn, po.c.serial, sorted(set(serials))):
            query = select(po.c.serial, po.c.id).where(po.c.company_id == company_id, condition)
            found.update({serial: order_id for serial, order_id in self._conn.execute(query)})
        return found

    def end_to_end_ids_in_use(self, end_to_end_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for condition in in_chunks(self._conn, po.c.end_to_end_id, sorted(set(end_to_end_ids))):
            found.update(self._conn.execute(select(po.c.end_to_end_id).where(condition)).scalars())
        return found

    def _one(self, condition: Any, *, for_update: bool = False) -> PaymentOrder | None:
        query = select(po).where(condition)
        if for_update and self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._conn.execute(query).first()
        return None if row is None else _order_from_row(row, self._vault)

    def list(self, *, company_id: str | None = None, state: str | None = None, limit: int = 50,
             after: tuple[datetime, str] | None = None) -> builtins.list[PaymentOrder]:
        """Newest first; `after` is the (created_at, id) of the last order of the previous page."""
        assert 1 <= limit <= 500, "pages are bounded"
        query = select(po).order_by(po.c.created_at.desc(), po.c.id.desc()).limit(limit)
        if company_id:
            query = query.where(po.c.company_id == company_id)
        if state:
            query = query.where(po.c.state == state)
        if after is not None:
            at, last_id = after
            query = query.where(or_(po.c.created_at < at, and_(po.c.created_at == at, po.c.id < last_id)))
        return [_order_from_row(row, self._vault) for row in self._conn.execute(query)]

    def count(self, *, company_id: str | None = None) -> int:
        query = select(func.count()).select_from(po)
        if company_id:
            query = query.where(po.c.company_id == company_id)
        return int(self._conn.execute(query).scalar_one())

    def events(self, order_id: str) -> builtins.list[OrderEvent]:
        """The order's events in order, verified. Raises OrderChainBroken (ORDER_CHAIN_BROKEN)."""
        rows = self._conn.execute(select(ev).where(ev.c.order_id == order_id).order_by(ev.c.seq)).all()
        events = [_event_from_row(row) for row in rows]
        broken = first_broken_seq(events)
        if broken is not None:
            raise OrderChainBroken(f"the event chain of payment order {order_id} breaks at seq {broken}",
                                   where=f"payment_order_events[{order_id}]", rule="hash_chain", value=broken)
        return events

    # --- writes -----------------------------------------------------------------------------
    def add(self, order: PaymentOrder, events: Sequence[OrderEvent]) -> None:
        """Insert a new order with its first events.

        Raises DuplicateSerial (DUPLICATE_SERIAL), DuplicateEndToEndId (DUPLICATE_END_TO_END_ID).
        """
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(po).values(**_order_values(order, self._vault)))
        except IntegrityError:
            raise self._duplicate(order) from None
        self._append(order, events, head=None)

    def add_many(self, created: Sequence[tuple[PaymentOrder, Sequence[OrderEvent]]]) -> None:
        """Insert new orders with their first events: one bulk insert (`bulk_insert.insert_rows`) for
        the orders, one for the events (bulk intake). All or nothing, in a savepoint.

        Raises DuplicateSerial (DUPLICATE_SERIAL), DuplicateEndToEndId (DUPLICATE_END_TO_END_ID) for
        the first order whose serial or end-to-end id another transaction took meanwhile, with
        `details['order_id']` naming that new order (the caller leaves it out and tries again).
        """
        if not created:
            return
        for order, events in created:
            assert events and events[-1].hash == order.event_hash and events[-1].prev_hash is not None
        try:
            with self._conn.begin_nested():
                insert_rows(self._conn, po, [_order_values(o, self._vault) for o, _ in created])
        except IntegrityError:
            raise self._first_taken([o for o, _ in created]) from None
        insert_rows(self._conn, ev, [_event_values(e) for _, events in created for e in events])

    def _first_taken(self, orders: Sequence[PaymentOrder]) -> DomainError:
        serials: dict[str, builtins.list[str]] = {}
        for o in orders:
            serials.setdefault(o.company_id, []).append(o.serial.value)
        taken = {(c, s) for c, found in serials.items() for s in self.serials_in_use(c, found)}
        e2e = self.end_to_end_ids_in_use([o.end_to_end_id.value for o in orders])
        for o in orders:
            if (o.company_id, o.serial.value) in taken or o.end_to_end_id.value in e2e:
                error = self._duplicate(o)
                error.details["order_id"] = o.id
                return error
        raise AssertionError("an INSERT failed on a constraint but no serial or end-to-end id is taken")

    def _duplicate(self, order: PaymentOrder) -> DomainError:
        existing = self.find_by_serial(order.company_id, order.serial.value)
        if existing is not None:
            return DuplicateSerial.of(existing)
        return DuplicateEndToEndId(f"end-to-end id {order.end_to_end_id} is already used", where="end_to_end_id",
                                   rule="unique", value=order.end_to_end_id.value)

    def save(self, order: PaymentOrder, events: Sequence[OrderEvent], *, expected_version: int) -> None:
        """Update the order from `expected_version` and append its new events.

        Raises OrderVersionConflict (ORDER_VERSION_CONFLICT): it changed since it was read.
        """
        if not events:
            return
        head = self._conn.execute(select(po.c.event_hash).where(
            po.c.id == order.id, po.c.version == expected_version)).scalar()
        values = {k: v for k, v in _order_values(order, self._vault).items() if k not in _IMMUTABLE}
        result = self._conn.execute(update(po).where(po.c.id == order.id, po.c.version == expected_version)
                                    .values(**values))
        if result.rowcount != 1:
            raise OrderVersionConflict(f"payment order {order.id} changed since version {expected_version}",
                                       where="version", rule="optimistic_lock", value=expected_version)
        self._append(order, events, head=head)

    def _append(self, order: PaymentOrder, events: Sequence[OrderEvent], *, head: str | None) -> None:
        assert events and events[-1].hash == order.event_hash and events[-1].seq == order.version
        prev = events[0].prev_hash
        assert head is None or prev == head, "new events link to the stored chain head"
        self._conn.execute(insert(ev), [_event_values(e) for e in events])


MAX_IN = 500  # values per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
_IMMUTABLE = frozenset({"id", "company_id", "serial", "created_at", "created_by", "end_to_end_id"})


def _account_values(prefix: str, account: AccountRef, vault: AccountVault) -> dict[str, Any]:
    return {f"{prefix}_account_scheme": account.scheme, f"{prefix}_bank_code": account.bank_code,
            f"{prefix}_account_enc": vault.seal(account.number, field=f"payment_orders.{prefix}_account_enc"),
            f"{prefix}_account_bidx": vault.blind_index(account.normalised),
            f"{prefix}_account_masked": account.masked}


def _order_values(o: PaymentOrder, vault: AccountVault) -> dict[str, Any]:
    address = o.payee.address
    return {
        "id": o.id, "company_id": o.company_id, "serial": o.serial.value, "state": o.state.value,
        "version": o.version, "event_hash": o.event_hash,
        "payer_name": o.payer.name, **_account_values("payer", o.payer.account, vault),
        "payer_bic": o.payer.bic.value if o.payer.bic else None, "payer_currency": o.payer.currency,
        "payee_name": o.payee.name, **_account_values("payee", o.payee.account, vault),
        "payee_bic": o.payee.bic.value if o.payee.bic else None, "payee_country": o.payee.country.value,
        "payee_address": _canonical({k: getattr(address, k) for k in _ADDRESS_PARTS}) if address else None,
        "amount_minor": o.amount.minor, "currency": o.amount.currency,
        "requested_execution_date": o.requested_execution_date, "urgency": o.urgency.value,
        "purpose_code": o.purpose_code, "remittance_info": o.remittance_info,
        "end_to_end_id": o.end_to_end_id.value, "source": o.source.value, "created_by": o.created_by,
        "created_at": o.created_at, "updated_at": o.updated_at, "reservation_seq": o.reservation_seq,
        "settlement_seq": o.settlement_seq, "bank_message_id": o.bank_message_id,
        "bank_status": o.bank_status, "bank_reason": o.bank_reason,
    }


_ADDRESS_PARTS = ("street", "building_number", "postcode", "town")


def _account_from(row: Any, prefix: str, vault: AccountVault) -> AccountRef:
    sealed = row[f"{prefix}_account_enc"]  # None only on rows older than revision 0007
    number = vault.open(sealed, field=f"payment_orders.{prefix}_account_enc") if sealed else row[
        f"{prefix}_account_number"]
    if row[f"{prefix}_account_scheme"] == "IBAN":
        return AccountRef(iban=Iban(number))
    return AccountRef(domestic=CnDomesticAccount(number, CnapsCode(row[f"{prefix}_bank_code"])))


def _order_from_row(row: Row[Any], vault: AccountVault) -> PaymentOrder:
    r = row._mapping
    address = json.loads(r["payee_address"]) if r["payee_address"] else None
    return PaymentOrder(
        id=r["id"], company_id=r["company_id"], serial=OrderSerial(r["serial"]),
        payer=Payer(name=r["payer_name"], account=_account_from(r, "payer", vault), currency=r["payer_currency"],
                    bic=Bic(r["payer_bic"]) if r["payer_bic"] else None),
        payee=Payee(name=r["payee_name"], account=_account_from(r, "payee", vault),
                    country=CountryCode(r["payee_country"]),
                    bic=Bic(r["payee_bic"]) if r["payee_bic"] else None,
                    address=Address(**address) if address else None),
        amount=Money(int(r["amount_minor"]), r["currency"]),
        requested_execution_date=r["requested_execution_date"], urgency=Urgency(r["urgency"]),
        purpose_code=r["purpose_code"], remittance_info=r["remittance_info"],
        end_to_end_id=EndToEndId(r["end_to_end_id"]), source=OrderSource(r["source"]),
        created_by=r["created_by"], created_at=_aware(r["created_at"]), updated_at=_aware(r["updated_at"]),
        state=OrderState(r["state"]), version=r["version"], event_hash=r["event_hash"],
        reservation_seq=r["reservation_seq"], settlement_seq=r["settlement_seq"],
        bank_message_id=r["bank_message_id"], bank_status=r["bank_status"], bank_reason=r["bank_reason"])


def _event_values(e: OrderEvent) -> dict[str, Any]:
    return {"order_id": e.order_id, "seq": e.seq, "kind": e.kind,
            "from_state": None if e.from_state is None else e.from_state.value, "to_state": e.to_state.value,
            "actor": e.actor, "at": e.at, "reason": e.reason, "data": _canonical(e.data),
            "prev_hash": e.prev_hash, "hash": e.hash}


def _event_from_row(row: Row[Any]) -> OrderEvent:
    r = row._mapping
    return OrderEvent(order_id=r["order_id"], seq=r["seq"],
                      from_state=OrderState(r["from_state"]) if r["from_state"] else None,
                      to_state=OrderState(r["to_state"]), actor=r["actor"], at=_aware(r["at"]),
                      reason=r["reason"], data=json.loads(r["data"]), prev_hash=r["prev_hash"], hash=r["hash"])
