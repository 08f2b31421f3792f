"""B1 durable ledger posting: hub group commit vs naive ORM (one commit per transfer) vs ceilings
(raw executemany of the same rows, with and without a SHA-256 chain), on SQLite and PostgreSQL.

Workload (BENCHMARKS.md B1, scaled): transfers over `accounts` customer accounts in 3 currencies;
90 % two legs, 10 % three or four legs (fees); 20 % touch one hot settlement account; idempotency
key per transfer; customers are guarded (no overdraft) and pre-funded; HMAC-SHA256 chain; durable
commits (SQLite WAL + synchronous=FULL, PostgreSQL synchronous_commit=on). Sizes: default 50 k
transfers / 10 k accounts (SQLite), 20 k on PostgreSQL; `--quick` 5 k / 1 k. The naive arm runs
2 k transfers (quick 500): it is fsync-bound, so its rate does not depend on size.
PostgreSQL runs when YINQI_BENCH_PG_URL is set.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bench.harness import ArmResult, fresh_database, ratio, report, run_arm
from yinqi.adapters.db.engine import make_engine
from yinqi.adapters.db.ledger_store import post_batch_durably
from yinqi.adapters.db.migrate import upgrade
from yinqi.adapters.db.tables.ledger import ledger_accounts, ledger_balances
from yinqi.domain.ledger import JournalEntry
from yinqi.domain.money import Money

KEY = b"\x5a" * 32
CURRENCIES = ("EUR", "USD", "CNY")
AT = datetime(2024, 1, 1, tzinfo=UTC)
BATCH = 1000
Transfer = tuple[str, list[tuple[str, int, str]]]


def workload(n: int, accounts: int, seed: int = 1) -> list[Transfer]:
    rng = random.Random(seed)
    out: list[Transfer] = []
    for i in range(n):
        cur = CURRENCIES[i % 3]
        a, b = rng.sample(range(accounts), 2)
        src, dst = f"cust:{cur}:{a}", f"cust:{cur}:{b}" if rng.random() >= 0.2 else f"settle:{cur}"
        amt = rng.randint(1, 5000)
        if rng.random() < 0.1:
            fee = rng.randint(1, 50)
            legs = [(dst, amt, cur), (f"fees:{cur}", fee, cur), (src, -(amt + fee), cur)]
            if rng.random() < 0.5:
                legs = [(dst, amt, cur), (f"fees:{cur}", fee, cur), (f"tax:{cur}", 1, cur),
                        (src, -(amt + fee + 1), cur)]
        else:
            legs = [(dst, amt, cur), (src, -amt, cur)]
        out.append((f"t{seed}-{i}", legs))
    return out


def setup(url: str, accounts: int) -> None:
    """Schema, accounts (bulk, untimed) and an opening balance for every guarded customer."""
    engine = make_engine(url)
    upgrade(engine)
    rows = [(f"cust:{c}:{i}", c, "asset", False) for c in CURRENCIES for i in range(accounts)]
    rows += [(f"{k}:{c}", c, kind, True) for c in CURRENCIES
             for k, kind in (("settle", "asset"), ("fees", "income"), ("tax", "liability"), ("equity", "equity"))]
    with engine.begin() as conn:
        conn.execute(insert(ledger_accounts), [{"code": a, "currency": c, "kind": k, "allow_overdraft": o, "name": ""}
                                               for a, c, k, o in rows])
        conn.execute(insert(ledger_balances), [{"account_code": a, "currency": c, "balance_minor": 0}
                                               for a, c, _, _ in rows])
    funding = [JournalEntry.build(idempotency_key=f"open-{a}", memo="opening", actor="bench", at=AT,
                                  postings=[(a, Money(10**9, c)), (f"equity:{c}", Money(-(10**9), c))])
               for a, c, _, o in rows if not o]
    for i in range(0, len(funding), BATCH):
        post_batch_durably(engine, funding[i:i + BATCH], hash_key=KEY)
    engine.dispose()


def hub_arm(url: str, transfers: list[Transfer]) -> float:
    engine = make_engine(url)
    cache: dict[str, Any] = {}
    t0 = time.perf_counter()
    for i in range(0, len(transfers), BATCH):
        entries = [JournalEntry.from_rows(idempotency_key=k, memo="transfer", actor="bench", at=AT, rows=legs)
                   for k, legs in transfers[i:i + BATCH]]
        post_batch_durably(engine, entries, hash_key=KEY, account_cache=cache)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return elapsed


# --- naive: SQLAlchemy ORM, one commit per transfer ----------------------------------------------
class Base(DeclarativeBase):
    pass


class NaiveAccount(Base):
    __tablename__ = "naive_accounts"
    code: Mapped[str] = mapped_column(String(200), primary_key=True)
    balance_minor: Mapped[int] = mapped_column(BigInteger)


class NaiveEntry(Base):
    __tablename__ = "naive_entries"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class NaivePosting(Base):
    __tablename__ = "naive_postings"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("naive_entries.id"))
    account_code: Mapped[str] = mapped_column(ForeignKey("naive_accounts.code"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)


def naive_arm(url: str, transfers: list[Transfer], accounts: int) -> float:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all(NaiveAccount(code=a, balance_minor=10**9 if a.startswith("cust") else 0)
                  for c in CURRENCIES for a in [*(f"cust:{c}:{i}" for i in range(accounts)),
                                                 f"settle:{c}", f"fees:{c}", f"tax:{c}"])
        s.commit()
    prev = bytes(32)
    t0 = time.perf_counter()
    with Session(engine) as s:
        for key, legs in transfers:
            if s.query(NaiveEntry).filter_by(idempotency_key=key).first() is None:
                prev = hashlib.sha256(prev + repr((key, legs)).encode()).digest()
                e = NaiveEntry(idempotency_key=key, hash=prev)
                s.add(e)
                s.flush()
                for a, m, _ in legs:
                    acct = s.get(NaiveAccount, a, with_for_update=True)
                    assert acct is not None
                    acct.balance_minor += m
                    if a.startswith("cust") and acct.balance_minor < 0:
                        raise RuntimeError("overdraft")
                    s.add(NaivePosting(entry_id=e.id, account_code=a, amount_minor=m))
            s.commit()
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return elapsed


# --- ceilings: raw DBAPI executemany (COPY on PostgreSQL) of the same rows, 1,000 per commit --------
def ceiling_arm(url: str, transfers: list[Transfer], *, chain: bool) -> float:
    engine = make_engine(url)
    pg = engine.dialect.name == "postgresql"
    raw: Any = engine.raw_connection()
    dbapi = raw.driver_connection
    cur = dbapi.cursor()
    cur.execute("CREATE TABLE ceil_entries (seq BIGINT PRIMARY KEY, k VARCHAR(200), h BYTEA)" if pg else
                "CREATE TABLE ceil_entries (seq INTEGER PRIMARY KEY, k TEXT, h BLOB)")
    cur.execute("CREATE TABLE ceil_postings (seq BIGINT, idx SMALLINT, account VARCHAR(200), amount BIGINT, "
                "currency VARCHAR(3))")
    dbapi.commit()
    rows = [(i + 1, k, legs) for i, (k, legs) in enumerate(transfers)]
    t0 = time.perf_counter()
    prev = bytes(32)
    for i in range(0, len(rows), BATCH):
        entries, postings = [], []
        for seq, k, legs in rows[i:i + BATCH]:
            if chain:
                prev = hashlib.sha256(prev + seq.to_bytes(8, "big") + repr((k, legs)).encode()).digest()
            entries.append((seq, k, prev))
            postings.extend((seq, j, a, m, c) for j, (a, m, c) in enumerate(legs))
        if not pg:
            cur.execute("BEGIN")
            cur.executemany("INSERT INTO ceil_entries VALUES (?, ?, ?)", entries)
            cur.executemany("INSERT INTO ceil_postings VALUES (?, ?, ?, ?, ?)", postings)
            cur.execute("COMMIT")
        else:
            with cur.copy("COPY ceil_entries FROM STDIN") as cp:
                for r in entries:
                    cp.write_row(r)
            with cur.copy("COPY ceil_postings FROM STDIN") as cp:
                for r in postings:
                    cp.write_row(r)
            dbapi.commit()
    elapsed = time.perf_counter() - t0
    raw.close()
    engine.dispose()
    return elapsed


def bench_backend(backend: str, pg_url: str | None, *, n: int, accounts: int, naive_n: int, runs: int,
                  tmp: str) -> list[ArmResult]:
    transfers = workload(n, accounts)
    postings = sum(len(legs) for _, legs in transfers)

    def fresh(fn: Any, *, with_setup: bool = True, size: int = n) -> Any:
        def arm(_: int) -> tuple[int, float]:
            url, drop = fresh_database(backend, pg_url, tmp)
            try:
                if with_setup:
                    setup(url, accounts)
                return size, fn(url)
            finally:
                drop()
        return arm

    label = backend
    return [
        run_arm(f"{label} hub post_many", fresh(lambda u: hub_arm(u, transfers)), runs=runs, unit="transfers/s",
                note=f"{postings / n:.2f} postings/transfer, batch {BATCH}"),
        run_arm(f"{label} naive ORM", fresh(lambda u: naive_arm(u, transfers[:naive_n], accounts), with_setup=False,
                                            size=naive_n), runs=max(1, runs - 2), unit="transfers/s",
                note="1 commit per transfer"),
        run_arm(f"{label} ceiling executemany", fresh(lambda u: ceiling_arm(u, transfers, chain=False),
                                                      with_setup=False), runs=runs, unit="transfers/s",
                note="COPY" if backend != "sqlite" else "1,000/tx"),
        run_arm(f"{label} ceiling + SHA-256 chain", fresh(lambda u: ceiling_arm(u, transfers, chain=True),
                                                          with_setup=False), runs=runs, unit="transfers/s"),
    ]


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick = bool(getattr(args, "quick", False))
    pg_url = os.environ.get("YINQI_BENCH_PG_URL")
    sizes = {"sqlite": (5_000, 1_000, 500) if quick else (50_000, 10_000, 2_000),
             "postgresql": (5_000, 1_000, 500) if quick else (20_000, 10_000, 2_000)}
    runs = 1 if quick else 3
    arms: list[ArmResult] = []
    ratios: dict[str, float] = {}
    notes = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("YINQI_BENCH_TMP")) as tmp:
        for backend in ("sqlite", "postgresql"):
            if backend == "postgresql" and not pg_url:
                notes.append("PostgreSQL arm skipped: YINQI_BENCH_PG_URL not set")
                continue
            n, accounts, naive_n = sizes[backend]
            got = bench_backend(backend, pg_url, n=n, accounts=accounts, naive_n=naive_n, runs=runs, tmp=tmp)
            arms += got
            hub, naive, ceil, chain = got
            ratios[f"{backend} hub/ceiling+chain"] = ratio(hub, chain)
            ratios[f"{backend} hub/ceiling"] = ratio(hub, ceil)
            ratios[f"{backend} hub/naive"] = ratio(hub, naive)
    meta = {"sizes": sizes, "runs": runs, "batch": BATCH, "quick": quick, "notes": notes,
            "postings_per_transfer_note": "multiply transfers/s by the hub note's postings/transfer"}
    return report("B1_ledger_posting", arms, ratios=ratios, meta=meta)
