"""`yinqi recon exceptions | match | reject | unmatch | write-off` end to end on a fresh migrated
database per backend: the queue as JSON, a manual 1:N match by a treasurer, an operator refused
(and audited), an unmatch, and a write-off that needs its reason."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from typer.testing import CliRunner, Result

from tests.support.orders import funded_uow_factory
from tests.support.recon import Clock, line, sent_order, store_statement
from yinqi.adapters.crypto.field_encryption import FieldKeyring
from yinqi.adapters.db.engine import normalise_url
from yinqi.entrypoints.cli.main import app

ROOT_PW = "admin password 1234"
CLOCK = Clock()
Cli = Callable[..., Result]


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Cli:
    runner = CliRunner()
    env = {"YINQI_HOME": str(tmp_path), "YINQI_COMPANY_ID": "ACME", "COLUMNS": "250"}

    def run(*args: str, stdin: str = "") -> Result:
        return runner.invoke(app, [*args, "--db", db_url], input=stdin, env=env)

    assert run("users", "bootstrap-admin", "root", "--company", "ACME", "--company-name", "Acme Trading",
               "--password-stdin", stdin=f"{ROOT_PW}\n").exit_code == 0
    for name, role in (("olivia", "operator"), ("tess", "treasurer")):
        created = run("users", "create", name, "--role", role, "--company", "ACME", "--password-stdin", "--as",
                      "root", "--admin-password-stdin", stdin=f"{ROOT_PW}\n{name} long password\n")
        assert created.exit_code == 0, created.output
    return run


@pytest.fixture
def batch(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    new_uow = funded_uow_factory(engine, opening="10000.00", clock=CLOCK,  # type: ignore[arg-type]
                                 vault=FieldKeyring.at_home(tmp_path))
    o1 = sent_order(new_uow, CLOCK, "C-1", "100.00", payee="Alpha Supplies")
    o2 = sent_order(new_uow, CLOCK, "C-2", "40.00", payee="Beta Parts")
    ids = store_statement(new_uow, CLOCK, [line("BR1", "-140.00", text="collective booking", name=None),
                                           line("BR2", "-12.50", text="account fee", name="BANK")])
    return o1, o2, ids


def test_the_queue_as_json_then_a_manual_match_an_unmatch_and_a_write_off(cli: Cli, batch, db_url: str) -> None:  # type: ignore[no-untyped-def]
    o1, o2, (batch_line, fee_line) = batch
    listed = cli("recon", "exceptions", "--as", "tess", "--json")
    assert listed.exit_code == 0, listed.output
    queue = json.loads(listed.stdout)
    assert [x["entry_id"] for x in queue["lines"]] == [batch_line, fee_line]
    assert {x["order_id"] for x in queue["items"]} == {o1.id, o2.id} and queue["groups"] == []

    refused = cli("recon", "match", "--as", "olivia", "--entry", str(batch_line), "--order", o1.id, "--order", o2.id)
    assert refused.exit_code == 1 and "FORBIDDEN" in refused.output
    matched = cli("recon", "match", "--as", "tess", "--entry", str(batch_line), "--order", o1.id, "--order", o2.id,
                  "--reason", "one booking, two invoices")
    assert matched.exit_code == 0 and "manual 1:N" in matched.output, matched.output
    group = re.search(r"match group ([0-9a-f\-]{36})", matched.output)
    assert group

    no_reason = cli("recon", "write-off", "--as", "tess", "--entry", str(fee_line))
    assert no_reason.exit_code == 1 and "RECON_REASON_REQUIRED" in no_reason.output
    written = cli("recon", "write-off", "--as", "tess", "--entry", str(fee_line), "--reason", "account fee Q1")
    assert written.exit_code == 0 and "written_off" in written.output
    unmatched = cli("recon", "unmatch", group.group(1), "--as", "tess", "--reason", "wrong pairing")
    assert unmatched.exit_code == 0 and "unmatched" in unmatched.output

    text_view = cli("recon", "exceptions")
    assert text_view.exit_code == 0 and "unmatched statement lines (1)" in text_view.output
    assert "settled" in text_view.output  # both orders wait for their real line
    engine = create_engine(normalise_url(db_url))
    with engine.connect() as conn:
        actions = [r[0] for r in conn.execute(text(
            "SELECT action || ':' || outcome FROM audit_events WHERE action LIKE 'recon.%' ORDER BY seq"))]
    engine.dispose()
    assert actions == ["recon.match.manual:denied", "recon.match.manual:success", "recon.write_off:denied",
                       "recon.write_off:success", "recon.unmatch:success"]
