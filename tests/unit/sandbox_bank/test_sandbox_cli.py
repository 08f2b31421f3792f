"""`yinqi sandbox-bank` commands that work offline on the bank's database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from yinqi.entrypoints.cli.main import app

runner = CliRunner()


def test_open_account_then_statement_prints_a_camt053_with_the_opening_balance(tmp_path: Path) -> None:
    opened = runner.invoke(app, ["sandbox-bank", "open-account", "--home", str(tmp_path), "--iban",
                                 "DE89 3704 0044 0532 0130 00", "--currency", "EUR", "--balance", "250.00",
                                 "--name", "Demo"])
    assert opened.exit_code == 0, opened.output
    assert json.loads(opened.stdout)["account"] == "DE89370400440532013000"
    today = datetime.now(UTC).date().isoformat()
    stmt = runner.invoke(app, ["sandbox-bank", "statement", "--home", str(tmp_path), "--account",
                               "DE89370400440532013000", "--date", today])
    assert stmt.exit_code == 0
    assert "camt.053.001.08" in stmt.stdout and '<Amt Ccy="EUR">250.00</Amt>' in stmt.stdout


def test_open_account_refuses_an_iban_with_a_bad_checksum(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sandbox-bank", "open-account", "--home", str(tmp_path), "--iban",
                                 "DE00370400440532013000", "--currency", "EUR", "--name", "Demo"])
    assert result.exit_code == 2 and "SANDBOX_ACCOUNT_INVALID" in result.output


def test_statement_of_an_unknown_account_fails_with_its_code(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sandbox-bank", "statement", "--home", str(tmp_path), "--account", "X1",
                                 "--date", "2026-01-01"])
    assert result.exit_code == 2 and "SANDBOX_ACCOUNT_UNKNOWN" in result.output


def test_serve_refuses_invalid_faults_json_before_starting(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sandbox-bank", "serve", "--home", str(tmp_path), "--faults", '{"reject_rate": 2}'])
    assert result.exit_code == 2 and "--faults" in result.output
