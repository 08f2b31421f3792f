"""B6 order intake, the intake half: a file of orders → validated, de-duplicated PENDING_APPROVAL
orders with their events, approval plan, audit event and outbox row, durably committed.

Workload (BENCHMARKS.md B6, intake half): 100,000 orders (`--quick` 10,000) from CSV and from one
pain.001.001.09 (1,000 transactions per PmtInf), generated here, over 5,000 counterparties (payee
IBANs) and one payer account; all-or-nothing mode (every row checked first, then stored in chunks
of 500 per transaction), on SQLite (WAL, synchronous FULL) and PostgreSQL.

Arms, side by side in one run:
- hub: `application.intake.import_orders` on the parsed file (parse and all included): chunks of
  500 rows through `order_batch.store_orders`, one multi-row INSERT per table and one commit each;
- naive: the same orders one transaction each through `orders.create_order` (the same stage
  code, a batch of one: what N API calls cost without HTTP), 2,000 orders (quick 500);
- peer: plain lxml parse of the same pain.001, reading every transaction's fields (what a
  parse-only ERP tool such as sepaxml's reader side can do), and csv.DictReader for the CSV;
- ceiling: our own parse and mapping to commands (`read_order_file` + rows), no database.
Ratios: hub/naive and hub/ceiling. Targets: ≥ 5,000 orders/s SQLite, ≥ 3,000 PostgreSQL.

Stage breakdown (BENCHMARKS.md: no stage > 40 % of wall time): one more hub import per backend
(CSV, quick size) with the stage functions wrapped by `StageClock`, which books each call's own
time (its callees' time goes to their stages) to parse, validate, events, holds, plan, encrypt,
audit seal, insert, commit; the rest is "other". From the shares, the Amdahl bound of each stage
(1 / share × rate: the rate if everything else took no time) shows what limits the rate.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from lxml import etree
from rich.console import Console
from rich.table import Table
from schwifty import IBAN

from bench.harness import ArmResult, fresh_database, ratio, report, run_arm
from yinqi.adapters.crypto.field_encryption import FieldKeyring
from yinqi.adapters.db.engine import make_engine
from yinqi.adapters.db.migrate import upgrade
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.adapters.files import read_order_file
from yinqi.application import orders
from yinqi.application.intake import import_orders
from yinqi.domain.identity.principal import Channel, Principal, Role
from yinqi.domain.orders.commands import CreateOrder

PAYER = "DE89370400440532013000"
COUNTERPARTIES = 5_000
KEY = b"\x5a" * 32
AT = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
OPERATOR = Principal(user_id="u-bench", username="bench", roles=frozenset({Role.OPERATOR}),
                     companies=frozenset({"ACME"}), channel=Channel.CLI)
NS = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"


class Clock:
    def now(self) -> datetime:
        return AT


def payees(n: int = COUNTERPARTIES) -> list[str]:
    return [str(IBAN.generate("DE", bank_code="37040044", account_code=f"{10_000_000 + i}")) for i in range(n)]


def amounts(n: int) -> list[str]:
    return [f"{(i * 7919) % 99_999 + 1}.{i % 100:02d}" for i in range(n)]


def csv_bytes(n: int, ibans: list[str]) -> bytes:
    out = io.StringIO()
    out.write("serial,amount,currency,requested_execution_date,payer_name,payer_iban,payee_name,payee_iban,"
              "payee_country,remittance_info\n")
    for i, amount in enumerate(amounts(n)):
        p = i % len(ibans)
        out.write(f"CSV-{i:07d},{amount},EUR,2030-01-15,Acme GmbH,{PAYER},Payee {p},{ibans[p]},DE,Invoice {i}\n")
    return out.getvalue().encode()


def pain001_bytes(n: int, ibans: list[str], per_pmtinf: int = 1_000) -> bytes:
    values = amounts(n)
    total = sum((_dec(a) for a in values), start=_dec("0"))
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NS}"><CstmrCdtTrfInitn><GrpHdr>'
             f"<MsgId>BENCH-{n}</MsgId><CreDtTm>2030-01-10T08:00:00</CreDtTm><NbOfTxs>{n}</NbOfTxs>"
             f"<CtrlSum>{total}</CtrlSum><InitgPty><Nm>Acme GmbH</Nm></InitgPty></GrpHdr>"]
    for start in range(0, n, per_pmtinf):
        chunk = values[start:start + per_pmtinf]
        parts.append(f"<PmtInf><PmtInfId>PI-{start}</PmtInfId><PmtMtd>TRF</PmtMtd><NbOfTxs>{len(chunk)}</NbOfTxs>"
                     f"<ReqdExctnDt><Dt>2030-01-15</Dt></ReqdExctnDt><Dbtr><Nm>Acme GmbH</Nm></Dbtr>"
                     f"<DbtrAcct><Id><IBAN>{PAYER}</IBAN></Id><Ccy>EUR</Ccy></DbtrAcct>"
                     f"<DbtrAgt><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></DbtrAgt>")
        for k, amount in enumerate(chunk):
            i = start + k
            p = i % len(ibans)
            parts.append(f"<CdtTrfTxInf><PmtId><EndToEndId>P1-{i:07d}</EndToEndId></PmtId>"
                         f'<Amt><InstdAmt Ccy="EUR">{amount}</InstdAmt></Amt><Cdtr><Nm>Payee {p}</Nm></Cdtr>'
                         f"<CdtrAcct><Id><IBAN>{ibans[p]}</IBAN></Id></CdtrAcct>"
                         f"<RmtInf><Ustrd>Invoice {i}</Ustrd></RmtInf></CdtTrfTxInf>")
        parts.append("</PmtInf>")
    parts.append("</CstmrCdtTrfInitn></Document>")
    return "".join(parts).encode()


def _dec(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


# --- arms ------------------------------------------------------------------------------------------
def fresh_hub(backend: str, pg_url: str | None, tmp: str) -> tuple[Any, Any]:
    url, drop = fresh_database(backend, pg_url, tmp)
    engine = make_engine(url)
    upgrade(engine)
    vault = FieldKeyring(tempfile.mkdtemp(dir=tmp))

    def new_uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, ledger_key=KEY, vault=vault)

    def close() -> None:
        engine.dispose()
        drop()

    return new_uow, close


def hub_arm(backend: str, pg_url: str | None, tmp: str, data: bytes, name: str, n: int) -> Any:
    def arm(_: int) -> tuple[int, float]:
        new_uow, close = fresh_hub(backend, pg_url, tmp)
        try:
            t0 = time.perf_counter()
            parsed = read_order_file(data, file_name=name, company_id="ACME")
            result = import_orders(new_uow=new_uow, clock=Clock(), principal=OPERATOR, file=parsed, company_id="ACME")
            elapsed = time.perf_counter() - t0
            assert result.status == "completed" and len(result.accepted) == n, (result.status, result.errors[:3])
            return n, elapsed
        finally:
            close()
    return arm


def naive_arm(backend: str, pg_url: str | None, tmp: str, data: bytes, n: int) -> Any:
    def arm(_: int) -> tuple[int, float]:
        new_uow, close = fresh_hub(backend, pg_url, tmp)
        commands = [c for _, c in read_order_file(data, file_name="n.csv", company_id="ACME").rows()][:n]
        try:
            t0 = time.perf_counter()
            for command in commands:
                assert isinstance(command, CreateOrder)
                with new_uow() as uow:
                    orders.create_order(uow=uow, clock=Clock(), principal=OPERATOR, command=command)
            return n, time.perf_counter() - t0
        finally:
            close()
    return arm


def ceiling_arm(data: bytes, name: str, n: int) -> Any:
    def arm(_: int) -> tuple[int, float]:
        t0 = time.perf_counter()
        parsed = read_order_file(data, file_name=name, company_id="ACME")
        count = sum(1 for _, c in parsed.rows() if isinstance(c, CreateOrder))
        assert count == n
        return n, time.perf_counter() - t0
    return arm


def peer_pain001_arm(data: bytes, n: int) -> Any:
    def arm(_: int) -> tuple[int, float]:
        t0 = time.perf_counter()
        root = etree.fromstring(data)
        q = f"{{{NS}}}"
        found = [(tx.findtext(f"{q}PmtId/{q}EndToEndId"), tx.find(f"{q}Amt/{q}InstdAmt").text,
                  tx.findtext(f"{q}Cdtr/{q}Nm"), tx.findtext(f"{q}CdtrAcct/{q}Id/{q}IBAN"))
                 for tx in root.iter(f"{q}CdtTrfTxInf")]
        assert len(found) == n
        return n, time.perf_counter() - t0
    return arm


def peer_csv_arm(data: bytes, n: int) -> Any:
    def arm(_: int) -> tuple[int, float]:
        t0 = time.perf_counter()
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
        assert len(rows) == n
        return n, time.perf_counter() - t0
    return arm


# --- stage breakdown -------------------------------------------------------------------------------
class StageClock:
    """Wraps functions and methods to book their own time (minus wrapped callees) per stage."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self._stack: list[float] = []
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, name: str, stage: str) -> None:
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)

        def timed(*a: Any, **k: Any) -> Any:
            start = time.perf_counter()
            self._stack.append(0.0)
            try:
                return original(*a, **k)
            finally:
                inner, spent = self._stack.pop(), time.perf_counter() - start
                self.totals[stage] = self.totals.get(stage, 0.0) + spent - inner
                if self._stack:
                    self._stack[-1] += spent
        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


