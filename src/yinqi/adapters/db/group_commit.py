"""Group commit: many concurrent requests' work in one database transaction, one durable commit.

Why: a payment order costs one durable commit (an fsync on SQLite's WAL with synchronous FULL, a
WAL flush on PostgreSQL) plus the idempotency claim's own commit, and on SQLite every request
queues for the single write lock. Under load the requests spend their time waiting for each other's
fsyncs. One writer thread instead takes every job that queued while it was busy (up to `max_batch`,
after waiting at most `linger_ms` for company), runs them one after another inside one transaction,
commits once, and only then answers each job: an answer is never given for work that is not durable.

Each job runs against a `new_uow` factory whose units of work are SAVEPOINTs of the batch's
transaction (`SavepointUnitOfWork`), so a use case written for its own transaction (commit on
success, rollback when it raises) keeps its meaning: a job that fails rolls back only its own
savepoint, its neighbours commit. Each job also runs inside an outer savepoint of its own, so an
unexpected error undoes everything it wrote and is handed to that job's caller alone.
If the batch's commit itself fails (or the process dies first), every job of the batch gets the
error (or no answer): nothing of it is durable, nothing was acknowledged, and a retry under the same
Idempotency-Key finds no claim and runs again.

A `Grouped` job may run together with the batch's other jobs of the same key, in one call (the
API's creates of one principal go to `order_batch.store_orders` at once, see
`application/idempotent_batch.py`): that call runs in one savepoint, and if it raises, its jobs run
again one by one (`Grouped.alone`), each in a savepoint of its own, so an unexpected error still
reaches only the job that caused it.

Jobs must not open transactions of their own on the engine (on SQLite that would wait for the
write lock the batch holds); refusals that need their own audit transaction are recorded by the
caller after the job's answer (see `entrypoints/api/orders.py`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, TypeVar

from sqlalchemy import NestedTransaction

from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.testing.failpoints import declare, failpoint

__all__ = ["GroupCommit", "Grouped", "SavepointUnitOfWork"]

T = TypeVar("T")
MAX_BATCH = 64
LINGER_MS = 1.0
declare("group_commit.before_commit")


class SavepointUnitOfWork(SqlUnitOfWork):
    """A unit of work inside another one's transaction: `with` opens a SAVEPOINT, `commit()` keeps
    what was written (releases it and opens the next), leaving without `commit()` rolls back to it.
    Durability comes from the enclosing transaction's commit. Stores are its own (fresh per unit),
    so no store keeps state cached from a rolled-back savepoint."""

    def __init__(self, outer: SqlUnitOfWork) -> None:
        super().__init__(outer._engine, ledger_key=outer._ledger_key, vault=outer._vault, home=outer._home)
        self._outer = outer
        self._savepoint: NestedTransaction | None = None

    def __enter__(self) -> SavepointUnitOfWork:
        self._conn = self._outer.conn
        self._savepoint = self._conn.begin_nested()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._savepoint is not None and self._savepoint.is_active:
                self._savepoint.rollback()
        finally:
            self._savepoint = None
            self._conn = None
            self._stores.clear()

    def commit(self) -> None:
        if self._atomic_depth:
            return
        assert self._savepoint is not None, "unit of work used outside its `with` block"
        self._savepoint.commit()
        self.committed = True
        self._savepoint = self.conn.begin_nested()

    def rollback(self) -> None:
        assert self._savepoint is not None, "unit of work used outside its `with` block"
        self._savepoint.rollback()
        self._savepoint = self.conn.begin_nested()


NewUow = Callable[[], SqlUnitOfWork]
Job = Callable[[NewUow], T]


@dataclass(frozen=True)
class Grouped(Generic[T]):
    """A job that runs with its batch neighbours of the same `key`: `run_all(new_uow, items)` gets
    the `item` of each (in arrival order) and returns, for each, its result or the exception to
    hand to its caller. `alone` is the same job by itself, for a batch of one or after `run_all` raised."""

    key: Hashable
    item: Any
    run_all: Callable[[NewUow, Sequence[Any]], Sequence[T | BaseException]]
    alone: Job[T]


@dataclass
class _Pending(Generic[T]):
    job: Job[T] | Grouped[T]
    future: Future[T] = field(default_factory=Future)
    result: T | None = None
    error: BaseException | None = None


class GroupCommit:
    """One writer thread per process (per engine) that commits queued jobs in batches.

    `run(job)` blocks the calling thread until the job's batch is durable and returns the job's
    result, or raises its error (or the batch's commit error)."""

    def __init__(self, new_uow: Callable[[], SqlUnitOfWork], *, max_batch: int = MAX_BATCH,
                 linger_ms: float = LINGER_MS, name: str = "group-commit") -> None:
        self._new_uow = new_uow
        self.max_batch = max(1, max_batch)
        self.linger_s = max(0.0, linger_ms) / 1000
        self._queue: queue.SimpleQueue[_Pending[Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._start_lock = threading.Lock()
        self._started = False
        self._stopped = False
        self.batches = 0  # counters, for tests and metrics
        self.jobs = 0
        self.grouped = 0  # jobs that ran through a `Grouped.run_all` call of two or more

    def run(self, job: Job[T] | Grouped[T]) -> T:
        """Raises: whatever `job` raised, or the batch's commit error (nothing of the job is durable)."""
        return self.submit(job).result()

    def submit(self, job: Job[T] | Grouped[T]) -> Future[T]:
        if self._stopped:
            raise RuntimeError("group commit is stopped")
        self._start()
        pending: _Pending[T] = _Pending(job)
        self._queue.put(pending)
        return pending.future

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish what is queued, then end the writer thread."""
        self._stopped = True
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout_s)

    def _start(self) -> None:
        if not self._started:
            with self._start_lock:
                if not self._started:
                    self._thread.start()
                    self._started = True

    # --- the writer -------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            batch, last = self._collect()
            if batch:
                self._commit_batch(batch)
            if last:
                return

    def _collect(self) -> tuple[list[_Pending[Any]], bool]:
        """The next batch: block for one job, then take what else is queued, lingering briefly."""
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        deadline = time.monotonic() + self.linger_s
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic())) if self.linger_s else \
                    self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _commit_batch(self, batch: list[_Pending[Any]]) -> None:
        try:
            with self._new_uow() as uow:
                for group in _groups(batch):
                    if len(group) > 1 and self._run_group(uow, group):
                        continue
                    for pending in group:
                        self._run_one(uow, pending)
                failpoint("group_commit.before_commit")
                uow.conn.commit()  # not uow.commit(): no next transaction to open
        except BaseException as exc:  # handed to every waiting caller: none is acknowledged
            for pending in batch:
                pending.future.set_exception(exc)
            return
        self.batches += 1
        self.jobs += len(batch)
        for pending in batch:
            if pending.error is not None:
                pending.future.set_exception(pending.error)
            else:
                pending.future.set_result(pending.result)

    @staticmethod
    def _run_one(uow: SqlUnitOfWork, pending: _Pending[Any]) -> None:
        job = pending.job.alone if isinstance(pending.job, Grouped) else pending.job
        try:
            with _savepoint(uow):
                pending.result = job(lambda: SavepointUnitOfWork(uow))
        except Exception as exc:  # the job's own failure, for its caller alone
            pending.error = exc

    def _run_group(self, uow: SqlUnitOfWork, group: list[_Pending[Any]]) -> bool:
        """Run a group in one `run_all` call; False (nothing of it kept) when that call raised."""
        jobs = [p.job for p in group if isinstance(p.job, Grouped)]
        try:
            with _savepoint(uow):
                outcomes = list(jobs[0].run_all(lambda: SavepointUnitOfWork(uow), [j.item for j in jobs]))
                if len(outcomes) != len(group):
                    raise AssertionError(f"run_all answered {len(outcomes)} of {len(group)} jobs")
        except Exception:
            return False
        for pending, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                pending.error = outcome
            else:
                pending.result = outcome
        self.grouped += len(group)
        return True


def _groups(batch: list[_Pending[Any]]) -> list[list[_Pending[Any]]]:
    """The batch in arrival order, each `Grouped` job together with the later ones of its key."""
    groups: list[list[_Pending[Any]]] = []
    by_key: dict[Hashable, list[_Pending[Any]]] = {}
    for pending in batch:
        if isinstance(pending.job, Grouped) and _hashable(pending.job.key):
            if pending.job.key in by_key:
                by_key[pending.job.key].append(pending)
                continue
            by_key[pending.job.key] = [pending]
            groups.append(by_key[pending.job.key])
        else:
            groups.append([pending])
    return groups


@contextmanager
def _savepoint(uow: SqlUnitOfWork) -> Iterator[None]:
    """Keep the job's writes if it returns, undo all of them if it raises."""
    nested = uow.conn.begin_nested()
    try:
        yield
    except BaseException:
        if nested.is_active:
            nested.rollback()
        raise
    if nested.is_active:
        nested.commit()




def _hashable(key: object) -> bool:
    try:
        hash(key)
    except TypeError:  # runs alone rather than failing its whole batch
        return False
    return True
