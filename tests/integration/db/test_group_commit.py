"""Group commit (`adapters/db/group_commit.py`) with the real idempotent order creation, on SQLite
and PostgreSQL: concurrent requests are each committed exactly once, a refused or failing request
does not fail its batch neighbours, and nothing is acknowledged before its batch is durable."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tests.support.orders import MAKER, FixedClock, funded_uow_factory, order_body, person
from yinqi.adapters.db.group_commit import GroupCommit, Grouped
from yinqi.adapters.db.tables.idempotency import idempotency_keys
from yinqi.adapters.db.tables.orders import payment_orders
from yinqi.application.idempotency import IdempotentRequest, Outcome, StoredResponse, run_idempotent
from yinqi.application.orders import create_order
from yinqi.domain.identity.principal import Principal, Role
from yinqi.domain.problems import DomainError
from yinqi.entrypoints.api.errors import encode, render_error
from yinqi.entrypoints.api.orders import _Create, _create_all
from yinqi.entrypoints.api.schemas import CreateOrderRequest
from yinqi.testing.failpoints import FailpointTriggered

CLOCK = FixedClock()
PATH = "/api/v1/payment-orders"


def post(new_uow: Callable[[], Any], key: str, body: dict[str, Any], *, explode: bool = False) -> Outcome:
    """What `POST /payment-orders` runs inside a job: the idempotent create of one order."""
    raw = json.dumps(body).encode()
    request = IdempotentRequest(scope="user:maker", key=key, method="POST", path=PATH, body=raw)

    def work(uow: Any) -> StoredResponse:
        command = CreateOrderRequest.model_validate_json(raw).to_command(source="api")
        order = create_order(uow=uow, clock=CLOCK, principal=MAKER, command=command)
        if explode:
            raise RuntimeError("a bug after the order was written")
        return StoredResponse(201, encode({"id": order.id, "serial": order.serial.value}), order.id)

    return run_idempotent(request=request, new_uow=new_uow, clock=CLOCK, work=work,
                          render_error=lambda exc: StoredResponse(*render_error(exc)))


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def new_uow(engine: Engine) -> Callable[[], Any]:
    return funded_uow_factory(engine, opening="1000000.00", clock=CLOCK)


def test_concurrent_requests_are_each_committed_exactly_once_and_a_retry_replays_the_same_body(
        engine: Engine, new_uow: Callable[[], Any]) -> None:
    group = GroupCommit(new_uow, max_batch=16, linger_ms=20)
    requests = [(f"key-{i}", order_body(f"GC-{i:03d}", f"{10 + i}.00")) for i in range(12)]
    start = threading.Barrier(2 * len(requests))
    outcomes: dict[str, list[Outcome]] = {key: [] for key, _ in requests}

    def client(key: str, body: dict[str, Any]) -> None:
        start.wait()
        outcomes[key].append(group.run(lambda uow_factory: post(uow_factory, key, body)))

    threads = [threading.Thread(target=client, args=r) for r in requests for _ in range(2)]  # each sent twice
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    group.stop()

    assert count(engine, payment_orders) == len(requests)
    for key, pair in outcomes.items():
        assert [o.response.status for o in pair] == [201, 201], key
        assert pair[0].response.body == pair[1].response.body
        assert sorted(o.replayed for o in pair) == [False, True]
    assert group.jobs == 2 * len(requests) and group.batches < group.jobs  # some requests shared a commit


def test_a_refused_or_failing_request_does_not_fail_its_batch_neighbours(
        engine: Engine, new_uow: Callable[[], Any]) -> None:
    taken = CreateOrderRequest.model_validate_json(json.dumps(order_body("TAKEN", "5.00"))).to_command()
    with new_uow() as uow:
        create_order(uow=uow, clock=CLOCK, principal=MAKER, command=taken)
    group = GroupCommit(new_uow, max_batch=8, linger_ms=300)
    bad_amount = {**order_body("BAD", "5.00"), "amount": "-1.00"}
    jobs = {"valid": ("k-valid", order_body("OK-1", "7.00"), False),
            "invalid": ("k-invalid", bad_amount, False),
            "duplicate": ("k-dup", order_body("TAKEN", "9.00"), False),
            "bug": ("k-bug", order_body("BUG-1", "8.00"), True),
            "valid too": ("k-valid-2", order_body("OK-2", "6.00"), False)}
    futures: dict[str, Future[Outcome]] = {
        name: group.submit(lambda f, k=key, b=body, e=explode: post(f, k, b, explode=e))
        for name, (key, body, explode) in jobs.items()}

    assert futures["valid"].result(30).response.status == 201
    assert futures["valid too"].result(30).response.status == 201
    assert json.loads(futures["invalid"].result(30).response.body)["error"]["code"] == "VALIDATION_FAILED"
    assert json.loads(futures["duplicate"].result(30).response.body)["error"]["code"] == "DUPLICATE_SERIAL"
    with pytest.raises(RuntimeError, match="a bug"):
        futures["bug"].result(30)
    group.stop()
    assert group.batches == 1
    with engine.connect() as conn:
        serials = set(conn.execute(select(payment_orders.c.serial)).scalars())
        keys = dict(conn.execute(select(idempotency_keys.c.key, idempotency_keys.c.response_status)).all())
    assert serials == {"TAKEN", "OK-1", "OK-2"}  # BUG-1 undone, its neighbours kept
    assert keys == {"k-valid": 201, "k-valid-2": 201, "k-invalid": 422, "k-dup": 409}  # k-bug freed for a retry


def test_nothing_is_acknowledged_or_kept_when_the_process_fails_between_collect_and_commit(
        engine: Engine, new_uow: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    requests = [(f"crash-{i}", order_body(f"CR-{i}", f"{20 + i}.00")) for i in range(3)]
    monkeypatch.setenv("YINQI_FAILPOINTS", "group_commit.before_commit=raise")
    group = GroupCommit(new_uow, max_batch=8, linger_ms=300)
    futures = [group.submit(lambda f, k=key, b=body: post(f, k, b)) for key, body in requests]
    for future in futures:
        with pytest.raises(FailpointTriggered):
            future.result(30)
    group.stop()
    assert count(engine, payment_orders) == 0 and count(engine, idempotency_keys) == 0

    monkeypatch.delenv("YINQI_FAILPOINTS")
    retry = GroupCommit(new_uow)
    outcomes = [retry.run(lambda f, k=key, b=body: post(f, k, b)) for key, body in requests]
    retry.stop()
    assert [(o.response.status, o.replayed) for o in outcomes] == [(201, False)] * 3
    assert count(engine, payment_orders) == 3


def test_a_job_error_is_a_domain_error_for_its_caller_only(engine: Engine, new_uow: Callable[[], Any]) -> None:
    class Refused(DomainError):
        code = "REFUSED_FOR_TEST"

    def refuse(_: Callable[[], Any]) -> None:
        raise Refused("no")

    group = GroupCommit(new_uow, linger_ms=200)
    refused = group.submit(refuse)
    ok = group.submit(lambda f: post(f, "after-refusal", order_body("AR-1", "3.00")))
    with pytest.raises(Refused):
        refused.result(30)
    assert ok.result(30).response.status == 201
    group.stop()


# --- creates grouped by principal into one `order_batch.store_orders` call ------------------------
HUB = SimpleNamespace(clock=CLOCK, settings=SimpleNamespace(auto_release=False))


def grouped_post(key: str, body: dict[str, Any] | bytes, principal: Principal = MAKER,
                 refusals: list[DomainError] | None = None) -> Grouped[Outcome]:
    """What `POST /payment-orders` submits: a create that runs with its batch's other creates."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = IdempotentRequest(scope=f"user:{principal.actor_id}", key=key, method="POST", path=PATH, body=raw)

    def render(exc: DomainError) -> StoredResponse:
        if refusals is not None:
            refusals.append(exc)
        return StoredResponse(*render_error(exc))

    return Grouped(key=("create", principal), item=_Create(request, raw, render),
                   run_all=lambda new_uow, items: _create_all(HUB, principal, new_uow, items),
                   alone=lambda new_uow: post(new_uow, key, json.loads(raw)))