def stage_clock() -> StageClock:
    from yinqi.adapters.db import approval_store, audit_store, beneficiary_store, order_repository, outbox_store, uow
    from yinqi.adapters.files import orders_csv
    from yinqi.application import holds, intake, order_batch
    from yinqi.domain.orders.order import PaymentOrder

    clock = StageClock()
    for owner, name, stage in [
        (orders_csv, "command_from_cells", "parse (row → command)"),
        (intake, "check_order", "validate (check pass)"),
        (order_batch, "build_order", "validate (build)"), (PaymentOrder, "created", "events"),
        (PaymentOrder, "move_to", "events"), (holds.HoldFinder, "__init__", "holds"),
        (holds.HoldFinder, "holds", "holds"), (order_batch, "make_plan", "plan"),
        (order_batch.approval_policy, "keyed_digest", "plan"), (FieldKeyring, "seal", "encrypt"),
        (FieldKeyring, "blind_index", "encrypt"), (audit_store, "seal", "audit seal"),
        (order_repository.SqlOrderRepository, "add_many", "insert"),
        (order_repository.SqlOrderRepository, "serials_in_use", "insert"),
        (order_repository.SqlOrderRepository, "end_to_end_ids_in_use", "insert"),
        (order_repository.SqlOrderRepository, "get", "insert"),
        (beneficiary_store.SqlBeneficiaryStore, "find_for_payees", "insert"),
        (approval_store.SqlApprovalStore, "add_plans", "insert"), (audit_store.SqlAuditStore, "append_many", "insert"),
        (outbox_store.SqlOutbox, "add_many", "insert"), (uow.SqlUnitOfWork, "commit", "commit"),
    ]:
        clock.wrap(owner, name, stage)
    return clock


