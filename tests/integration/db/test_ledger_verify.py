"""ledger_verify on real SQLite and PostgreSQL: a clean ledger verifies, checkpoints are signed and
checked, and any single-row tamper (hypothesis-chosen table, row, column and mutation) is caught."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from yinqi.adapters.db.ledger_store import SqlLedger
from yinqi.adapters.db.ledger_verify import CheckpointMismatch, verify, write_checkpoint
from yinqi.domain.money import Money

KEY = b"\x11" * 32
AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
SIGNER = Ed25519PrivateKey.from_private_bytes(b"\x22" * 32)


def populate(engine: Engine, n: int = 30) -> None:
    """n entries over CNY and EUR accounts, with metadata, non-ASCII memos and one reversal."""
    with engine.connect() as conn, conn.begin():
        led = SqlLedger(conn, hash_key=KEY)
        for code, cur, kind, od in [("bank:cny", "CNY", "asset", True), ("cust:1", "CNY", "liability", False),
                                    ("cust:2", "CNY", "liability", False), ("bank:eur", "EUR", "asset", True),
                                    ("cust:3", "EUR", "liability", True)]:
            led.ensure_account(code=code, currency=cur, kind=kind, allow_overdraft=od)
        for i in range(n - 1):
            cur, bank, cust = (("CNY", "bank:cny", f"cust:{1 + i % 2}") if i % 3 else ("EUR", "bank:eur", "cust:3"))
            m = Money(100 + i, cur)
            led.post(idempotency_key=f"e{i}", postings=[(bank, m), (cust, -m)], memo=f"dépôt {i}", actor="ops",
                     at=AT, metadata={"i": i, "note": "银企直联"})
        led.reverse(seq=2, idempotency_key="rev-2", actor="ops", at=AT, reason="wrong amount")


def disable_guards(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        for t in ("entries", "postings"):
            for op in ("update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER ledger_{t}_no_{op}")
    else:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")


def test_a_clean_ledger_verifies_with_counts(engine: Engine, tmp_path: Path) -> None:
    populate(engine)
    cps = tmp_path / "cp.jsonl"
    cp = write_checkpoint(engine, checkpoints_path=cps, signing_key=SIGNER, at=AT)
    report = verify(engine, hash_key=KEY, checkpoints_path=cps, checkpoint_key=SIGNER.public_key())
    assert report.ok, report.problems
    assert (report.entries, report.postings, report.checkpoints_checked, report.head_seq) == (30, 60, 1, 30)
    assert report.head_hash == cp.head_hash.hex()


def test_the_wrong_hash_key_fails_every_entry(engine: Engine) -> None:
    populate(engine, 5)
    report = verify(engine, hash_key=b"\x12" * 32)
    assert not report.ok and report.first_bad_seq == 1 and report.problem_count == 5


def test_a_forged_or_edited_checkpoint_line_is_reported(engine: Engine, tmp_path: Path) -> None:
    populate(engine, 5)
    cps = tmp_path / "cp.jsonl"
    write_checkpoint(engine, checkpoints_path=cps, signing_key=SIGNER, at=AT)
    cps.write_text(cps.read_text().replace('"size":5', '"size":4') + "not json\n")
    report = verify(engine, hash_key=KEY, checkpoints_path=cps, checkpoint_key=SIGNER.public_key())
    assert {p.kind for p in report.problems} == {"checkpoint_signature", "checkpoint_unreadable"}


def test_checkpoints_refuse_to_bless_a_shorter_journal(engine: Engine, tmp_path: Path) -> None:
    populate(engine, 6)
    cps = tmp_path / "cp.jsonl"
    write_checkpoint(engine, checkpoints_path=cps, signing_key=SIGNER, at=AT)
    with engine.connect() as conn, conn.begin():
        disable_guards(conn)
        conn.exec_driver_sql("DELETE FROM ledger_postings WHERE seq = 6")
        conn.exec_driver_sql("DELETE FROM ledger_entries WHERE seq = 6")
        with pytest.raises(CheckpointMismatch):
            write_checkpoint(conn, checkpoints_path=cps, signing_key=SIGNER, at=AT)


TABLES: dict[str, tuple[str, list[str]]] = {
    "ledger_entries": ("seq", ["idempotency_key", "memo", "metadata_json", "actor", "at_utc", "reverses_seq",
                               "prev_hash", "hash", "seq"]),
    "ledger_postings": ("seq, idx", ["account_code", "amount_minor", "currency", "idx", "seq"]),
    "ledger_balances": ("account_code", ["balance_minor"]),
    "ledger_chain_head": ("id", ["seq", "hash"]),
}


def mutate(value: Any, column: str, salt: int) -> Any:
    if isinstance(value, (bytes, memoryview)):
        raw = bytearray(bytes(value))
        raw[salt % len(raw)] ^= 1 << (salt % 8)
        return bytes(raw)
    if column == "currency":
        return "EUR" if value != "EUR" else "CNY"
    if column == "account_code":
        return "cust:2" if value != "cust:2" else "cust:1"
    if column in ("idx", "seq"):
        return value + 1000
    if value is None or isinstance(value, int):
        return (value or 0) + 1 + salt % 5
    if column == "at_utc":
        return value.replace("12:00", "12:01")
    return value + "x" if salt % 2 else "y" + value[1:]


@pytest.fixture
def populated(engine: Engine) -> Engine:
    populate(engine, 12)
    return engine


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st.sampled_from(sorted(TABLES)), row=st.integers(0, 200), col=st.integers(0, 20),
       salt=st.integers(0, 255))
def test_any_single_row_tamper_is_caught(populated: Engine, table: str, row: int, col: int, salt: int) -> None:
    key_cols, columns = TABLES[table]
    column = columns[col % len(columns)]
    with populated.connect() as conn, conn.begin():
        disable_guards(conn)
        rows = conn.execute(text(f"SELECT {key_cols}, {column} FROM {table} ORDER BY {key_cols}")).all()
        target = rows[row % len(rows)]
        keys, value = target[:-1], target[-1]
        where = " AND ".join(f"{k.strip()} = :k{i}" for i, k in enumerate(key_cols.split(",")))
        params = {f"k{i}": v for i, v in enumerate(keys)}
        try:
            with conn.begin_nested():  # a value the database itself refuses is not a tamper
                conn.execute(text(f"UPDATE {table} SET {column} = :v WHERE {where}"),
                             {**params, "v": mutate(value, column, salt)})
        except IntegrityError:
            reject()
        report = verify(conn, hash_key=KEY)
        assert not report.ok, (table, column, keys)
        if table in ("ledger_entries", "ledger_postings") and column not in ("seq", "idx"):
            assert report.first_bad_seq == keys[0]
        conn.rollback()
