"""B2 ledger verify: `ledger_verify.verify` (every HMAC, balance, link, head; checkpoint roots) vs the
same-run ceiling, a raw DBAPI scan of the same joined query with one SHA-256 chained per entry.

Sizes: default 200 k entries (about 430 k postings) on SQLite and 100 k on PostgreSQL; `--quick`
20 k. (The spec's 1 M entries takes minutes to build here; rates are per entry and flat in size.)
Also plants single-row alterations (default 50, quick 10) on a copy and reports the detection rate.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from typing import Any

from bench.b1_ledger_posting import AT, BATCH, KEY, setup, workload
from bench.harness import ArmResult, fresh_database, ratio, report, run_arm
from yinqi.adapters.db.engine import make_engine
from yinqi.adapters.db.ledger_store import post_batch_durably
from yinqi.adapters.db.ledger_verify import _JOURNAL_SQL, verify
from yinqi.domain.ledger import JournalEntry


def build(url: str, n: int) -> None:
    setup(url, 1000)
    engine = make_engine(url)
    cache: dict[str, Any] = {}
    transfers = workload(n, 1000, seed=2)
    for i in range(0, n, BATCH):
        post_batch_durably(engine, [JournalEntry.from_rows(idempotency_key=k, memo="t", actor="bench", at=AT, rows=legs)
                                    for k, legs in transfers[i:i + BATCH]], hash_key=KEY, account_cache=cache)
    engine.dispose()


def ceiling(url: str) -> tuple[int, float]:
    engine = make_engine(url)
    raw: Any = engine.raw_connection()
    pg = engine.dialect.name == "postgresql"
    cur = raw.driver_connection.cursor(name="ceil") if pg else raw.driver_connection.cursor()
    t0 = time.perf_counter()
    cur.execute(_JOURNAL_SQL)
    h, last, n = bytes(32), None, 0
    while rows := cur.fetchmany(5000):
        for row in rows:
            if row[0] != last:
                last, n = row[0], n + 1
                h = hashlib.sha256(h + row[8]).digest()
    elapsed = time.perf_counter() - t0
    cur.close()
    raw.close()
    engine.dispose()
    return n, elapsed


def hub(url: str) -> tuple[int, float]:
    engine = make_engine(url)
    t0 = time.perf_counter()
    r = verify(engine, hash_key=KEY)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    assert r.ok, r.problems[:3]
    return r.entries, elapsed


def detection(url: str, plants: int) -> float:
    """Plant one alteration at a time inside a rolled-back transaction; count how many verify sees."""
    import random

    engine = make_engine(url)
    rng, caught = random.Random(7), 0
    for _ in range(plants):
        with engine.connect() as conn, conn.begin():
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("DROP TRIGGER ledger_postings_no_update")
            else:
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            seq = rng.randint(1, 1000)
            conn.exec_driver_sql(f"UPDATE ledger_postings SET amount_minor = amount_minor + 1 WHERE seq = {seq} "
                                 "AND idx = 0")
            caught += not verify(conn, hash_key=KEY).ok
            conn.rollback()
    engine.dispose()
    return caught / plants


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick = bool(getattr(args, "quick", False))
    pg_url = os.environ.get("YINQI_BENCH_PG_URL")
    sizes = {"sqlite": 20_000 if quick else 200_000, "postgresql": 20_000 if quick else 100_000}
    runs, plants = (1, 3) if quick else (3, 10)
    arms: list[ArmResult] = []
    ratios: dict[str, float] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("YINQI_BENCH_TMP")) as tmp:
        for backend in ("sqlite", "postgresql"):
            if backend == "postgresql" and not pg_url:
                notes.append("PostgreSQL arm skipped: YINQI_BENCH_PG_URL not set")
                continue
            url, drop = fresh_database(backend, pg_url, tmp)
            try:
                build(url, sizes[backend])
                h = run_arm(f"{backend} hub verify", lambda _, u=url: hub(u), runs=runs, unit="entries/s")
                c = run_arm(f"{backend} ceiling scan+SHA-256", lambda _, u=url: ceiling(u), runs=runs,
                            unit="entries/s")
                arms += [h, c]
                ratios[f"{backend} hub/ceiling"] = ratio(h, c)
                ratios[f"{backend} detection rate"] = detection(url, plants)
            finally:
                drop()
    return report("B2_ledger_verify", arms, ratios=ratios,
                  meta={"sizes": sizes, "runs": runs, "plants": plants, "quick": quick, "notes": notes})
