"""R10: on a copy of a checkpointed ledger, apply each attack and run `yinqi ledger verify`.

Every attack must exit non-zero; edit, delete, insert and swap must name the first bad sequence
number; truncating the tail and rewriting the whole chain consistently (an attacker who holds the
HMAC key and fixes balances and the chain head) are caught by the signed checkpoint. The untouched
copy exits 0.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text
from typer.testing import CliRunner

from yinqi.adapters.crypto.keys import load_or_create_secret
from yinqi.adapters.db.engine import make_engine, normalise_url
from yinqi.adapters.db.ledger_store import SqlLedger
from yinqi.domain.ledger.chain import canonical_content, entry_hash
from yinqi.domain.money import Money
from yinqi.entrypoints.cli.main import app

N = 20
AT = datetime(2024, 6, 1, tzinfo=UTC)


def _populate(url: str, key: bytes) -> None:
    engine = make_engine(url)
    with engine.connect() as conn, conn.begin():
        led = SqlLedger(conn, hash_key=key)
        for code, kind, od in [("bank", "asset", True), ("cust:1", "liability", False), ("cust:2", "liability", False)]:
            led.ensure_account(code=code, currency="EUR", kind=kind, allow_overdraft=od)
        for i in range(N - 1):
            m = Money(1000 + i, "EUR")
            led.post(idempotency_key=f"k{i}", postings=[("bank", m), (f"cust:{1 + i % 2}", -m)], memo=f"m{i}",
                     actor="ops", at=AT)
        led.reverse(seq=3, idempotency_key="rev3", actor="ops", at=AT, reason="test")
    engine.dispose()


def _cli(home: Path, url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["ledger", *args, "--db", url], env={"YINQI_HOME": str(home)})
    return result.exit_code, result.output


@pytest.fixture
def checkpointed(db_url: str, tmp_path: Path) -> tuple[str, Path, bytes]:
    home = tmp_path / "home"
    key = load_or_create_secret(home / "keys" / "ledger-hmac.key")
    _populate(db_url, key)
    code, out = _cli(home, db_url, "checkpoint")
    assert code == 0, out
    return db_url, home, key


@pytest.fixture
def copy_of(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Copy a database (SQLite backup API; PostgreSQL CREATE DATABASE … TEMPLATE)."""
    dropped: list[tuple[str, str]] = []

    def make(url: str) -> str:
        if url.startswith("sqlite"):
            target = tmp_path / f"copy-{uuid.uuid4().hex[:6]}.db"
            with sqlite3.connect(url.split("///", 1)[1]) as src, sqlite3.connect(target) as dst:
                src.backup(dst)
            return f"sqlite:///{target}"
        base, name = url.rsplit("/", 1)
        copy = f"{name}_c{uuid.uuid4().hex[:6]}"
        admin = create_engine(normalise_url(f"{base}/postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"'))
        admin.dispose()
        dropped.append((base, copy))
        return f"{base}/{copy}"

    yield make
    for base, copy in dropped:
        admin = create_engine(normalise_url(f"{base}/postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
        admin.dispose()


def _attack(url: str, fn: Callable[[Connection], None]) -> None:
    engine = make_engine(url)
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            for t in ("entries", "postings"):
                for op in ("update", "delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER ledger_{t}_no_{op}")
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        fn(conn)
    engine.dispose()


def change_amount(c: Connection) -> None:
    c.exec_driver_sql("UPDATE ledger_postings SET amount_minor = amount_minor + 1 WHERE seq = 7 AND idx = 0")


def change_account(c: Connection) -> None:
    c.exec_driver_sql("UPDATE ledger_postings SET account_code = 'cust:2' WHERE seq = 9 AND account_code = 'cust:1'")


def delete_row(c: Connection) -> None:
    c.exec_driver_sql("DELETE FROM ledger_postings WHERE seq = 11")
    c.exec_driver_sql("DELETE FROM ledger_entries WHERE seq = 11")


def insert_forged(c: Connection) -> None:
    head = c.exec_driver_sql("SELECT hash FROM ledger_entries WHERE seq = 20").scalar_one()
    c.execute(text("INSERT INTO ledger_entries (seq, idempotency_key, memo, metadata_json, actor, at_utc, "
                   "prev_hash, hash) VALUES (21, 'forged', '', '{}', 'mallory', '2024-06-01T00:00:00.000000Z', "
                   ":p, :h)"), {"p": bytes(head), "h": b"\x00" * 32})
    c.exec_driver_sql("INSERT INTO ledger_postings (seq, idx, account_code, currency, amount_minor) "
                      "VALUES (21, 0, 'cust:1', 'EUR', 500), (21, 1, 'bank', 'EUR', -500)")


def swap_rows(c: Connection) -> None:
    """Swap the contents of entries 5 and 6 (same shape), including their postings."""
    cols = "idempotency_key, memo, metadata_json, actor, at_utc"
    e5, e6 = (c.exec_driver_sql(f"SELECT {cols} FROM ledger_entries WHERE seq = {s}").one() for s in (5, 6))
    for seq in (5, 6):  # free the unique keys first
        c.execute(text(f"UPDATE ledger_entries SET idempotency_key = 'tmp-{seq}' WHERE seq = {seq}"))
    for seq, row in ((5, e6), (6, e5)):
        c.execute(text(f"UPDATE ledger_entries SET idempotency_key=:a, memo=:b, metadata_json=:c, actor=:d, "
                       f"at_utc=:e WHERE seq = {seq}"), dict(zip("abcde", row, strict=True)))
    p5, p6 = (c.exec_driver_sql(f"SELECT idx, account_code, amount_minor FROM ledger_postings WHERE seq = {s} "
                                "ORDER BY idx").all() for s in (5, 6))
    for seq, rows in ((5, p6), (6, p5)):
        for idx, account, amount in rows:
            c.execute(text(f"UPDATE ledger_postings SET account_code = :a, amount_minor = :m "
                           f"WHERE seq = {seq} AND idx = {idx}"), {"a": account, "m": amount})


def _rebalance(c: Connection) -> None:
    c.exec_driver_sql("UPDATE ledger_balances SET balance_minor = (SELECT coalesce(sum(amount_minor), 0) "
                      "FROM ledger_postings p WHERE p.account_code = ledger_balances.account_code)")


def truncate_tail(c: Connection) -> None:
    c.exec_driver_sql("DELETE FROM ledger_postings WHERE seq > 17")
    c.exec_driver_sql("DELETE FROM ledger_entries WHERE seq > 17")
    _rebalance(c)
    head = c.exec_driver_sql("SELECT hash FROM ledger_entries WHERE seq = 17").scalar_one()
    c.execute(text("UPDATE ledger_chain_head SET seq = 17, hash = :h"), {"h": bytes(head)})


def make_rewrite(key: bytes) -> Callable[[Connection], None]:
    """The insider: holds the HMAC key, moves money in entry 4 and re-hashes everything after it."""
    def rewrite(c: Connection) -> None:
        c.exec_driver_sql("UPDATE ledger_postings SET amount_minor = amount_minor * 2 WHERE seq = 4")
        prev = bytes(c.exec_driver_sql("SELECT hash FROM ledger_entries WHERE seq = 3").scalar_one())
        rows = c.exec_driver_sql("SELECT seq, idempotency_key, memo, metadata_json, actor, at_utc, reverses_seq "
                                 "FROM ledger_entries WHERE seq >= 4 ORDER BY seq").all()
        for seq, k, memo, meta, actor, at, rev in rows:
            legs = [tuple(r) for r in c.exec_driver_sql(
                f"SELECT account_code, amount_minor, currency FROM ledger_postings WHERE seq = {seq} ORDER BY idx")]
            content = canonical_content(idempotency_key=k, postings=legs, memo=memo, metadata_json=meta,  # type: ignore[arg-type]
                                        reverses_seq=rev, at_utc=at)
            h = entry_hash(key, prev_hash=prev, seq=seq, content=content, actor=actor)
            c.execute(text(f"UPDATE ledger_entries SET prev_hash = :p, hash = :h WHERE seq = {seq}"),
                      {"p": prev, "h": h})
            prev = h
        c.execute(text("UPDATE ledger_chain_head SET hash = :h"), {"h": prev})
        _rebalance(c)
    return rewrite


ATTACKS = {"change_amount": (change_amount, 7), "change_account": (change_account, 9),
           "delete_row": (delete_row, 11), "insert_forged": (insert_forged, 21), "swap_rows": (swap_rows, 5),
           "truncate_tail": (truncate_tail, 18), "rewrite_chain": (None, 1)}


def test_the_untouched_copy_verifies(checkpointed: tuple[str, Path, bytes],
                                     copy_of: Callable[[str], str]) -> None:
    url, home, _ = checkpointed
    code, out = _cli(home, copy_of(url), "verify")
    assert code == 0, out
    assert f"{N} entries" in out


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_each_attack_fails_verify_naming_the_first_bad_sequence(attack: str, checkpointed: tuple[str, Path, bytes],
                                                               copy_of: Callable[[str], str]) -> None:
    url, home, key = checkpointed
    fn, first_bad = ATTACKS[attack]
    target = copy_of(url)
    _attack(target, fn or make_rewrite(key))
    code, out = _cli(home, target, "verify", "--json")
    assert code == 1, out
    report = json.loads(out)
    assert report["first_bad_seq"] == first_bad, report["problems"]
    kinds = {p["kind"] for p in report["problems"]}
    if attack in ("truncate_tail", "rewrite_chain"):
        assert kinds <= {"checkpoint_truncated", "checkpoint_mismatch"}, kinds  # only the checkpoint sees it
    code, out = _cli(home, target, "verify")
    assert code == 1 and f"first bad sequence number: {first_bad}" in out
    assert _cli(home, url, "verify")[0] == 0  # the original is untouched
