"""`yinqi status-reports parse` run as the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

YINQI = Path(sys.executable).with_name("yinqi")
pytestmark = pytest.mark.skipif(not YINQI.exists(), reason="yinqi console script not installed")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(YINQI), *args], capture_output=True, text=True, timeout=120, check=False)


def test_a_partly_rejected_report_prints_the_json_contract_with_reasons_in_plain_words(testdata: Path) -> None:
    result = run("status-reports", "parse", str(testdata / "pain002/apiome-status-set/pain002.xml"), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["original_msg_id"], out["group_status"]) == ("MSG-20260824-0007", "PART")
    payment = out["payments"][0]
    assert (payment["pmt_inf_id"], payment["status"]) == ("BATCH-0007", "PART")
    accepted, rejected = payment["transactions"]
    assert accepted == {"end_to_end_id": "SUP-0007-A", "status": "ACCP", "reason": None, "reason_text": None}
    assert (rejected["status"], rejected["reason"]) == ("RJCT", "AC01")
    assert rejected["reason_text"].startswith("AC01 IncorrectAccountNumber: ")


def test_without_json_the_report_is_readable_text(testdata: Path) -> None:
    result = run("status-reports", "parse", str(testdata / "pain002/pain001pkg/pain002_sample.xml"))
    assert result.returncode == 0 and "PaymentID6789: RJCT (AC04 ClosedAccountNumber" in result.stdout


@pytest.mark.parametrize("content", [b"not xml", b"<Document xmlns='urn:x'/>",
                                     b'<!DOCTYPE d [<!ENTITY x "y">]><d>&x;</d>'])
def test_an_unreadable_file_gives_one_line_naming_it_and_no_traceback(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "in.xml"
    path.write_bytes(content)
    result = run("status-reports", "parse", str(path), "--json")
    assert result.returncode == 1 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and str(path) in result.stderr
    assert "Traceback" not in result.stderr


def test_a_pain001_is_refused_as_a_status_report(testdata: Path) -> None:
    result = run("status-reports", "parse", str(testdata / "pain002/apiome-status-set/pain001.xml"))
    assert result.returncode == 1 and "PAIN002_INVALID" in result.stderr


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = run("status-reports", "parse", str(tmp_path / "nope.xml"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
