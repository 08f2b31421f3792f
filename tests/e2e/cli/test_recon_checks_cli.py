"""`yinqi statements import --json` reports the statement checks, and `yinqi recon checks` lists the
open breaks with their amounts, on every backend; importing the same file again raises nothing new."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from yinqi.entrypoints.cli.main import app

UNBALANCED = "camt/samples/apiome-06-typical-camt053-statement.xml"  # its entries do not add up to CLBD


def test_import_reports_the_break_and_recon_checks_lists_it_once(db_url: str, tmp_path: Path, testdata: Path) -> None:
    runner = CliRunner()
    env = {"YINQI_HOME": str(tmp_path), "YINQI_COMPANY_ID": "ACME", "COLUMNS": "250"}

    def run(*args: str) -> dict:  # type: ignore[type-arg]
        result = runner.invoke(app, [*args, "--db", db_url], env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)  # type: ignore[no-any-return]

    imported = run("statements", "import", str(testdata / UNBALANCED), "--json")
    breaks = [b for c in imported["checks"] for b in c["breaks"]]
    (adds_up,) = [b for b in breaks if b["code"] == "ENTRIES_DO_NOT_ADD_UP"]
    assert adds_up["amount"] not in (None, "0.00") and adds_up["new"] is True
    assert not any(b["code"] == "LEDGER_MISMATCH" for b in breaks)  # the account is not in the ledger: skipped
    assert run("statements", "import", str(testdata / UNBALANCED), "--json")["checks"] == []
    listed = run("recon", "checks", "--json")["breaks"]
    assert [(b["code"], b["amount"]) for b in listed] == [("ENTRIES_DO_NOT_ADD_UP", adds_up["amount"])]
    text = runner.invoke(app, ["recon", "checks", "--db", db_url], env=env)
    assert text.exit_code == 0 and "ENTRIES_DO_NOT_ADD_UP" in text.output and adds_up["amount"] in text.output
