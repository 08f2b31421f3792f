"""`yinqi beneficiaries …` end to end on a fresh migrated database per backend: propose, list with
the pending change (masked for an operator), four eyes on approve, reject, refusals audited."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner, Result

from yinqi.adapters.db.engine import normalise_url
from yinqi.entrypoints.cli.main import app

ROOT_PW = "admin password 1234"
IBAN = "FR1420041010050500013M02606"
NEW_IBAN = "FR7630006000011234567890189"
Cli = Callable[..., Result]


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Cli:
    runner = CliRunner()
    env = {"YINQI_HOME": str(tmp_path), "YINQI_COMPANY_ID": "ACME"}

    def run(family: str, *args: str, stdin: str = "") -> Result:
        return runner.invoke(app, [family, *args, "--db", db_url], input=stdin, env=env)

    assert run("users", "bootstrap-admin", "root", "--company", "ACME", "--company-name", "Acme Trading",
               "--password-stdin", stdin=f"{ROOT_PW}\n").exit_code == 0
    for name, role in (("olivia", "operator"), ("arthur", "approver")):
        created = run("users", "create", name, "--role", role, "--company", "ACME", "--password-stdin", "--as",
                      "root", "--admin-password-stdin", stdin=f"{ROOT_PW}\n{name} long password\n")
        assert created.exit_code == 0, created.output
    return run


def change_id(result: Result) -> str:
    found = re.search(r"proposed change ([0-9a-f\-]{36})", result.output)
    assert found, result.output
    return found.group(1)


def test_propose_list_and_approve_with_four_eyes(cli: Cli, db_url: str) -> None:
    proposed = cli("beneficiaries", "propose", "--as", "olivia", "--name", "Fournisseur SARL", "--iban", IBAN,
                   "--country", "FR", "--town", "Paris")
    assert proposed.exit_code == 0, proposed.output
    change = change_id(proposed)
    listed = json.loads(cli("beneficiaries", "list", "--as", "olivia", "--json").stdout)["items"]
    assert [(b["name"], b["status"], b["account"]["number"]) for b in listed] == [
        ("Fournisseur SARL", "PENDING", "FR14*******************2606")]
    assert listed[0]["pending_change"]["id"] == change
    own = cli("beneficiaries", "approve", change, "--as", "olivia")
    assert own.exit_code == 1 and "FORBIDDEN" in own.output  # an operator may not approve at all
    approved = cli("beneficiaries", "approve", change, "--as", "arthur")
    assert approved.exit_code == 0 and "ACTIVE" in approved.output, approved.output
    engine = create_engine(normalise_url(db_url))
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action, outcome, actor_id FROM audit_events "
                                    "WHERE action LIKE 'beneficiary.%' ORDER BY seq")).all()
    engine.dispose()
    assert [tuple(a) for a in actions] == [("beneficiary.propose", "success", "olivia"),
                                           ("beneficiary.change.approve", "denied", "olivia"),
                                           ("beneficiary.change.approve", "success", "arthur")]


def test_an_account_change_shows_old_and_new_and_can_be_rejected(cli: Cli) -> None:
    first = change_id(cli("beneficiaries", "propose", "--as", "olivia", "--name", "Fournisseur", "--iban", IBAN,
                          "--country", "FR"))
    assert cli("beneficiaries", "approve", first, "--as", "arthur").exit_code == 0
    beneficiary = json.loads(cli("beneficiaries", "list", "--as", "arthur", "--json").stdout)["items"][0]["id"]
    second = change_id(cli("beneficiaries", "propose", "--as", "olivia", "--beneficiary", beneficiary,
                           "--iban", NEW_IBAN, "--reason", "letter"))
    table = cli("beneficiaries", "list", "--as", "olivia")
    assert "FR14*******************2606 → FR76*******************0189" in table.output.replace("\n", "")
    rejected = cli("beneficiaries", "reject", second, "--as", "arthur", "--reason", "call-back failed")
    assert rejected.exit_code == 0 and "FR14*" in rejected.output


def test_an_unknown_user_and_invalid_values_are_refused(cli: Cli) -> None:
    assert cli("beneficiaries", "list", "--as", "nobody").exit_code == 2
    bad = cli("beneficiaries", "propose", "--as", "olivia", "--name", "X", "--iban", "FR00", "--country", "FR")
    assert bad.exit_code == 1 and "account.iban: IBAN_INVALID" in bad.output
