"""R1: crash while posting a batch, restart, re-drive with the same idempotency keys.

A real subprocess posts 50 entries in group commits of 10 with one ledger failpoint armed
(`nth:<k>:exit`, i.e. os._exit(137) at the k-th batch, like kill -9). After the crash: every entry
is wholly present or wholly absent, no posting is orphaned, the trial balance is zero and verify
passes. Re-driving the same batch then leaves each key mapped to exactly one entry, the committed
ones keeping their sequence numbers, and `yinqi ledger verify` exits 0. CI runs 3 seeds per
failpoint and backend; `make soak` can raise R1_SEEDS.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from yinqi.adapters.crypto.keys import load_or_create_secret
from yinqi.adapters.db.engine import make_engine
from yinqi.adapters.db.ledger_store import SqlLedger, post_batch_durably
from yinqi.adapters.db.ledger_verify import verify
from yinqi.domain.ledger import JournalEntry
from yinqi.domain.money import Money
from yinqi.entrypoints.cli.main import app as cli

ACCOUNTS = [f"acct:{i}" for i in range(6)]
ENTRIES, BATCH = 50, 10
SEEDS = range(int(os.environ.get("R1_SEEDS", "3")))
POINTS = ["ledger.post.before_commit", "ledger.post.after_commit"]


def batch_for(seed: int) -> list[JournalEntry]:
    rng = random.Random(seed)
    out = []
    for i in range(ENTRIES):
        a, b, c = rng.sample(ACCOUNTS, 3)
        x, y = rng.randint(1, 10_000), rng.randint(1, 10_000)
        legs = [(a, x + y), (b, -x), (c, -y)] if rng.random() < 0.3 else [(a, x), (b, -x)]
        out.append(JournalEntry.build(idempotency_key=f"r1-{seed}-{i}", memo=f"batch {seed}", actor="worker",
                                      at=datetime(2024, 1, 1, tzinfo=UTC),
                                      postings=[(acct, Money(m, "EUR")) for acct, m in legs]))
    return out


def drive(url: str, key: bytes, seed: int) -> list[int]:
    entries = batch_for(seed)
    engine = make_engine(url)
    try:
        return [s for i in range(0, ENTRIES, BATCH)
                for s in post_batch_durably(engine, entries[i:i + BATCH], hash_key=key)]
    finally:
        engine.dispose()


def _state(url: str, key: bytes) -> tuple[dict[str, int], list[tuple[int, int]], int, bool]:
    engine = make_engine(url)
    with engine.connect() as conn:
        keys = {k: s for k, s in conn.execute(text("SELECT idempotency_key, seq FROM ledger_entries"))}
        legs = [tuple(r) for r in conn.execute(text(
            "SELECT e.seq, count(p.seq) FROM ledger_entries e LEFT JOIN ledger_postings p ON p.seq = e.seq "
            "GROUP BY e.seq"))]
        orphans = conn.execute(text("SELECT count(*) FROM ledger_postings p WHERE NOT EXISTS "
                                    "(SELECT 1 FROM ledger_entries e WHERE e.seq = p.seq)")).scalar_one()
        trial_ok = all(v == 0 for v in SqlLedger(conn, hash_key=key).trial_balance().values())
    ok = verify(engine, hash_key=key).ok
    engine.dispose()
    return keys, legs, int(orphans), trial_ok and ok  # type: ignore[return-value]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("point", POINTS)
def test_crash_at_a_ledger_failpoint_then_redrive_leaves_each_key_exactly_once(
        db_url: str, tmp_path: Path, point: str, seed: int) -> None:
    home = tmp_path / "home"
    key = load_or_create_secret(home / "keys" / "ledger-hmac.key")
    engine = make_engine(db_url)
    with engine.connect() as conn, conn.begin():
        for code in ACCOUNTS:
            SqlLedger(conn, hash_key=key).ensure_account(code=code, currency="EUR", kind="asset")
    engine.dispose()
    nth = 1 + seed % (ENTRIES // BATCH)
    env = {**os.environ, "YINQI_FAILPOINTS": f"{point}=nth:{nth}:exit", "YINQI_HOME": str(home)}
    proc = subprocess.run([sys.executable, __file__, db_url, str(home), str(seed)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 137, proc.stderr

    keys, legs, orphans, healthy = _state(db_url, key)
    committed = (nth if point.endswith("after_commit") else nth - 1) * BATCH
    assert len(keys) == committed
    assert orphans == 0 and all(n >= 2 for _, n in legs) and healthy

    seqs = drive(db_url, key, seed)  # restart: the same batch, the same keys
    assert sorted(seqs) == list(range(1, ENTRIES + 1))
    assert all(seqs[int(k.rsplit("-", 1)[1])] == s for k, s in keys.items())  # committed ones kept their seq
    keys, legs, orphans, healthy = _state(db_url, key)
    assert len(keys) == ENTRIES and orphans == 0 and healthy
    result = CliRunner().invoke(cli, ["ledger", "verify", "--db", db_url], env={"YINQI_HOME": str(home)})
    assert result.exit_code == 0, result.output


if __name__ == "__main__":  # the crashing worker
    _url, _home, _seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    drive(_url, load_or_create_secret(_home / "keys" / "ledger-hmac.key"), _seed)
    sys.exit(0)
