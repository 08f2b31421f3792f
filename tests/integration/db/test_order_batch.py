"""Bulk creation (`application.order_batch`) against one-by-one `create_order`, on both backends:
the same commands give the same stored orders, events, approval plans with their holds, audit
events and outbox rows (ids and the ledger's sequence numbers aside), and the audit chain verifies.
Plus refusals: serials repeated inside a batch and across batches, all-or-nothing vs accept-valid."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tests.support.orders import FixedClock, funded_uow_factory, install_policy, limit_policy, person
from tests.support.vault import funds_codes
from yinqi.adapters.db.tables.audit import audit_events
from yinqi.adapters.db.tables.outbox import outbox
from yinqi.application import audit
from yinqi.application.order_batch import create_orders, store_orders
from yinqi.application.orders import create_order
from yinqi.domain.identity.principal import Role
from yinqi.domain.orders.checks import build_order
from yinqi.domain.orders.commands import AccountInput, AddressInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.problems import ValidationFailed

PAYER_IBAN = "DE89370400440532013000"
PAYEE_A = "FR1420041010050500013M02606"
PAYEE_B = "FR7630006000011234567890189"
CLOCK = FixedClock()
MAKER = person("maker", Role.OPERATOR)


def command(company: str, serial: str, amount: str, *, iban: str = PAYEE_A, day: date = date(2030, 1, 14),
            e2e: str | None = None) -> CreateOrder:
    return CreateOrder(
        company_id=company, serial=serial, amount=amount, currency="EUR", requested_execution_date=day,
        end_to_end_id=e2e,
        payer=PayerInput(name="Acme", account=AccountInput(iban=PAYER_IBAN), currency="EUR"),
        payee=PayeeInput(name="Fournisseur SARL", account=AccountInput(iban=iban), country="FR",
                         address=AddressInput(town="Paris")))


def workload(company: str) -> list[CreateOrder]:
    """Auto-approved (≤ 100.00) and held orders, suspected duplicates of each other inside the
    batch (same payee, amount and a date within the window), and of an order stored before."""
    return [command(company, "S-1", "50.00"), command(company, "S-2", "2500.00"),
            command(company, "S-3", "2500.00", day=date(2030, 1, 15)), command(company, "S-4", "2500.00", iban=PAYEE_B),
            command(company, "S-5", "75.00"), command(company, "S-6", "75.00"), command(company, "S-7", "900.00"),
            command(company, "S-8", "123.45", day=date(2030, 1, 21))]


@pytest.fixture
def new_uow(engine: Engine) -> Any:
    factory = funded_uow_factory(engine, opening="100000.00", clock=CLOCK)
    install_policy(factory, limit_policy(10_000), clock=CLOCK)
    return factory


def stored_view(uow: Any, company: str) -> dict[str, Any]:
    """What the database holds for the company's orders, keyed by serial: ids and ledger sequence
    numbers replaced by serials (they differ between two runs by construction)."""
    orders = {o.serial.value: o for o in uow.orders.list(company_id=company, limit=500)}
    serial_of = {o.id: s for s, o in orders.items()}

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if k not in ("reservation_seq",)}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return serial_of.get(value, value) if isinstance(value, str) else value

    view: dict[str, Any] = {}
    for serial, o in orders.items():
        events = uow.orders.events(o.id)  # verifies the order's hash chain
        plan = uow.approvals.current_plan(o.id)
        rows = uow.conn.execute(select(outbox.c.topic, outbox.c.payload).where(outbox.c.aggregate_id == o.id)
                                .order_by(outbox.c.id)).all()
        trail = uow.conn.execute(select(audit_events.c.action, audit_events.c.after_json)
                                 .where(audit_events.c.object_id == o.id)).all()
        view[serial] = {
            "order": (o.state, o.version, o.amount, o.payer, o.payee, o.requested_execution_date, o.source,
                      o.created_by, o.created_at, o.updated_at, o.reservation_seq is not None,
                      o.end_to_end_id.value.startswith("E")),
            "events": [(e.seq, e.from_state, e.to_state, e.actor, e.at, e.reason, plain(e.data)) for e in events],
            "plan": (plan.plan_seq, plan.planned_at_version, plain(plan.plan.as_dict()), plan.plan.expires_at),
            "outbox": [(t, plain({k: v for k, v in json.loads(p).items() if k != "company_id"})) for t, p in rows],
            "audit": trail}
    return view


def order_id(run: int, n: int) -> str:
    """Ids that sort alike in both runs: orders created at the same instant are listed by id."""
    return f"00000000-0000-4000-8000-{run:06d}{n:06d}"


def test_a_batch_stores_exactly_what_create_order_stores_one_by_one(new_uow: Any) -> None:
    with new_uow() as u:
        create_order(uow=u, clock=CLOCK, principal=MAKER, command=command("ONE", "S-0", "2500.00"),
                     order_id=order_id(1, 0))
        create_order(uow=u, clock=CLOCK, principal=MAKER, command=command("BATCH", "S-0", "2500.00"),
                     order_id=order_id(2, 0))
    with new_uow() as u:
        for n, c in enumerate(workload("ONE"), start=1):
            create_order(uow=u, clock=CLOCK, principal=MAKER, command=c, order_id=order_id(1, n))
    with new_uow() as u:
        made = create_orders(uow=u, clock=CLOCK, principal=MAKER, commands=workload("BATCH"),
                             order_ids=[order_id(2, n) for n in range(1, 9)])
    assert [o.serial.value for o in made] == [c.serial for c in workload("BATCH")]
    with new_uow() as u:
        one, batch = stored_view(u, "ONE"), stored_view(u, "BATCH")
        check = audit.verify(u)
    assert check.ok and check.count >= 18
    assert batch == one
    held = {s for s, v in batch.items() if any("DUPLICATE_SUSPECTED" in st["source"] for st in v["plan"][2]["steps"])}
    assert held == {"S-2", "S-3", "S-6"}  # S-2 duplicates S-0 (stored), S-3 S-2 and S-6 S-5 (in the batch)
    assert batch["S-1"]["order"][0] == "APPROVED" and batch["S-5"]["order"][0] == "APPROVED"


def test_a_serial_repeated_inside_one_batch_is_refused_citing_the_first_order(new_uow: Any) -> None:
    with new_uow() as u:
        outcome = store_orders(uow=u, clock=CLOCK, principal=MAKER,
                               commands=[command("ACME", "D-1", "2500.00"), command("ACME", "D-1", "2600.00")])
    first = outcome.orders[0]
    assert first is not None and outcome.orders[1] is None
    refused = outcome.refused[1]
    assert (refused.code, refused.where, refused.rule) == ("DUPLICATE_SERIAL", "serial", "unique_per_company")
    assert refused.details == {"existing_order_id": first.id}


def test_a_serial_stored_by_an_earlier_batch_is_refused_citing_that_order(new_uow: Any) -> None:
    with new_uow() as u:
        [earlier] = create_orders(uow=u, clock=CLOCK, principal=MAKER, commands=[command("ACME", "D-2", "10.00")])
    with new_uow() as u:
        outcome = store_orders(uow=u, clock=CLOCK, principal=MAKER,
                               commands=[command("ACME", "D-3", "20.00"), command("ACME", "D-2", "30.00")])
    assert outcome.refused[1].code == "DUPLICATE_SERIAL"
    assert outcome.refused[1].details == {"existing_order_id": earlier.id}
    assert [o.serial.value for o in outcome.stored] == ["D-3"]


def test_an_end_to_end_id_repeated_inside_one_batch_is_refused(new_uow: Any) -> None:
    with new_uow() as u:
        outcome = store_orders(uow=u, clock=CLOCK, principal=MAKER,
                               commands=[command("ACME", "E-1", "10.00", e2e="E2E-1"),
                                         command("ACME", "E-2", "10.00", e2e="E2E-1")])
    assert (outcome.refused[1].code, outcome.refused[1].where) == ("DUPLICATE_END_TO_END_ID", "end_to_end_id")


def counts(u: Any) -> tuple[int, int, int]:
    return (u.orders.count(), u.conn.execute(select(func.count()).select_from(outbox)).scalar_one(),
            u.conn.execute(select(func.count()).select_from(audit_events)).scalar_one())


def test_all_or_nothing_stores_nothing_when_one_row_is_invalid(new_uow: Any) -> None:
    commands = [command("ACME", "A-1", "50.00"), command("ACME", "A-2", "-5.00"), command("ACME", "A-3", "2500.00")]
    with new_uow() as u:
        before = counts(u)
    with new_uow() as u, pytest.raises(ValidationFailed) as refused:
        create_orders(uow=u, clock=CLOCK, principal=MAKER, commands=commands)
    assert [(p.code, p.where, p.rule) for p in refused.value.problems] == [("AMOUNT_INVALID", "amount", "positive")]
    with new_uow() as u:
        assert counts(u) == before
        assert u.ledger.balance(funds_codes(PAYER_IBAN)[0]).format() == "100000.00"  # A-1's reservation undone


def test_accept_valid_stores_every_row_but_the_invalid_one(new_uow: Any) -> None:
    commands = [command("ACME", "V-1", "50.00"), command("ACME", "V-2", "-5.00"), command("ACME", "V-3", "2500.00")]
    with new_uow() as u:
        outcome = store_orders(uow=u, clock=CLOCK, principal=MAKER, commands=commands)
    assert list(outcome.refused) == [1] and outcome.refused[1].code == "VALIDATION_FAILED"
    with new_uow() as u:
        stored = {o.serial.value: o for o in u.orders.list(company_id="ACME", limit=10)}
        assert set(stored) == {"V-1", "V-3"}
        assert audit.verify(u).ok


def test_a_refused_auto_approval_books_nothing_and_spares_its_neighbours(engine: Engine) -> None:
    new_uow = funded_uow_factory(engine, opening="60.00", clock=CLOCK)
    install_policy(new_uow, limit_policy(10_000), clock=CLOCK)
    commands = [command("ACME", "F-1", "50.00"), command("ACME", "F-2", "40.00"), command("ACME", "F-3", "5.00")]
    with new_uow() as u:
        outcome = store_orders(uow=u, clock=CLOCK, principal=MAKER, commands=commands)
    assert list(outcome.refused) == [1] and outcome.refused[1].code == "INSUFFICIENT_FUNDS"
    with new_uow() as u:
        states = {o.serial.value: o.state for o in u.orders.list(company_id="ACME", limit=10)}
        assert states == {"F-1": "APPROVED", "F-3": "APPROVED"}
        assert sum(1 for o in u.orders.list(limit=10) if o.reservation_seq is not None) == 2


def test_the_order_store_refuses_a_serial_taken_meanwhile_naming_the_new_order(new_uow: Any) -> None:
    with new_uow() as u:
        [taken] = create_orders(uow=u, clock=CLOCK, principal=MAKER, commands=[command("ACME", "R-1", "2500.00")])
    late = build_order(command("ACME", "R-1", "2500.00"), order_id="00000000-0000-4000-8000-000000000001",
                       today=CLOCK.now().date(), actor="maker", at=CLOCK.now())
    late, created = late.created(actor="maker", at=CLOCK.now())
    with new_uow() as u, pytest.raises(Exception) as refused:
        u.orders.add_many([(late, [created])])
    assert getattr(refused.value, "code", None) == "DUPLICATE_SERIAL"
    assert refused.value.details == {"existing_order_id": taken.id, "order_id": late.id}  # type: ignore[attr-defined]
