"""B6 order intake, the intake half: a file of orders → validated, de-duplicated PENDING_APPROVAL
orders with their events, approval plan, audit event and outbox row, durably committed.

Workload (BENCHMARKS.md B6, intake half): 100,000 orders (`--quick` 10,000) from CSV and from one
pain.001.001.09 (1,000 transactions per PmtInf), generated here, over 5,000 counterparties (payee
IBANs) and one payer account; all-or-nothing mode (every row checked first, then stored in chunks
of 500 per transaction), on SQLite (WAL, synchronous FULL) and PostgreSQL.

Arms, side by side in one run:
- hub: `application.intake.import_orders` on the parsed file (parse and all included);
- naive: the same orders one transaction each through `orders.create_order` (what N API calls
  cost without HTTP), 2,000 orders (quick 500): fsync-bound, so the rate does not depend on size;
- peer: plain lxml parse of the same pain.001, reading every transaction's fields (what a
  parse-only ERP tool such as sepaxml's reader side can do), and csv.DictReader for the CSV;
- ceiling: our own parse and mapping to commands (`read_order_file` + rows), no database.
Ratios: hub/naive and hub/ceiling. Targets: ≥ 5,000 orders/s SQLite, ≥ 3,000 PostgreSQL.
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


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick = bool(getattr(args, "quick", False))
    n, naive_n = (10_000, 500) if quick else (100_000, 2_000)
    pg_url = os.environ.get("YINQI_BENCH_PG_URL")
    ibans = payees()
    files = {"csv": csv_bytes(n, ibans), "pain001": pain001_bytes(n, ibans)}
    arms: list[ArmResult] = []
    ratios: dict[str, float] = {}
    notes: list[str] = []
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
    meta = {"orders": n, "naive_orders": naive_n, "counterparties": COUNTERPARTIES, "quick": quick, "notes": notes,
            "targets": {"sqlite": 5_000, "postgresql": 3_000}}
    return report("B6_intake", arms, ratios=ratios, meta=meta)


def _ext(fmt: str) -> str:
    return "xml" if fmt == "pain001" else fmt