def test_a_batch_of_creates_is_stored_by_one_set_based_call_each_with_its_own_answer(
        engine: Engine, new_uow: Callable[[], Any]) -> None:
    taken = CreateOrderRequest.model_validate_json(json.dumps(order_body("G-TAKEN", "5.00"))).to_command()
    with new_uow() as uow:
        create_order(uow=uow, clock=CLOCK, principal=MAKER, command=taken)
    group = GroupCommit(new_uow, max_batch=16, linger_ms=300)
    refusals: list[DomainError] = []
    jobs: dict[str, tuple[str, dict[str, Any] | bytes]] = {
        "ok-1": ("g-1", order_body("G-1", "7.00")),
        "invalid": ("g-bad", {**order_body("G-BAD", "5.00"), "amount": "-1.00"}),
        "not json": ("g-raw", b"{not json"),
        "duplicate": ("g-dup", order_body("G-TAKEN", "9.00")),
        "same serial as ok-1": ("g-1-again", order_body("G-1", "8.00")),
        "no key": ("", order_body("G-NOKEY", "1.00")),
        "ok-2": ("g-2", order_body("G-2", "6.00"))}
    futures = {name: group.submit(grouped_post(key, body, refusals=refusals)) for name, (key, body) in jobs.items()}

    def code(name: str) -> str:
        return str(json.loads(futures[name].result(30).response.body)["error"]["code"])

    first, second = futures["ok-1"].result(30), futures["ok-2"].result(30)
    assert (first.response.status, first.replayed, second.response.status) == (201, False, 201)
    assert code("invalid") == "VALIDATION_FAILED" and code("not json") == "VALIDATION_FAILED"
    assert code("duplicate") == "DUPLICATE_SERIAL" and code("same serial as ok-1") == "DUPLICATE_SERIAL"
    with pytest.raises(DomainError) as missing:
        futures["no key"].result(30)
    assert missing.value.code == "IDEMPOTENCY_KEY_REQUIRED"
    group.stop()
    assert (group.batches, group.grouped) == (1, len(jobs))
    assert sorted(e.code for e in refusals) == ["DUPLICATE_SERIAL", "DUPLICATE_SERIAL", "VALIDATION_FAILED",
                                                "VALIDATION_FAILED"]
    with engine.connect() as conn:
        serials = set(conn.execute(select(payment_orders.c.serial)).scalars())
        keys = dict(conn.execute(select(idempotency_keys.c.key, idempotency_keys.c.response_status)).all())
    assert serials == {"G-TAKEN", "G-1", "G-2"}
    assert keys == {"g-1": 201, "g-2": 201, "g-bad": 422, "g-raw": 422, "g-dup": 409, "g-1-again": 409}
    replay = GroupCommit(new_uow)
    again = replay.run(grouped_post("g-1", order_body("G-1", "7.00")))
    with pytest.raises(DomainError) as reused:
        replay.run(grouped_post("g-2", order_body("G-2", "6.01")))
    replay.stop()
    assert (again.replayed, again.response.body) == (True, first.response.body)
    assert (reused.value.code, reused.value.where) == ("IDEMPOTENCY_KEY_REUSED", "amount")


