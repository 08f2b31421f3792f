"""`yinqi iso20022 validate` run as the real console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

YINQI = Path(sys.executable).with_name("yinqi")
pytestmark = pytest.mark.skipif(not YINQI.exists(), reason="yinqi console script not installed")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(YINQI), *args], capture_output=True, text=True, timeout=120, check=False)


def test_a_valid_pain001_exits_0(testdata: Path) -> None:
    result = run("iso20022", "validate", str(testdata / "pain001/samples/apiome-01-minimal-pain001.xml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid pain.001.001.09" in result.stdout


def test_an_invalid_file_exits_1_listing_each_error_with_its_element_path(testdata: Path) -> None:
    result = run("iso20022", "validate", str(testdata / "camt/genkgo/camt053.v2.wrong.xml"))
    assert result.returncode == 1
    assert "invalid (1 problem)" in result.stdout
    assert "/Document/BkToCstmrStmt (line 3): Element 'BkToCstmrStmt': Missing child" in result.stdout


def test_every_schema_error_is_listed(tmp_path: Path, testdata: Path) -> None:
    data = (testdata / "pain001/samples/apiome-03-multi-pmtinf-pain001.xml").read_bytes()
    bad = tmp_path / "bad.xml"
    bad.write_bytes(data.replace(b"<PmtMtd>TRF</PmtMtd>", b"<PmtMtd>XXX</PmtMtd>"))
    result = run("iso20022", "validate", str(bad))
    assert result.returncode == 1
    assert "/Document/CstmrCdtTrfInitn/PmtInf[1]/PmtMtd" in result.stdout
    assert "/Document/CstmrCdtTrfInitn/PmtInf[2]/PmtMtd" in result.stdout


def test_pain001_count_mismatch_is_reported_with_both_numbers(tmp_path: Path, testdata: Path) -> None:
    data = (testdata / "pain001/samples/apiome-03-multi-pmtinf-pain001.xml").read_bytes()
    bad = tmp_path / "bad.xml"
    bad.write_bytes(data.replace(b"<NbOfTxs>4</NbOfTxs>", b"<NbOfTxs>7</NbOfTxs>"))
    result = run("iso20022", "validate", str(bad))
    assert result.returncode == 1
    assert "/Document/CstmrCdtTrfInitn/GrpHdr/NbOfTxs: NbOfTxs declares 7 but the message contains 4" \
        in result.stdout


def test_a_dtd_with_entities_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    xxe = tmp_path / "xxe.xml"
    xxe.write_text('<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document>&x;</Document>')
    result = run("iso20022", "validate", str(xxe))
    assert result.returncode == 1
    assert "DTDs and entity declarations are refused" in result.stdout
    assert "root:" not in result.stdout + result.stderr


def test_a_missing_file_exits_2_without_a_traceback(tmp_path: Path) -> None:
    result = run("iso20022", "validate", str(tmp_path / "nope.xml"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
