"""Creating payment orders in bulk: the one path every new order takes (`orders.create_order` is a
batch of one; file imports, `POST …/batch` and the API's group commit send many).

What it guarantees: each order gets exactly what `create_order` one by one would store, in the
same order (events, approval plan with its holds, audit event `order.create`, outbox rows,
sealed account numbers), and a later order of the batch sees the earlier ones as possible
duplicates, as it would had they been created one after another. The work is set-based:
- every command is validated in Python first, and refused commands never reach the database; a
  command given as a `CheckedOrder` (intake checked it already, on the same day) is not checked
  a second time;
- serials, end-to-end ids, same-amount orders and beneficiaries are looked up for the whole
  batch with one query each (IN lists, one array on PostgreSQL; accounts by blind index); the
  policy is loaded once;
- orders, events, plans, audit events (the hash chain sealed in sequence, the head moved once)
  and outbox rows are written with one bulk insert each (`bulk_insert.insert_rows`: executemany
  on SQLite, COPY on PostgreSQL), inside a savepoint, and the unit of
  work commits once (deferred, like any use case, inside `uow.atomic()`).
Only an auto-approved order books its reservation in the ledger one by one (rare in bulk: the
built-in policy sends imports to an approver).

A serial that a concurrent transaction takes between the check and the INSERT (PostgreSQL; SQLite
serialises writers) rolls the savepoint back; the batch is computed again without that order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from yinqi.application import approval_policy, audit
from yinqi.application.holds import HoldFinder
from yinqi.application.orders import (
    AUTO_APPROVER,
    AUTO_RELEASER,
    OrderUnitOfWork,
    _approve,
    _record,
    _release,
    _require_company,
)
from yinqi.application.ports import Clock
from yinqi.application.webhooks import queue_order_status
from yinqi.domain.approval.plan import ApprovalPlan, make_plan
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Principal
from yinqi.domain.orders.checks import CheckedOrder, build_order
from yinqi.domain.orders.commands import CreateOrder
from yinqi.domain.orders.events import OrderEvent
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.orders.order import DuplicateEndToEndId, DuplicateSerial, PaymentOrder
from yinqi.domain.problems import DomainError, Problem, ValidationFailed

__all__ = ["MAX_BATCH_ORDERS", "BatchOutcome", "create_orders", "store_orders"]

MAX_BATCH_ORDERS = 10_000
Command = CreateOrder | CheckedOrder  # a CheckedOrder: checked already, not checked again
S = OrderState


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """Per command, in command order: its stored order, or (index → error) why it was refused."""

    orders: list[PaymentOrder | None]
    refused: dict[int, DomainError]

    @property
    def stored(self) -> list[PaymentOrder]:
        return [o for o in self.orders if o is not None]


def create_orders(*, uow: OrderUnitOfWork, clock: Clock, principal: Principal, commands: Sequence[Command],
                  auto_release: bool = False, order_ids: Sequence[str] | None = None) -> list[PaymentOrder]:
    """Store every order or none: returns them in command order, committed once.

    Raises:
        the refusal of the first refused command, as `create_order` raises it for that command
        alone (FORBIDDEN, VALIDATION_FAILED, DUPLICATE_SERIAL, DUPLICATE_END_TO_END_ID,
        INSUFFICIENT_FUNDS …); nothing is stored then. VALIDATION_FAILED `BATCH_TOO_LARGE` above
        MAX_BATCH_ORDERS commands.
    """
    outcome = _Batch(uow, clock, principal, commands, order_ids, auto_release=auto_release,
                     all_or_nothing=True).run()
    if outcome.refused:
        raise outcome.refused[min(outcome.refused)]
    return outcome.stored


def store_orders(*, uow: OrderUnitOfWork, clock: Clock, principal: Principal, commands: Sequence[Command],
                 auto_release: bool = False, order_ids: Sequence[str] | None = None) -> BatchOutcome:
    """Store every command that is not refused (committed once) and say why the others were:
    one command's refusal never fails its neighbours.

    Raises:
        ValidationFailed (VALIDATION_FAILED, `BATCH_TOO_LARGE`): more than MAX_BATCH_ORDERS commands.
    """
    return _Batch(uow, clock, principal, commands, order_ids, auto_release=auto_release,
                  all_or_nothing=False).run()


class _Deferred:
    """Stands in for the audit log and the outbox while the batch is computed: keeps the arguments
    of each `append` / `add` call (made by `audit.record`, `queue_order_status`, `_release`), to be
    written afterwards with one multi-row INSERT each."""

    def __init__(self) -> None:
        self.audit_events: list[dict[str, Any]] = []
        self.outbox_rows: list[dict[str, Any]] = []

    @property
    def audit(self) -> _Deferred:
        return self

    @property
    def outbox(self) -> _Deferred:
        return self

    def append(self, **fields: Any) -> None:
        self.audit_events.append(fields)

    def add(self, **fields: Any) -> None:
        self.outbox_rows.append(fields)

    def commit(self) -> None:
        raise AssertionError("a deferred audit log or outbox is written by its batch, never committed alone")


class _Batch:
    def __init__(self, uow: Any, clock: Clock, principal: Principal, commands: Sequence[Command],
                 order_ids: Sequence[str] | None, *, auto_release: bool, all_or_nothing: bool) -> None:
        if len(commands) > MAX_BATCH_ORDERS:
            raise ValidationFailed([Problem("BATCH_TOO_LARGE", f"a batch holds at most {MAX_BATCH_ORDERS} orders",
                                            where="orders", rule=f"max_{MAX_BATCH_ORDERS}", value=str(len(commands)))])
        assert order_ids is None or len(order_ids) == len(commands), "one order id per command"
        self.uow, self.principal, self.commands = uow, principal, commands
        self.auto_release, self.all_or_nothing = auto_release, all_or_nothing
        self.now = clock.now()
        self.ids = list(order_ids) if order_ids is not None else [str(uuid.uuid4()) for _ in commands]
        self.refused: dict[int, DomainError] = {}

    def run(self) -> BatchOutcome:
        drafts = self.drafts()
        self.refuse_taken(drafts)
        stored: dict[int, PaymentOrder] = {}
        if not (self.refused and self.all_or_nothing):
            stored = self.store(drafts)
        if stored:
            self.uow.commit()
        return BatchOutcome(orders=[stored.get(i) for i in range(len(self.commands))], refused=dict(self.refused))

    # --- checks, before anything is written ----------------------------------------------------
    def drafts(self) -> dict[int, PaymentOrder]:
        """The DRAFT order of each command the principal may create and that passes validation."""
        out: dict[int, PaymentOrder] = {}
        today, actor = self.now.date(), self.principal.actor_id
        permitted: set[Permission] = set()  # checked once per batch; a refusal is raised anew each time
        companies: set[str] = set()
        for i, given in enumerate(self.commands):
            command = given.command if isinstance(given, CheckedOrder) else given
            try:
                permission = Permission.ORDER_IMPORT if command.source == "import" else Permission.ORDER_CREATE
                if permission not in permitted:
                    require(self.principal, permission)
                    permitted.add(permission)
                company = command.company_id.strip() if isinstance(command.company_id, str) else ""
                if company not in companies:
                    _require_company(self.principal, company)
                    companies.add(company)
                out[i] = build_order(given, order_id=self.ids[i], today=today, actor=actor, at=self.now)
            except DomainError as exc:
                self.refused[i] = exc
        return out

    def refuse_taken(self, drafts: dict[int, PaymentOrder]) -> None:
        """DUPLICATE_SERIAL / DUPLICATE_END_TO_END_ID for what is stored already or repeats an
        earlier command of the batch (one query per company for serials, one for end-to-end ids)."""
        by_company: dict[str, list[str]] = {}
        for order in drafts.values():
            by_company.setdefault(order.company_id, []).append(order.serial.value)
        in_use = {(c, s): oid for c, serials in by_company.items()
                  for s, oid in self.uow.orders.serials_in_use(c, serials).items()}
        e2e_in_use = self.uow.orders.end_to_end_ids_in_use([o.end_to_end_id.value for o in drafts.values()])
        first: dict[tuple[str, str], PaymentOrder] = {}
        first_e2e: set[str] = set()
        for i, order in sorted(drafts.items()):
            key = (order.company_id, order.serial.value)
            if key in in_use:
                self.refused[i] = DuplicateSerial.of(self.uow.orders.get(in_use[key]))
            elif key in first:
                self.refused[i] = DuplicateSerial.of(first[key])
            elif order.end_to_end_id.value in e2e_in_use | first_e2e:
                self.refused[i] = DuplicateEndToEndId(f"end-to-end id {order.end_to_end_id} is already used",
                                                      where="end_to_end_id", rule="unique",
                                                      value=order.end_to_end_id.value)
            else:
                first[key] = order
                first_e2e.add(order.end_to_end_id.value)
                continue
            del drafts[i]

    # --- writing ----------------------------------------------------------------------------------
    def store(self, drafts: dict[int, PaymentOrder]) -> dict[int, PaymentOrder]:
        """Compute and write the batch in a savepoint; again without an order whose serial or
        end-to-end id a concurrent transaction took (at most once per order)."""
        for _attempt in range(len(drafts) + 1):
            try:
                with self.uow.savepoint():
                    stored = self.write(drafts)
                    if self.refused and self.all_or_nothing:
                        raise _Abandon
                return stored
            except _Abandon:
                return {}
            except (DuplicateSerial, DuplicateEndToEndId) as exc:
                index = next(i for i, o in drafts.items() if o.id == exc.details.get("order_id"))
                exc.details.pop("order_id", None)
                self.refused[index] = exc
                del drafts[index]
                if self.all_or_nothing:
                    return {}
        raise AssertionError("a batch is computed again at most once per order")  # pragma: no cover

    def write(self, drafts: dict[int, PaymentOrder]) -> dict[int, PaymentOrder]:
        deferred = _Deferred()
        finder = HoldFinder(self.uow, list(drafts.values()), now=self.now)
        active = approval_policy.active_policy(self.uow)
        created: dict[int, tuple[PaymentOrder, list[OrderEvent], ApprovalPlan]] = {}
        for i, draft in sorted(drafts.items()):
            try:
                created[i] = self.create(draft, finder, active, deferred)
            except DomainError as exc:  # the ledger refused an auto-approval: nothing was booked
                self.refused[i] = exc
                if self.all_or_nothing:
                    return {}
                continue
            finder.created(created[i][0])
        self.uow.orders.add_many([(order, events) for order, events, _ in created.values()])
        self.uow.approvals.add_plans([(order.id, plan, order.version) for order, _, plan in created.values()],
                                     at=self.now)
        self.uow.audit.append_many(deferred.audit_events)
        self.uow.outbox.add_many(deferred.outbox_rows)
        return {i: order for i, (order, _, _) in created.items()}

    def create(self, draft: PaymentOrder, finder: HoldFinder, active: Any,
               deferred: _Deferred) -> tuple[PaymentOrder, list[OrderEvent], ApprovalPlan]:
        """One order's way to PENDING_APPROVAL (or APPROVED, RELEASED), as `create_order` takes it."""
        now, actor = self.now, self.principal.actor_id
        order, created = draft.created(actor=actor, at=now)
        order, validated = order.move_to(S.VALIDATED, actor=actor, at=now, reason="all checks passed")
        events = [created, validated]
        plan = make_plan(order=order, holds=finder.holds(order), policy=active.policy, policy_version=active.version,
                         now=now, digest=approval_policy.keyed_digest(self.uow, order))
        if plan.auto:
            with self.uow.savepoint():  # a refused reservation leaves no ledger account behind either
                order = _approve(self.uow, order, events, actor=AUTO_APPROVER, at=now,
                                 reason=f"auto-approval rule of policy version {plan.policy_version}: "
                                        f"{'; '.join(plan.matched_rules)}")
            if self.auto_release:
                order = _release(deferred, order, events, actor=AUTO_RELEASER, at=now)  # type: ignore[arg-type]
        else:
            order = _record(order, events, S.PENDING_APPROVAL, actor=actor, at=now,
                            reason=f"{len(plan.steps)} approval step(s) under policy version {plan.policy_version}")
        audit.record(deferred, principal=self.principal, action="order.create",  # type: ignore[arg-type]
                     object_type="payment_order", object_id=order.id, at=now, company_id=order.company_id,
                     after=audit_view(order))
        queue_order_status(deferred, order, events)
        return order, events, plan


class _Abandon(Exception):
    """All or nothing and a command was refused while the batch was written: roll it back."""


def audit_view(order: PaymentOrder) -> dict[str, Any]:
    """What the audit trail keeps of an order: no full account number (masked only)."""
    return {"serial": order.serial.value, "state": order.state.value, "amount": order.amount.format(),
            "currency": order.amount.currency, "payee_name": order.payee.name,
            "payee_account": order.payee.account.masked, "requested_execution_date":
            order.requested_execution_date.isoformat(), "source": order.source.value}
