"""`yinqi audit verify` and `yinqi audit list` end to end on a real database: exit codes, JSON and
the rich table, filters, and the refusals a command cannot run past (no key, an unreadable filter)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yinqi.adapters.crypto.keys import load_or_create_secret
from yinqi.adapters.db.engine import make_engine
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application import audit
from yinqi.domain.identity.principal import Channel, Principal, Role

NOW = datetime.now(UTC)
ALICE = Principal(user_id="u-a", username="alice", roles=frozenset({Role.APPROVER}), companies=frozenset(),
                  channel=Channel.CONSOLE, source_address="10.0.0.5")
BOB = Principal(user_id="u-b", username="bob", roles=frozenset({Role.OPERATOR}), companies=frozenset(),
                channel=Channel.API, source_address="10.0.0.6")


def _cli(home: Path, url: str, *args: str) -> tuple[int, str]:
    from yinqi.entrypoints.cli.main import app

    result = CliRunner().invoke(app, ["audit", *args, "--db", url], env={"YINQI_HOME": str(home), "COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.fixture
def home(db_url: str, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    key = load_or_create_secret(home / "keys" / "ledger-hmac.key")
    engine = make_engine(db_url)
    with SqlUnitOfWork(engine, ledger_key=key) as uow:
        audit.record(uow, principal=ALICE, action="order.approve", object_type="order", object_id="o1",
                     at=NOW - timedelta(days=10))
        audit.record(uow, principal=BOB, action="order.create", object_type="order", object_id="o2",
                     at=NOW - timedelta(days=2), after={"amount": "12.34"})
        audit.record(uow, principal=ALICE, action="user.login.failed", object_type="user", object_id="u-a",
                     at=NOW - timedelta(hours=1), outcome="failed", reason="wrong password")
        uow.commit()
    engine.dispose()
    return home


def test_verify_passes_on_an_intact_trail(home: Path, db_url: str) -> None:
    code, out = _cli(home, db_url, "verify")
    assert code == 0 and out.startswith("audit trail OK: 3 events, head "), out


def test_list_filters_and_prints_json(home: Path, db_url: str) -> None:
    code, out = _cli(home, db_url, "list", "--json")
    assert code == 0 and [e["seq"] for e in json.loads(out)] == [3, 2, 1]
    assert [e["seq"] for e in json.loads(_cli(home, db_url, "list", "--actor", "alice", "--json")[1])] == [3, 1]
    assert [e["seq"] for e in json.loads(_cli(home, db_url, "list", "--action", "order.", "--json")[1])] == [2, 1]
    assert [e["seq"] for e in json.loads(_cli(home, db_url, "list", "--object", "o2", "--json")[1])] == [2]
    assert [e["seq"] for e in json.loads(_cli(home, db_url, "list", "--since", "7d", "--json")[1])] == [3, 2]
    assert [e["seq"] for e in json.loads(_cli(home, db_url, "list", "--limit", "1", "--json")[1])] == [3]


def test_list_prints_a_table(home: Path, db_url: str) -> None:
    code, out = _cli(home, db_url, "list", "--outcome", "failed")
    assert code == 0 and "user.login.failed" in out and "wrong password" in out and "order.create" not in out


def test_an_unreadable_filter_or_a_missing_key_exits_2(home: Path, db_url: str, tmp_path: Path) -> None:
    code, out = _cli(home, db_url, "list", "--since", "last tuesday")
    assert code == 2 and "since" in out
    code, _ = _cli(tmp_path / "nowhere", db_url, "verify")
    assert code == 2
