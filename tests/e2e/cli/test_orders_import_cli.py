"""`yinqi orders import` end to end on a fresh migrated database per backend: the --json report,
dry run, all-or-nothing refusal (exit 1), accept-valid, duplicate file, and the acting user."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from yinqi.entrypoints.cli.main import app

ROOT_PW = "admin password 1234"
PAYER, PAYEE = "DE89370400440532013000", "FR1420041010050500013M02606"
HEADER = "serial;amount;currency;requested_execution_date;payer_name;payer_iban;payee_name;payee_iban;payee_country\n"
Cli = Callable[..., Result]


def row(serial: str, amount: str = "12.34", payee: str = PAYEE) -> str:
    return f"{serial};{amount};EUR;2030-01-15;Acme;{PAYER};Fournisseur;{payee};FR\n"


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


def write(tmp_path: Path, name: str, *rows: str) -> str:
    path = tmp_path / name
    path.write_text(HEADER + "".join(rows), encoding="utf-8-sig")
    return str(path)


def test_import_prints_the_json_report_and_a_second_run_is_a_duplicate_file(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", row("CLI-1"), row("CLI-2", "1000.50"))
    done = cli("orders", "import", path, "--as", "olivia", "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report == {"accepted": 2, "rejected": 0, "errors": [], "orders": [
        {"serial": "CLI-1", "end_to_end_id": report["orders"][0]["end_to_end_id"], "amount": "12.34",
         "currency": "EUR"},
        {"serial": "CLI-2", "end_to_end_id": report["orders"][1]["end_to_end_id"], "amount": "1000.50",
         "currency": "EUR"}]}
    again = cli("orders", "import", path, "--as", "olivia", "--json")
    assert again.exit_code == 1
    duplicate = json.loads(again.stdout)
    assert (duplicate["accepted"], duplicate["rejected"]) == (0, 0) and duplicate["duplicate_of_job"]
    assert duplicate["errors"][0]["rule"] == "duplicate_file"


def test_a_refused_file_exits_1_listing_every_problem_and_stores_nothing(cli: Cli, tmp_path: Path) -> None:
    bad = "FR0020041010050500013M02606"
    path = write(tmp_path, "bad.csv", row("B-1"), row("B-2", payee=bad), row("B-3", "1.234"))
    refused = cli("orders", "import", path, "--as", "olivia", "--json")
    assert refused.exit_code == 1
    report = json.loads(refused.stdout)
    assert (report["accepted"], report["rejected"], report["orders"]) == (0, 2, [])
    assert [(e["where"], e["field"], e["rule"]) for e in report["errors"]] == [
        ("row 3", "payee_iban", "checksum"), ("row 4", "amount", "currency_exponent")]
    dry = cli("orders", "import", path, "--as", "olivia", "--json", "--dry-run", "--mode", "accept-valid")
    assert dry.exit_code == 0 and json.loads(dry.stdout)["accepted"] == 1
    kept = cli("orders", "import", path, "--as", "olivia", "--mode", "accept-valid")
    assert kept.exit_code == 0 and "1 accepted, 2 rejected" in kept.stdout


def test_the_acting_user_must_exist_and_may_import(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "o.csv", row("U-1"))
    for who in ("nobody", "arthur"):  # unknown; an approver may not import
        result = cli("orders", "import", path, "--as", who)
        assert result.exit_code == 2 and "FORBIDDEN" in result.output
