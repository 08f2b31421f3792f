"""R3, Jepsen's bank test scaled for CI: writer threads move random small amounts between 8
accounts (half of them refuse overdraft) while reader threads take snapshots.

Every snapshot has trial balance zero (no `wrong-total`), no guarded account is ever below zero,
refusals are the typed INSUFFICIENT_FUNDS (never a crash), transient database errors are retried
within a limit, and the final ledger verifies. Scaled down from 16 writers x 500 transfers to
keep each backend near 10 s on 2 cores; `R3_TRANSFERS` raises it for a soak.
"""

from __future__ import annotations

import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from yinqi.adapters.db.ledger_store import SqlLedger
from yinqi.adapters.db.ledger_verify import verify
from yinqi.domain.ledger import InsufficientFunds
from yinqi.domain.money import Money

KEY = b"\x33" * 32
ACCOUNTS = [f"acct:{i}" for i in range(8)]
GUARDED = set(ACCOUNTS[:4])
WRITERS, READERS = 12, 2
TRANSFERS = int(os.environ.get("R3_TRANSFERS", "60"))
RETRIES = 5
AT = datetime(2024, 1, 1, tzinfo=UTC)


def _setup(engine: Engine) -> None:
    with engine.connect() as conn, conn.begin():
        led = SqlLedger(conn, hash_key=KEY)
        led.ensure_account(code="equity", currency="EUR", kind="equity")
        for code in ACCOUNTS:
            led.ensure_account(code=code, currency="EUR", kind="asset", allow_overdraft=code not in GUARDED)
            led.post(idempotency_key=f"fund-{code}", postings=[(code, Money(20, "EUR")), ("equity", Money(-20, "EUR"))],
                     memo="opening", actor="setup", at=AT)


def _writer(engine: Engine, wid: int, stats: dict[str, int], lock: threading.Lock) -> None:
    rng = random.Random(wid)
    for i in range(TRANSFERS):
        src, dst = rng.sample(ACCOUNTS, 2)
        amount = Money(rng.randint(1, 5), "EUR")
        outcome = "retries_exhausted"
        for _ in range(RETRIES):
            try:
                with engine.connect() as conn, conn.begin():
                    SqlLedger(conn, hash_key=KEY).post(idempotency_key=f"w{wid}-{i}", memo="transfer", actor="r3",
                                                       at=AT, postings=[(dst, amount), (src, -amount)])
                outcome = "ok"
                break
            except InsufficientFunds:
                outcome = "insufficient"
                break
            except OperationalError:
                outcome = "retried"
        with lock:
            stats[outcome] = stats.get(outcome, 0) + 1


def _snapshot(engine: Engine) -> tuple[int, dict[str, int], int]:
    with engine.connect() as conn:  # each figure is one statement, so one consistent snapshot
        balances = dict(conn.execute(text("SELECT account_code, balance_minor FROM ledger_balances")).all())
        trial = conn.execute(text("SELECT coalesce(sum(amount_minor), 0) FROM ledger_postings")).scalar_one()
        conn.rollback()
    return int(sum(balances.values())), {k: int(v) for k, v in balances.items()}, int(trial)


def _reader(engine: Engine, done: threading.Event, bad: list[str], count: list[int]) -> None:
    while not done.is_set():
        total, balances, trial = _snapshot(engine)
        count[0] += 1
        if total != 0 or trial != 0:
            bad.append(f"wrong-total: balances {total}, postings {trial}")
        bad.extend(f"{a} below zero: {balances[a]}" for a in GUARDED if balances.get(a, 0) < 0)
        done.wait(0.02)


def test_concurrent_transfers_never_create_money_or_overdraw_guarded_accounts(engine: Engine) -> None:
    _setup(engine)
    stats: dict[str, int] = {}
    lock, done = threading.Lock(), threading.Event()
    bad: list[str] = []
    reads = [0]
    with ThreadPoolExecutor(WRITERS + READERS) as pool:
        readers = [pool.submit(_reader, engine, done, bad, reads) for _ in range(READERS)]
        writers = [pool.submit(_writer, engine, w, stats, lock) for w in range(WRITERS)]
        for f in writers:
            f.result()
        done.set()
        for f in readers:
            f.result()
    assert not bad, bad[:5]
    assert reads[0] > 0 and stats.get("retries_exhausted", 0) == 0, stats
    assert stats.get("insufficient", 0) > 0, stats  # the guard was exercised, not just never reached
    assert stats.get("ok", 0) + stats.get("insufficient", 0) == WRITERS * TRANSFERS
    total, balances, trial = _snapshot(engine)
    assert total == 0 and trial == 0 and all(balances[a] >= 0 for a in GUARDED)
    assert verify(engine, hash_key=KEY).ok
