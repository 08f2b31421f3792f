"""In-memory fakes of the ports the order use cases need (STYLE rule 10: fakes that implement the
real port, no mock.patch). `FakeLedger` keeps the real ledger's promises that the use cases rely on:
balanced postings, no overdraft where forbidden, idempotent keys, reverse once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.vault import TEST_VAULT
from yinqi.adapters.db.approval_store import StoredPlan, StoredPolicy
from yinqi.application.orders import OrderRepository
from yinqi.application.ports import Clock, Ledger
from yinqi.domain.approval.plan import ApprovalPlan
from yinqi.domain.approval.workflow import Approval, SodDuplicateApprover
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

    def find_same_amount(self, *, company_id: str, currency: str, amount_minor: int, execution_from: Any,
                         execution_to: Any, limit: int = 200) -> list[PaymentOrder]:
        return [o for o in self.orders.values() if (o.company_id, o.amount.currency, o.amount.minor)
                == (company_id, currency, amount_minor)
                and execution_from <= o.requested_execution_date <= execution_to][:limit]

    def find_same_amounts(self, *, company_id: str, amounts: Sequence[tuple[str, int]], execution_from: Any,
                          execution_to: Any) -> list[PaymentOrder]:
        return [o for o in self.orders.values() if o.company_id == company_id
                and (o.amount.currency, o.amount.minor) in set(amounts)
                and execution_from <= o.requested_execution_date <= execution_to]

    def serials_in_use(self, company_id: str, serials: Sequence[str]) -> dict[str, str]:
        return {o.serial.value: o.id for o in self.orders.values()
                if o.company_id == company_id and o.serial.value in set(serials)}

    def end_to_end_ids_in_use(self, end_to_end_ids: Sequence[str]) -> set[str]:
        return {o.end_to_end_id.value for o in self.orders.values()} & set(end_to_end_ids)

    def add_many(self, created: Sequence[tuple[PaymentOrder, Sequence[OrderEvent]]]) -> None:
        for order, events in created:
            self.add(order, events)


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

    def add_many(self, rows: Sequence[dict[str, Any]]) -> int:
        return sum(self.add(**row) is not None for row in rows)


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.orders = FakeOrderRepository()
        self.ledger = FakeLedger()
        self.outbox = FakeOutbox()
        self.vault = TEST_VAULT
        self.approvals = FakeApprovalStore()
        self.beneficiaries = FakeBeneficiaries()
        self.audit = FakeAuditLog()
        self.commits = 0

    def commit(self) -> None:
        self.commits += 1

    @contextmanager
    def savepoint(self) -> Iterator[FakeUnitOfWork]:
        yield self  # the fakes write nothing a refused batch would leave behind: no rollback needed


class FakeApprovalStore:
    """The approval store's promises: versions count up from 1, plans per order count up from 1,
    one place per person per plan (SOD_DUPLICATE_APPROVER), everything append-only."""

    def __init__(self) -> None:
        self.policies: list[StoredPolicy] = []
        self.plans: dict[str, list[StoredPlan]] = {}
        self.given: dict[tuple[str, int], list[Approval]] = {}

    def latest_policy(self) -> StoredPolicy | None:
        return self.policies[-1] if self.policies else None

    def policy(self, version: int) -> StoredPolicy | None:
        return next((p for p in self.policies if p.version == version), None)

    def policy_versions(self, *, limit: int = 100) -> list[StoredPolicy]:
        return list(reversed(self.policies))[:limit]

    def add_policy(self, *, document: str, sha256: str, created_by: str, created_at: datetime, note: str) -> int:
        self.policies.append(StoredPolicy(len(self.policies) + 1, document, sha256, created_by, created_at, note))
        return len(self.policies)

    def add_plan(self, *, order_id: str, plan: ApprovalPlan, planned_at_version: int, at: datetime) -> int:
        plans = self.plans.setdefault(order_id, [])
        plans.append(StoredPlan(order_id, len(plans) + 1, plan, planned_at_version, at))
        return len(plans)

    def add_plans(self, planned: Sequence[tuple[str, ApprovalPlan, int]], *, at: datetime) -> list[int]:
        return [self.add_plan(order_id=o, plan=p, planned_at_version=v, at=at) for o, p, v in planned]

    def current_plan(self, order_id: str) -> StoredPlan | None:
        return self.plans.get(order_id, [None])[-1]  # type: ignore[list-item]

    def add_approval(self, *, order_id: str, plan_seq: int, approval: Approval) -> None:
        given = self.given.setdefault((order_id, plan_seq), [])
        if any(a.approver_id == approval.approver_id for a in given):
            raise SodDuplicateApprover("already approved")
        given.append(approval)

    def approvals(self, order_id: str, plan_seq: int) -> list[Approval]:
        return list(self.given.get((order_id, plan_seq), []))


@dataclass
class FakeAuditLog:
    events: list[dict[str, Any]] = field(default_factory=list)

    def append(self, **event: Any) -> None:
        self.events.append(event)

    def append_many(self, events: Sequence[dict[str, Any]]) -> None:
        self.events.extend(events)

    def actions(self) -> list[str]:
        return [e["action"] for e in self.events]


class FakeBeneficiaries:
    """No beneficiary master data: no payee is held for it."""

    def find_for_payee(self, company_id: str, *, name: str, account: Any) -> list[Any]:
        return []

    def find_for_payees(self, company_id: str, payees: Sequence[tuple[str, Any]]) -> list[Any]:
        return []