def test_the_same_key_twice_in_one_grouped_batch_replays_the_first_or_is_refused_as_reused(
        engine: Engine, new_uow: Callable[[], Any]) -> None:
    group = GroupCommit(new_uow, max_batch=8, linger_ms=300)
    first = group.submit(grouped_post("twice", order_body("TW-1", "4.00")))
    retry = group.submit(grouped_post("twice", order_body("TW-1", "4.00")))
    other = group.submit(grouped_post("twice", order_body("TW-2", "4.00")))
    assert (first.result(30).replayed, retry.result(30).replayed) == (False, True)
    assert retry.result(30).response.body == first.result(30).response.body
    with pytest.raises(DomainError) as reused:
        other.result(30)
    group.stop()
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED" and group.batches == 1
    assert count(engine, payment_orders) == 1


def test_creates_of_different_principals_in_one_batch_are_stored_each_by_its_own_principal(
        engine: Engine, new_uow: Callable[[], Any]) -> None:
    other = person("other-maker", Role.OPERATOR)
    group = GroupCommit(new_uow, max_batch=8, linger_ms=300)
    futures = [group.submit(grouped_post(f"p-{i}", order_body(f"P-{i}", "3.00"), principal=p))
               for i, p in enumerate([MAKER, other, MAKER, other])]
    assert [f.result(30).response.status for f in futures] == [201] * 4
    group.stop()
    with engine.connect() as conn:
        makers = dict(conn.execute(select(payment_orders.c.serial, payment_orders.c.created_by)).all())
    assert makers == {"P-0": "maker", "P-1": "other-maker", "P-2": "maker", "P-3": "other-maker"}
    assert group.grouped == 4 and group.batches == 1


def test_when_the_set_based_call_fails_unexpectedly_its_requests_run_one_by_one_and_only_the_culprit_fails(
        engine: Engine, new_uow: Callable[[], Any]) -> None:
    def exploding(key: str, body: dict[str, Any]) -> Grouped[Outcome]:
        job = grouped_post(key, body)

        def run_all(factory: Callable[[], Any], items: Any) -> Any:
            job.run_all(factory, items)  # writes the whole group's orders and keys, then a bug
            raise RuntimeError("a bug in the set-based path")

        return Grouped(key=job.key, item=job.item, run_all=run_all,
                       alone=lambda f: post(f, key, body, explode=key == "x-2"))

    group = GroupCommit(new_uow, max_batch=8, linger_ms=300)
    futures = [group.submit(exploding(f"x-{i}", order_body(f"X-{i}", "2.00"))) for i in range(3)]
    assert futures[0].result(30).response.status == 201 and futures[1].result(30).response.status == 201
    with pytest.raises(RuntimeError, match="a bug after"):
        futures[2].result(30)
    group.stop()
    assert group.grouped == 0 and group.batches == 1
    with engine.connect() as conn:
        assert set(conn.execute(select(payment_orders.c.serial)).scalars()) == {"X-0", "X-1"}
        assert set(conn.execute(select(idempotency_keys.c.key)).scalars()) == {"x-0", "x-1"}


def test_a_grouped_job_with_an_unhashable_key_runs_alone_instead_of_failing_its_batch(
        engine: Engine, new_uow: Callable[[], Any]) -> None:
    job = grouped_post("unhashable", order_body("UH-1", "2.00"))
    group = GroupCommit(new_uow, max_batch=8, linger_ms=300)
    unhashable: Any = ["not", "hashable"]
    odd = group.submit(Grouped(key=unhashable, item=job.item, run_all=job.run_all, alone=job.alone))
    fine = group.submit(grouped_post("fine", order_body("UH-2", "2.00")))
    assert (odd.result(30).response.status, fine.result(30).response.status) == (201, 201)
    group.stop()
    assert group.grouped == 0 and group.batches == 1
