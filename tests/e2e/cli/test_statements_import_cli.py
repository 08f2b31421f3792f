"""`yinqi statements import` and MT940 `statements parse` run as the real console script, on a
fresh migrated database per backend (SQLite; PostgreSQL when YINQI_TEST_PG_URL is set)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from yinqi.adapters.db.engine import make_engine
from yinqi.adapters.db.tables.statements import bank_statement_entries, bank_statements

YINQI = Path(sys.executable).with_name("yinqi")
pytestmark = pytest.mark.skipif(not YINQI.exists(), reason="yinqi console script not installed")
SEPA = "mt940/betterplace/sepa_mt9401.sta"


def run(*args: str, home: Path, db_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "YINQI_HOME": str(home)}
    if db_url:
        env["YINQI_DB"] = db_url
    return subprocess.run([str(YINQI), *args], capture_output=True, text=True, timeout=180, check=False, env=env)


def counts(db_url: str) -> tuple[int, int]:
    eng = make_engine(db_url)
    with eng.connect() as conn:
        result = (conn.execute(select(func.count()).select_from(bank_statements)).scalar_one(),
                  conn.execute(select(func.count()).select_from(bank_statement_entries)).scalar_one())
    eng.dispose()
    return result


def test_importing_an_mt940_file_twice_stores_it_once_and_reports_a_duplicate(
        testdata: Path, db_url: str, tmp_path: Path) -> None:
    first = run("statements", "import", str(testdata / SEPA), "--json", home=tmp_path, db_url=db_url)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["format"], summary["statements"], summary["entries_added"]) == ("mt940", 26, 97)
    assert counts(db_url) == (26, 97)
    again = run("statements", "import", str(testdata / SEPA), home=tmp_path, db_url=db_url)
    assert again.returncode == 0 and "duplicate: already imported, nothing changed" in again.stdout
    assert counts(db_url) == (26, 97)


def test_a_camt_file_imports_through_the_same_command(testdata: Path, db_url: str, tmp_path: Path) -> None:
    result = run("statements", "import", str(testdata / "camt/samples/apiome-06-typical-camt053-statement.xml"),
                 "--json", home=tmp_path, db_url=db_url)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["format"].startswith("camt.053") and any("balance_break" in w for w in out["warnings"])


def test_a_statement_with_a_repeated_bank_reference_imports_every_line_once(
        testdata: Path, db_url: str, tmp_path: Path) -> None:
    """cmxl/mt940.sta repeats the bank reference //55555 inside one statement: both lines are real."""
    path = str(testdata / "mt940/cmxl/mt940.sta")
    first = run("statements", "import", path, "--json", home=tmp_path, db_url=db_url)
    assert first.returncode == 0, first.stderr
    stored = counts(db_url)
    again = run("statements", "import", path, "--json", home=tmp_path, db_url=db_url)
    assert again.returncode == 0, again.stderr
    assert counts(db_url) == stored and stored[1] == json.loads(first.stdout)["entries_added"]


def test_a_fragment_is_refused_with_one_line_naming_line_and_tag(testdata: Path, tmp_path: Path) -> None:
    path = testdata / "mt940/cmxl/statement_line.sta"
    result = run("statements", "import", str(path), home=tmp_path, db_url=f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 1 and str(path) in result.stderr and "MT940_INVALID: line 1: :61:" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_statements_parse_reads_mt940_into_the_same_json_contract(testdata: Path, tmp_path: Path) -> None:
    result = run("statements", "parse", str(testdata / "mt940/betterplace/sepa_snippet.sta"), home=tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["format"] == "mt940" and len(out["statements"]) == 2
    first = out["statements"][0]
    assert set(first) == {"id", "account", "opening_balance", "closing_balance", "entries", "warnings"}
    assert first["entries"][0]["amount"] == "50990.05"
    assert first["entries"][0]["end_to_end_ids"] == ["EndToEndId TFNR 22 004 00001"]
    assert any(w.startswith("balance_break") for w in out["statements"][1]["warnings"])