def stage_breakdown(backend: str, pg_url: str | None, tmp: str, data: bytes, n: int) -> dict[str, Any]:
    new_uow, close = fresh_hub(backend, pg_url, tmp)
    clock = stage_clock()
    try:
        t0 = time.perf_counter()
        parsed = read_order_file(data, file_name="b6.csv", company_id="ACME")
        result = import_orders(new_uow=new_uow, clock=Clock(), principal=OPERATOR, file=parsed, company_id="ACME")
        wall = time.perf_counter() - t0
        assert result.status == "completed" and len(result.accepted) == n
    finally:
        clock.restore()
        close()
    stages = {**clock.totals, "other": wall - sum(clock.totals.values())}
    rate = n / wall
    shares = {k: v / wall for k, v in sorted(stages.items(), key=lambda kv: -kv[1])}
    table = Table(title=f"B6 stage breakdown, {backend}, {n:,} CSV orders, {rate:,.0f} orders/s instrumented")
    for col in ("stage", "seconds", "share", "µs/order", "Amdahl bound orders/s"):
        table.add_column(col)
    for k, share in shares.items():
        table.add_row(k, f"{stages[k]:.2f}", f"{share:.1%}", f"{stages[k] / n * 1e6:.0f}",
                      f"{rate / share:,.0f}" if share > 0 else "-")
    Console().print(table)
    return {"backend": backend, "orders": n, "wall_s": wall, "rate": rate, "seconds": stages, "shares": shares,
            "largest": max(shares, key=lambda k: shares[k])}


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick = bool(getattr(args, "quick", False))
    n, naive_n = (10_000, 500) if quick else (100_000, 2_000)
    pg_url = os.environ.get("YINQI_BENCH_PG_URL")
    ibans = payees()
    files = {"csv": csv_bytes(n, ibans), "pain001": pain001_bytes(n, ibans)}
    arms: list[ArmResult] = []
    ratios: dict[str, float] = {}
    notes: list[str] = []
    breakdowns: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("YINQI_BENCH_TMP")) as tmp:
        ceilings = {fmt: run_arm(f"ceiling parse+map {fmt}", ceiling_arm(data, f"b6.{_ext(fmt)}", n), runs=3,
                                 unit="orders/s", note="read_order_file + rows, no database")
                    for fmt, data in files.items()}
        peers = {"csv": run_arm("peer csv.DictReader", peer_csv_arm(files["csv"], n), runs=3, unit="orders/s"),
                 "pain001": run_arm("peer lxml parse-only", peer_pain001_arm(files["pain001"], n), runs=3,
                                    unit="orders/s", note="no XSD, no checks")}
        arms += [*ceilings.values(), *peers.values()]
        for backend in ("sqlite", "postgresql"):
            if backend == "postgresql" and not pg_url:
                notes.append("PostgreSQL arms skipped: YINQI_BENCH_PG_URL not set")
                continue
            breakdowns.append(stage_breakdown(backend, pg_url, tmp, csv_bytes(min(n, 10_000), ibans), min(n, 10_000)))
            naive = run_arm(f"{backend} naive create_order", naive_arm(backend, pg_url, tmp, files["csv"], naive_n),
                            runs=1, warmup=0, unit="orders/s", note="1 transaction per order")
            arms.append(naive)
            for fmt, data in files.items():
                hub = run_arm(f"{backend} hub import {fmt}", hub_arm(backend, pg_url, tmp, data, f"b6.{_ext(fmt)}", n),
                              runs=1, warmup=0, unit="orders/s", note="all-or-nothing, chunks of 500")
                arms.append(hub)
                ratios[f"{backend} {fmt} hub/naive"] = ratio(hub, naive)
                ratios[f"{backend} {fmt} hub/ceiling"] = ratio(hub, ceilings[fmt])
                ratios[f"{backend} {fmt} hub/peer"] = ratio(hub, peers[fmt])
    meta = {"stages": breakdowns,
            "orders": n, "naive_orders": naive_n, "counterparties": COUNTERPARTIES, "quick": quick, "notes": notes,
            "targets": {"sqlite": 5_000, "postgresql": 3_000}}
    return report("B6_intake", arms, ratios=ratios, meta=meta)


def _ext(fmt: str) -> str:
    return "xml" if fmt == "pain001" else fmt
