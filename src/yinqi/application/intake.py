"""Order intake: a batch or a file (CSV, XLSX, pain.001) becomes payment orders, as an import job.

What it guarantees:
- every order goes through `order_batch` (`store_orders` per chunk), the path `create_order`
  takes too, so an imported order obeys exactly the rules of one entered by hand;
- every problem of every row is reported as data (`RowError`: where, field, rule, message),
  never just the first (STYLE rule 5);
- `all-or-nothing` (the default) stores nothing when any row has a problem: every row is checked
  first, including its serial against the database, and only a clean file is stored;
  `accept-valid` stores the valid rows and reports the others; `dry_run` checks everything and
  stores nothing, not even a job row;
- idempotent re-import (R8): a file already imported for the company (same sha256, or the same
  pain.001 MsgId) is a "duplicate file" no-op naming the first job; a row whose serial exists is
  `DUPLICATE_SERIAL` citing the existing order, never a second order;
- orders are written in chunks, one transaction each (their commits deferred by `uow.atomic()`),
  with the job's counters in the same transaction: a crash leaves whole chunks and a job still
  `running`; importing the same file again resumes it, skipping the serials already stored;
- progress is visible while it runs: the job row is updated after every chunk in a short
  transaction of its own, and `on_progress(phase, done, total)` tells the CLI.

A row of a chunk refused for another reason than its own validation (a serial taken by a
concurrent import, insufficient funds ...) is left out by `store_orders` and reported; in
all-or-nothing mode such a failure after earlier chunks were stored ends the job `failed`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from yinqi.application.import_report import (
    AcceptedRow,
    ImportJob,
    ImportMode,
    ImportRefused,
    ImportResult,
    JobStatus,
    OrderFile,
    ProgressCallback,
    Row,
    RowError,
)
from yinqi.application.order_batch import MAX_BATCH_ORDERS, create_orders, store_orders
from yinqi.application.ports import Clock
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Forbidden, Principal
from yinqi.domain.orders.checks import CheckedOrder, check_order
from yinqi.domain.orders.commands import CreateOrder
from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.problems import DomainError, Problem, ValidationFailed

__all__ = [
    "AcceptedRow", "ImportJob", "ImportMode", "ImportRefused", "ImportResult", "JobStatus", "OrderFile",
    "ProgressCallback", "Row", "RowError", "create_batch", "import_orders", "start_job",
]

CHUNK_ROWS = 500


# --- jobs ----------------------------------------------------------------------------------------
def start_job(*, new_uow: Callable[[], Any], clock: Clock, principal: Principal, company_id: str, format: str,
              file_name: str, file_sha256: str, mode: ImportMode) -> str:
    """Create a `running` job row at once (the API answers with its id, the work follows).

    Raises:
        Forbidden (FORBIDDEN): the principal may not import orders for this company.
    """
    _authorise(principal, company_id, Permission.ORDER_IMPORT)
    job = ImportJob(id=str(uuid.uuid4()), company_id=company_id, format=format, file_name=file_name[:255],
                    file_sha256=file_sha256, message_id=None, mode=str(mode), status=JobStatus.RUNNING,
                    created_by=principal.actor_id, created_at=clock.now())
    with new_uow() as uow:
        uow.imports.add(job)
        uow.commit()
    return job.id


def import_orders(*, new_uow: Callable[[], Any], clock: Clock, principal: Principal, file: OrderFile,
                  company_id: str, mode: ImportMode = ImportMode.ALL_OR_NOTHING, dry_run: bool = False,
                  job_id: str | None = None, chunk_rows: int = CHUNK_ROWS,
                  on_progress: ProgressCallback | None = None) -> ImportResult:
    """Import `file` for `company_id` as a job (or, with `dry_run`, only check it).

    Returns the result; `status` is completed, refused (nothing stored), or refused with
    `duplicate_of_job` for a file imported before.

    Raises:
        Forbidden (FORBIDDEN): the principal may not import orders for this company.
    """
    _authorise(principal, company_id, Permission.ORDER_IMPORT)
    run = _Run(new_uow=new_uow, clock=clock, principal=principal, company_id=company_id, mode=mode,
               dry_run=dry_run, chunk_rows=max(1, chunk_rows), on_progress=on_progress, total=file.total,
               names=file.field_names)
    previous = run.previous_jobs(file, exclude=job_id)
    done = next((j for j in previous if j.status == JobStatus.COMPLETED), None)
    if done is not None:
        return run.duplicate(file, done, job_id)
    if file.problems:
        return run.refuse_file(file, job_id)
    run.resuming = any(j.status in (JobStatus.RUNNING, JobStatus.FAILED) for j in previous)
    run.job_id = None if dry_run else (job_id or run.new_job(file))
    if job_id is not None:
        run.describe(file)
    try:
        return run.execute(file.rows)
    except BaseException as exc:
        run.fail(exc)
        raise


def create_batch(*, uow: Any, clock: Clock, principal: Principal, commands: list[CreateOrder],
                 mode: ImportMode = ImportMode.ALL_OR_NOTHING) -> ImportResult:
    """Create up to 10,000 orders of one API request in the caller's transaction (the idempotent
    one): every row is checked first; all-or-nothing stores nothing when any row has a problem.

    Raises:
        ImportRefused (IMPORT_REFUSED): all-or-nothing and some row has a problem (every problem).
        Forbidden (FORBIDDEN): the principal may not create orders for a company in the batch.
        DomainError: a checked row was refused when stored (e.g. a serial taken concurrently).
    """
    if len(commands) > MAX_BATCH_ORDERS:
        raise ValidationFailed([Problem("BATCH_TOO_LARGE", f"a batch holds at most {MAX_BATCH_ORDERS} orders",
                                        where="orders", rule=f"max_{MAX_BATCH_ORDERS}", value=str(len(commands)))])
    require(principal, Permission.ORDER_CREATE)
    for company in sorted({c.company_id for c in commands}):
        _authorise(principal, company, Permission.ORDER_CREATE)
    rows: list[Row] = [(f"orders[{i}]", c) for i, c in enumerate(commands)]
    run = _Run(new_uow=lambda: uow, clock=clock, principal=principal, company_id="", mode=mode, dry_run=False,
               chunk_rows=len(rows) or 1, on_progress=None, total=len(rows), names={}, batch=True)
    checked = run.check(rows, uow)
    result = ImportResult(status=JobStatus.COMPLETED, mode=str(mode), dry_run=False, total=len(rows),
                          errors=checked.errors)
    if checked.errors and mode is ImportMode.ALL_OR_NOTHING:
        raise ImportRefused(f"the batch was refused: {result.rejected} of {len(rows)} orders have problems; "
                            "nothing was stored", [e.as_problem() for e in checked.errors],
                            details={"rejected": result.rejected, "total": len(rows)})
    with uow.atomic():
        created = create_orders(uow=uow, clock=clock, principal=principal,
                                commands=[run.checked.pop(w, c) for w, c in checked.valid])
    result.accepted = [_accepted(where, command, order)
                       for (where, command), order in zip(checked.valid, created, strict=True)]
    uow.commit()
    return result


def _authorise(principal: Principal, company_id: str, permission: Permission) -> None:
    require(principal, permission)
    if not principal.can_see_company(company_id):
        raise Forbidden(f"{principal.actor_id} has no access to company {company_id}", where="company_id",
                        rule="company_granted", value=company_id)


def _accepted(where: str, command: CreateOrder, order: PaymentOrder | None) -> AcceptedRow:
    if order is not None:
        return AcceptedRow(where=where, serial=order.serial.value, end_to_end_id=order.end_to_end_id.value,
                           amount=order.amount.format(), currency=order.amount.currency, order_id=order.id)
    return AcceptedRow(where=where, serial=command.serial.strip(), end_to_end_id=command.end_to_end_id,
                       amount=command.amount.strip(), currency=command.currency.strip().upper())


@dataclass(slots=True)
class _Checked:
    valid: list[tuple[str, CreateOrder]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0


@dataclass(slots=True)
class _Run:
    """One import in progress: checks rows, stores chunks, keeps the job row up to date."""

    new_uow: Callable[[], Any]
    clock: Clock
    principal: Principal
    company_id: str
    mode: ImportMode
    dry_run: bool
    chunk_rows: int
    on_progress: ProgressCallback | None
    total: int
    names: Mapping[str, str]
    job_id: str | None = None
    resuming: bool = False
    batch: bool = False
    seen: dict[str, str] = field(default_factory=dict)   # serial -> where it first appeared
    stored: dict[str, str] = field(default_factory=dict)  # serial -> order id, this run
    checked: dict[str, CheckedOrder] = field(default_factory=dict)  # where -> its command, checked once

    # --- job bookkeeping ------------------------------------------------------------------------
    def previous_jobs(self, file: OrderFile, *, exclude: str | None) -> list[ImportJob]:
        with self.new_uow() as uow:
            jobs = uow.imports.find_same_file(self.company_id, file_sha256=file.sha256, message_id=file.message_id)
        return [j for j in jobs if j.id != exclude]

    def new_job(self, file: OrderFile) -> str:
        job = ImportJob(id=str(uuid.uuid4()), company_id=self.company_id, format=file.format,
                        file_name=file.file_name[:255], file_sha256=file.sha256, message_id=file.message_id,
                        mode=str(self.mode), status=JobStatus.RUNNING, created_by=self.principal.actor_id,
                        created_at=self.clock.now(), total=self.total)
        with self.new_uow() as uow:
            uow.imports.add(job)
            uow.commit()
        return job.id

    def describe(self, file: OrderFile) -> None:
        """Record what reading the file told a job created before the file was read (API upload)."""
        if self.job_id is None:
            return
        with self.new_uow() as uow:
            uow.imports.set_file(self.job_id, format=file.format, message_id=file.message_id, total=file.total)
            uow.commit()

    def finish(self, result: ImportResult, *, processed: int) -> ImportResult:
        result.job_id = self.job_id
        if self.job_id is None:
            return result
        with self.new_uow() as uow:
            uow.imports.finish(self.job_id, status=result.status, total=result.total, processed=processed,
                               accepted=len(result.accepted), rejected=result.rejected, skipped=result.skipped,
                               errors=[e.as_dict() for e in result.errors], message_id=None,
                               duplicate_of_job=result.duplicate_of_job, finished_at=self.clock.now())
            uow.commit()
        return result

    def fail(self, exc: BaseException) -> None:
        if self.job_id is None:
            return
        error = RowError(where="file", field="", rule="unexpected", code=getattr(exc, "code", "INTERNAL_ERROR"),
                         message=str(exc)[:500] if isinstance(exc, DomainError) else "the import stopped unexpectedly")
        with self.new_uow() as uow:
            job = uow.imports.get(self.job_id)
            uow.imports.finish(self.job_id, status=JobStatus.FAILED, total=self.total,
                               processed=job.processed if job else 0, accepted=job.accepted if job else 0,
                               rejected=job.rejected if job else 0, skipped=job.skipped if job else 0,
                               errors=(job.errors if job else []) + [error.as_dict()], message_id=None,
                               duplicate_of_job=None, finished_at=self.clock.now())
            uow.commit()

    def progress(self, phase: str, done: int, **counts: int) -> None:
        """Tell the CLI, and the job row in a short transaction of its own (the console polls it)."""
        if self.job_id is not None:
            with self.new_uow() as short:
                short.imports.progress(self.job_id, phase=phase, processed=done, **counts)
                short.commit()
        if self.on_progress is not None:
            self.on_progress(phase, done, self.total)

    # --- outcomes without rows ------------------------------------------------------------------
    def duplicate(self, file: OrderFile, first: ImportJob, job_id: str | None) -> ImportResult:
        same = "MsgId " + file.message_id if file.message_id and first.message_id == file.message_id else "file"
        error = RowError(where="file", field="message_id" if same != "file" else "file_sha256", rule="duplicate_file",
                         code="DUPLICATE_FILE", value=file.message_id or file.sha256,
                         message=f"this {same} was already imported for {self.company_id} by job {first.id} "
                                 f"({first.created_at:%Y-%m-%d %H:%M}); nothing new was stored")
        result = ImportResult(status=JobStatus.REFUSED, mode=str(self.mode), dry_run=self.dry_run, total=file.total,
                              errors=[error], duplicate_of_job=first.id)
        self.job_id = job_id
        self.describe(file)
        return self.finish(result, processed=0)

    def refuse_file(self, file: OrderFile, job_id: str | None) -> ImportResult:
        errors = [RowError(where=p.where or "file", field="", rule=p.rule, code=p.code, message=p.message,
                           value=p.value) for p in file.problems]
        self.job_id = None if self.dry_run else job_id or self.new_job(file)
        self.describe(file)
        return self.finish(ImportResult(status=JobStatus.REFUSED, mode=str(self.mode), dry_run=self.dry_run,
                                        total=file.total, errors=errors), processed=0)

    # --- the rows -------------------------------------------------------------------------------
    def execute(self, rows: Callable[[], Iterable[Row]]) -> ImportResult:
        result = ImportResult(status=JobStatus.COMPLETED, mode=str(self.mode), dry_run=self.dry_run,
                              total=self.total)
        if self.dry_run or self.mode is ImportMode.ALL_OR_NOTHING:
            checked = self.check_all(rows())
            result.errors, result.skipped = checked.errors, checked.skipped
            if self.dry_run:
                result.accepted = [_accepted(w, c, None) for w, c in checked.valid]
                result.status = JobStatus.REFUSED if checked.errors and self.all_or_nothing else JobStatus.COMPLETED
                return result
            if checked.errors:
                result.status = JobStatus.REFUSED
                return self.finish(result, processed=self.total)
            valid: Iterable[Row] = checked.valid
        else:
            valid = rows()
        self.store_all(valid, result)
        return self.finish(result, processed=self.total)

    @property
    def all_or_nothing(self) -> bool:
        return self.mode is ImportMode.ALL_OR_NOTHING

    @property
    def precheck(self) -> bool:
        """Check the order rules before storing: needed to store nothing (all-or-nothing, dry run,
        a batch in its caller's transaction); in accept-valid `create_order`'s own check suffices."""
        return self.dry_run or self.all_or_nothing or self.batch

    def check_all(self, rows: Iterable[Row]) -> _Checked:
        total = _Checked()
        done = 0
        for chunk in _chunks(rows, self.chunk_rows):
            with self.new_uow() as uow:  # short: SQLite's writers wait for no import
                checked = self.check(chunk, uow)
            total.valid += checked.valid
            total.errors += checked.errors
            total.skipped += checked.skipped
            done += len(chunk)
            self.progress("checking", done, rejected=len({e.where for e in total.errors}))
        return total

    def check(self, chunk: list[Row], uow: Any) -> _Checked:
        """Every problem of these rows, in row order: parsing, the order rules, serials repeated in
        the file or already used in the database (one query for the chunk)."""
        out = _Checked()
        today = self.clock.now().date()
        found: dict[str, list[RowError]] = {}
        candidates: list[tuple[str, CreateOrder]] = []
        for where, parsed in chunk:
            if isinstance(parsed, list):
                found[where] = [self.row_error(where, p) for p in parsed]
                continue
            checked = check_order(parsed, today=today) if self.precheck else None
            problems = checked if isinstance(checked, list) else []
            if isinstance(checked, CheckedOrder):
                self.checked[where] = checked
            repeated = self.repeated(where, parsed)
            found[where] = [self.row_error(where, p) for p in problems] + ([repeated] if repeated else [])
            if not found[where]:
                candidates.append((where, parsed))
        existing = self.existing(uow, [c for _, c in candidates])
        for where, command in candidates:
            order_id = existing.get((command.company_id.strip(), command.serial.strip()))
            if order_id is None:
                out.valid.append((where, command))
            elif self.resuming:
                out.skipped += 1
            else:
                found[where].append(self.duplicate_serial(where, command, order_id))
        out.errors = [e for where, _ in chunk for e in found.get(where, [])]
        return out

    def existing(self, uow: Any, commands: list[CreateOrder]) -> dict[tuple[str, str], str]:
        by_company: dict[str, list[str]] = {}
        for c in commands:
            by_company.setdefault(c.company_id.strip(), []).append(c.serial.strip())
        found: dict[tuple[str, str], str] = {}
        for company, serials in by_company.items():
            found.update({(company, s): oid for s, oid in uow.imports.existing_serials(company, serials).items()})
        return found

    def repeated(self, where: str, command: CreateOrder) -> RowError | None:
        serial = command.serial.strip() if isinstance(command.serial, str) else ""
        first = self.seen.setdefault(serial, where)
        if first == where or not serial:
            return None
        return RowError(where=where, field=self.names.get("serial", "serial"), rule="unique_in_file",
                        code="DUPLICATE_SERIAL", value=serial, existing_order_id=self.stored.get(serial),
                        message=f"serial {serial} repeats {first} of this file")

    def duplicate_serial(self, where: str, command: CreateOrder, order_id: str) -> RowError:
        serial = command.serial.strip()
        return RowError(where=where, field=self.names.get("serial", "serial"), rule="unique_per_company",
                        code="DUPLICATE_SERIAL", value=serial, existing_order_id=order_id,
                        message=f"serial {serial} is already used by payment order {order_id}")

    def row_error(self, where: str, problem: Problem, existing: str | None = None) -> RowError:
        return RowError(where=where, field=self.names.get(problem.where, problem.where), rule=problem.rule,
                        code=problem.code, message=problem.message, value=problem.value, existing_order_id=existing)

    # --- storing ----------------------------------------------------------------------------------
    def store_all(self, rows: Iterable[Row], result: ImportResult) -> None:
        done = 0
        for chunk in _chunks(rows, self.chunk_rows):
            with self.new_uow() as uow:
                if self.all_or_nothing:
                    valid, errors, skipped = [(w, c) for w, c in chunk if isinstance(c, CreateOrder)], [], 0
                else:
                    checked = self.check(chunk, uow)
                    valid, errors, skipped = checked.valid, checked.errors, checked.skipped
                accepted, failed = self.store_chunk(uow, valid)
                result.accepted += accepted
                result.errors += errors + failed
                result.skipped += skipped
                done += len(chunk)
                if self.job_id is not None:  # the counters commit with the chunk they count
                    uow.imports.progress(self.job_id, phase="storing", processed=done, accepted=len(result.accepted),
                                         rejected=result.rejected, skipped=result.skipped)
                uow.commit()
            if self.on_progress is not None:
                self.on_progress("storing", done, self.total)
            if failed and self.all_or_nothing:
                raise ImportRefused("a checked row could not be stored; the chunks before it were",
                                    [f.as_problem() for f in failed])

    def store_chunk(self, uow: Any, rows: list[tuple[str, CreateOrder]]) -> tuple[list[AcceptedRow], list[RowError]]:
        """Create the chunk's orders in one transaction (`store_orders`); a refused row is reported
        with every problem of its own validation, or the one reason it could not be stored."""
        with uow.atomic():
            outcome = store_orders(uow=uow, clock=self.clock, principal=self.principal,
                                   commands=[self.checked.pop(w, c) for w, c in rows])
        accepted = [_accepted(where, command, order)
                    for (where, command), order in zip(rows, outcome.orders, strict=True) if order is not None]
        failed = [e for index, exc in sorted(outcome.refused.items()) for e in self.refusal(rows[index][0], exc)]
        self.stored.update({a.serial: a.order_id or "" for a in accepted})
        return accepted, failed

    def refusal(self, where: str, exc: DomainError) -> list[RowError]:
        if isinstance(exc, ValidationFailed):
            return [self.row_error(where, p) for p in exc.problems]
        return [self.row_error(where, exc.as_problem(), exc.details.get("existing_order_id"))]


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk

