"""In-memory fakes of the ports the order use cases need (STYLE rule 10: fakes that implement the
real port, no mock.patch). `FakeLedger` keeps the real ledger's promises that the use cases rely on:
balanced postings, no overdraft where forbidden, idempotent keys, reverse once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from yinqi.application.orders import OrderRepository
from yinqi.application.ports import Clock, Ledger
from yinqi.domain.ledger import AccountUnknown, AlreadyReversed, IdempotencyConflict, InsufficientFunds
from yinqi.domain.money import Money
from yinqi.domain.orders.events import OrderEvent, first_broken_seq
from yinqi.domain.orders.order import DuplicateSerial, OrderNotFound, OrderVersionConflict, PaymentOrder


class FakeClock(Clock):
    def __init__(self, at: datetime = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass
class _Account:
    currency: str
    kind: str
    allow_overdraft: bool
    balance: int = 0


@dataclass
class _Entry:
    key: str
    postings: list[tuple[str, Money]]
    reversed_by: int | None = None


class FakeLedger(Ledger):
    def __init__(self) -> None:
        self.accounts: dict[str, _Account] = {}
        self.entries: dict[int, _Entry] = {}
        self.by_key: dict[str, int] = {}

    def ensure_account(self, *, code: str, currency: str, kind: str, allow_overdraft: bool = True,
                       name: str = "") -> None:
        self.accounts.setdefault(code, _Account(currency, kind, allow_overdraft))

    def post(self, *, idempotency_key: str, postings: Sequence[tuple[str, Money]], memo: str,
             actor: str, at: datetime, metadata: dict[str, Any] | None = None) -> int:
        if idempotency_key in self.by_key:
            seq = self.by_key[idempotency_key]
            if self.entries[seq].postings != list(postings):
                raise IdempotencyConflict("same key, other postings")
            return seq
        assert sum(m.minor for _, m in postings) == 0, "balanced"
        for code, amount in postings:
            account = self._account(code)
            sign = 1 if account.kind in ("asset", "expense") else -1
            if not account.allow_overdraft and sign * (account.balance + amount.minor) < 0:
                raise InsufficientFunds(f"account {code} would go below zero", where=code, rule="no_overdraft")
        for code, amount in postings:
            self.accounts[code].balance += amount.minor
        seq = len(self.entries) + 1
        self.entries[seq] = _Entry(idempotency_key, list(postings))
        self.by_key[idempotency_key] = seq
        return seq

    def reverse(self, *, seq: int, idempotency_key: str, actor: str, at: datetime, reason: str) -> int:
        entry = self.entries[seq]
        if entry.reversed_by is not None:
            raise AlreadyReversed(f"entry {seq} was already reversed")
        new = self.post(idempotency_key=idempotency_key, postings=[(c, -m) for c, m in entry.postings],
                        memo=reason, actor=actor, at=at)
        entry.reversed_by = new
        return new

    def balance(self, code: str) -> Money:
        account = self._account(code)
        return Money(account.balance, account.currency)

    def _account(self, code: str) -> _Account:
        if code not in self.accounts:
            raise AccountUnknown(f"unknown account {code}")
        return self.accounts[code]

    def fund(self, code: str, amount: Money) -> None:
        """Put money on an available account (the test's bank top-up)."""
        self.ensure_account(code=code, currency=amount.currency, kind="asset", allow_overdraft=False)
        self.ensure_account(code=f"equity:{amount.currency}", currency=amount.currency, kind="equity")
        self.post(idempotency_key=f"fund:{len(self.entries)}", postings=[(code, amount),
                  (f"equity:{amount.currency}", -amount)], memo="top-up", actor="test", at=datetime.now(UTC))


class FakeOrderRepository(OrderRepository):
    def __init__(self) -> None:
        self.orders: dict[str, PaymentOrder] = {}
        self.history: dict[str, list[OrderEvent]] = {}

    def get(self, order_id: str, *, for_update: bool = False) -> PaymentOrder:
        if order_id not in self.orders:
            raise OrderNotFound(f"payment order {order_id} does not exist")
        return self.orders[order_id]

    def find_by_serial(self, company_id: str, serial: str) -> PaymentOrder | None:
        return next((o for o in self.orders.values()
                     if (o.company_id, o.serial.value) == (company_id, serial)), None)

    def find_by_end_to_end_id(self, end_to_end_id: str, *, for_update: bool = False) -> PaymentOrder | None:
        return next((o for o in self.orders.values() if o.end_to_end_id.value == end_to_end_id), None)

    def add(self, order: PaymentOrder, events: Sequence[OrderEvent]) -> None:
        existing = self.find_by_serial(order.company_id, order.serial.value)
        if existing is not None:
            raise DuplicateSerial.of(existing)
        self.orders[order.id] = order
        self.history[order.id] = list(events)
        assert first_broken_seq(self.history[order.id]) is None

    def save(self, order: PaymentOrder, events: Sequence[OrderEvent], *, expected_version: int) -> None:
        if self.orders[order.id].version != expected_version:
            raise OrderVersionConflict("changed meanwhile")
        self.orders[order.id] = order
        self.history[order.id].extend(events)
        assert first_broken_seq(self.history[order.id]) is None

    def events(self, order_id: str) -> list[OrderEvent]:
        return list(self.history[order_id])


@dataclass
class FakeOutbox:
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, *, topic: str, aggregate_id: str, payload: dict[str, Any], at: datetime,
            dedupe_key: str | None = None) -> int | None:
        if dedupe_key and any(r["dedupe_key"] == dedupe_key for r in self.rows):
            return None
        self.rows.append({"topic": topic, "aggregate_id": aggregate_id, "payload": payload,
                          "dedupe_key": dedupe_key})
        return len(self.rows)


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.orders = FakeOrderRepository()
        self.ledger = FakeLedger()
        self.outbox = FakeOutbox()
        self.commits = 0

    def commit(self) -> None:
        self.commits += 1
