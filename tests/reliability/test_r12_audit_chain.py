"""R12 (the recording part): the audit trail is append-only and hash-chained, `yinqi audit verify`
catches every tamper that bypasses the triggers, and no full account number or secret lands in it.

Each attack drops the guards (SQLite: the triggers; PostgreSQL: `session_replication_role =
replica`), changes the stored trail as someone with database access but not the key would, and must
make `yinqi audit verify` exit 1 naming the first broken seq. The untouched trail exits 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from typer.testing import CliRunner

from yinqi.adapters.crypto.keys import load_or_create_secret
from yinqi.adapters.db.engine import make_engine
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application import audit
from yinqi.domain.identity.principal import Channel, Forbidden, Principal, Role
from yinqi.entrypoints.cli.main import app

N = 12
AT = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
IBAN = "DE89370400440532013000"
WHO = Principal(user_id="u1", username="maker", roles=frozenset({Role.OPERATOR}), companies=frozenset({"ACME"}),
                channel=Channel.CONSOLE, source_address="192.0.2.7")


def _populate(url: str, key: bytes) -> None:
    engine = make_engine(url)
    new = lambda: SqlUnitOfWork(engine, ledger_key=key)  # noqa: E731
    for i in range(N - 1):
        with new() as uow:
            audit.record(uow, principal=WHO, action="beneficiary.change.propose", object_type="beneficiary",
                         object_id=f"b{i}", at=AT + timedelta(seconds=i), before={"iban": IBAN},
                         after={"iban": IBAN, "password": "hunter2", "note": f"to {IBAN}"}, company_id="ACME")
            uow.commit()
    audit.record_refusal(new, principal=WHO, action="order.approve", object_type="order", object_id="o1", at=AT,
                         error=Forbidden(f"payee {IBAN} not approved"))
    engine.dispose()


def _cli(home: Path, url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", *args, "--db", url], env={"YINQI_HOME": str(home)})
    return result.exit_code, result.output


@pytest.fixture
def trail(db_url: str, tmp_path: Path) -> tuple[str, Path]:
    home = tmp_path / "home"
    _populate(db_url, load_or_create_secret(home / "keys" / "ledger-hmac.key"))
    return db_url, home


def _attack(url: str, fn: Callable[[Connection], None]) -> None:
    engine = make_engine(url)
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "sqlite":
            for name in ("audit_events_no_update", "audit_events_no_delete", "audit_chain_head_forward",
                         "audit_chain_head_no_delete"):
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        fn(conn)
    engine.dispose()


def _sql(*statements: str) -> Callable[[Connection], None]:
    def run(c: Connection) -> None:
        for s in statements:
            c.exec_driver_sql(s)
    return run


def swap_rows(c: Connection) -> None:
    cols = "at_utc, object_id, before_json, after_json, prev_hash, hash"
    r4, r5 = (c.exec_driver_sql(f"SELECT {cols} FROM audit_events WHERE seq = {s}").one() for s in (4, 5))
    for seq, row in ((4, r5), (5, r4)):
        c.execute(text(f"UPDATE audit_events SET at_utc=:a, object_id=:b, before_json=:c, after_json=:d, "
                       f"prev_hash=:e, hash=:f WHERE seq = {seq}"), dict(zip("abcdef", row, strict=True)))


def insert_forged(c: Connection) -> None:
    last = bytes(c.exec_driver_sql(f"SELECT hash FROM audit_events WHERE seq = {N}").scalar_one())
    c.execute(text("INSERT INTO audit_events (seq, at_utc, actor_id, actor_channel, source_address, action, "
                   "object_type, object_id, outcome, reason, prev_hash, hash) VALUES (:s, '2030-01-11T00:00:00"
                   ".000000Z', 'mallory', 'api', '', 'order.release', 'order', 'o9', 'success', '', :p, :h)"),
              {"s": N + 1, "p": last, "h": b"\x01" * 32})
    c.execute(text("UPDATE audit_chain_head SET seq = :s, hash = :h"), {"s": N + 1, "h": b"\x01" * 32})


ATTACKS: dict[str, tuple[Callable[[Connection], None], int, str]] = {
    "edit_reason": (_sql(f"UPDATE audit_events SET reason = 'all fine' WHERE seq = {N}"), N, "hash_mismatch"),
    "edit_actor": (_sql("UPDATE audit_events SET actor_id = 'someone_else' WHERE seq = 3"), 3, "hash_mismatch"),
    "edit_outcome": (_sql(f"UPDATE audit_events SET outcome = 'success' WHERE seq = {N}"), N, "hash_mismatch"),
    "edit_time": (_sql("UPDATE audit_events SET at_utc = '2030-01-09T09:00:00.000000Z' WHERE seq = 2"), 2,
                  "hash_mismatch"),
    "edit_after": (_sql("UPDATE audit_events SET after_json = '{\"iban\":\"x\"}' WHERE seq = 6"), 6, "hash_mismatch"),
    "unreadable_after": (_sql("UPDATE audit_events SET after_json = 'not json' WHERE seq = 6"), 6, "hash_mismatch"),
    "unreadable_time": (_sql("UPDATE audit_events SET at_utc = 'yesterday' WHERE seq = 7"), 7, "hash_mismatch"),
    "delete_middle": (_sql("DELETE FROM audit_events WHERE seq = 5"), 5, "sequence_gap"),
    "delete_tail": (_sql(f"DELETE FROM audit_events WHERE seq >= {N - 2}"), N - 2, "truncated"),
    "swap_rows": (swap_rows, 4, "broken_link"),
    "insert_forged": (insert_forged, N + 1, "hash_mismatch"),
}


def test_the_untouched_trail_verifies_and_lists(trail: tuple[str, Path]) -> None:
    url, home = trail
    code, out = _cli(home, url, "verify", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["ok"] and report["count"] == N and report["first_problem"] is None


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_each_attack_fails_verify_naming_the_first_broken_seq(attack: str, trail: tuple[str, Path]) -> None:
    url, home = trail
    fn, seq, kind = ATTACKS[attack]
    _attack(url, fn)
    code, out = _cli(home, url, "verify", "--json")
    assert code == 1, out
    assert json.loads(out)["first_problem"]["seq"] == seq and json.loads(out)["first_problem"]["kind"] == kind
    code, text_out = _cli(home, url, "verify")
    assert code == 1 and f"BROKEN at seq {seq}" in text_out


def test_no_full_account_number_or_password_is_stored(trail: tuple[str, Path]) -> None:
    url, _ = trail
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM audit_events").all()
    engine.dispose()
    dump = " ".join(str(v) for row in rows for v in row)
    assert len(rows) == N and IBAN not in dump and "hunter2" not in dump and "DE89**************3000" in dump
