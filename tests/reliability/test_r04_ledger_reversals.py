"""R4: N entries, each reversed twice at the same time under different keys. Exactly N reversals
succeed and exactly N fail with ALREADY_REVERSED (the head lock orders them; the UNIQUE constraint
on reverses_seq backs it up), and the trial balance is zero. N=50 for CI (spec: 200)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import Engine

from yinqi.adapters.db.ledger_store import SqlLedger
from yinqi.adapters.db.ledger_verify import verify
from yinqi.domain.ledger import AlreadyReversed, JournalEntry
from yinqi.domain.money import Money

KEY = b"\x44" * 32
N = int(os.environ.get("R4_N", "50"))
AT = datetime(2024, 1, 1, tzinfo=UTC)


def _reverse(engine: Engine, seq: int, attempt: int) -> str:
    try:
        with engine.connect() as conn, conn.begin():
            SqlLedger(conn, hash_key=KEY).reverse(seq=seq, idempotency_key=f"rev-{seq}-{attempt}", actor="r4",
                                                  at=AT, reason="duplicate")
        return "ok"
    except AlreadyReversed:
        return "ALREADY_REVERSED"


def test_concurrent_duplicate_reversals_succeed_exactly_once_each(engine: Engine) -> None:
    with engine.connect() as conn, conn.begin():
        led = SqlLedger(conn, hash_key=KEY)
        led.ensure_account(code="bank", currency="USD", kind="asset")
        led.ensure_account(code="cust", currency="USD", kind="liability")
        seqs = led.post_many([JournalEntry.build(
            idempotency_key=f"e{i}", memo="", actor="r4", at=AT,
            postings=[("bank", Money(i + 1, "USD")), ("cust", Money(-i - 1, "USD"))]) for i in range(N)])
    tasks = [(s, a) for s in seqs for a in (0, 1)]
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda t: _reverse(engine, *t), tasks))
    assert outcomes.count("ok") == N and outcomes.count("ALREADY_REVERSED") == N
    with engine.connect() as conn:
        led = SqlLedger(conn, hash_key=KEY)
        assert led.trial_balance() == {"USD": 0}
        assert led.balance("bank") == Money(0, "USD")
    assert verify(engine, hash_key=KEY).ok
