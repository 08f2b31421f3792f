"""`yinqi statements parse` run as the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

YINQI = Path(sys.executable).with_name("yinqi")
pytestmark = pytest.mark.skipif(not YINQI.exists(), reason="yinqi console script not installed")
_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "testdata"
GENKGO = sorted(p.name for p in (_DATA / "camt/genkgo").glob("*.xml")) if _DATA.is_dir() else []


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(YINQI), *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("name", [n for n in GENKGO if n != "camt053.v2.wrong.xml"])
def test_every_genkgo_file_parses_to_the_json_contract(testdata: Path, name: str) -> None:
    result = run("statements", "parse", str(testdata / "camt/genkgo" / name))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["format"].startswith("camt.05")
    for st in out["statements"]:
        assert set(st) == {"id", "account", "opening_balance", "closing_balance", "entries", "warnings"}
        for entry in st["entries"]:
            Decimal(entry["amount"])  # a decimal string, never a float


def test_amounts_are_signed_strings_and_breaks_are_warned(testdata: Path) -> None:
    result = run("statements", "parse", str(testdata / "camt/samples/apiome-06-typical-camt053-statement.xml"))
    st = json.loads(result.stdout)["statements"][0]
    assert [e["amount"] for e in st["entries"]] == ["-12500.00", "98750.00"]
    assert any(w.startswith("balance_break: opening 1250000.00 EUR") for w in st["warnings"])


def test_the_wrong_genkgo_file_exits_1_with_one_line_naming_file_and_reason(testdata: Path) -> None:
    path = testdata / "camt/genkgo/camt053.v2.wrong.xml"
    result = run("statements", "parse", str(path))
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "CAMT_INVALID" in lines[0] and "no Stmt" in lines[0]


@pytest.mark.parametrize("content", [b"not xml at all", b'<!DOCTYPE d [<!ENTITY x "y">]><d>&x;</d>',
                                     b"<Document xmlns='urn:x'/>"])
def test_unreadable_input_gives_one_line_and_no_traceback(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "in.xml"
    path.write_bytes(content)
    result = run("statements", "parse", str(path))
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and str(path) in result.stderr
    assert "Traceback" not in result.stderr


def test_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.xml"
    with path.open("wb") as f:
        f.truncate(60 * 1024 * 1024)  # sparse: costs no disk, but its size is over the limit
    result = run("statements", "parse", str(path))
    assert result.returncode == 1 and "exceeds the limit" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_file_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run("statements", "parse", str(tmp_path / "nope.xml"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
