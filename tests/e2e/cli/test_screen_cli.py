"""`yinqi screen …` run as the real console script against a temporary YINQI_HOME."""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

YINQI = Path(sys.executable).with_name("yinqi")
pytestmark = pytest.mark.skipif(not YINQI.exists(), reason="yinqi console script not installed")


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "YINQI_HOME": str(home)}
    return subprocess.run([str(YINQI), "screen", *args], capture_output=True, text=True, timeout=120,
                          check=False, env=env)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sdn = Path(os.environ.get("YINQI_TESTDATA", Path(__file__).resolve().parents[4] / "shared" / "testdata"))
    if not sdn.is_dir():
        pytest.skip("shared test data not found")
    home = tmp_path_factory.mktemp("yinqi-home")
    result = run(home, "load", str(sdn / "sanctions/ofac_sdn_2021-08-18.csv"), "--list", "ofac-sdn", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["version"], doc["entities"], len(doc["diff"]["added"])) == (1, 9083, 9083)
    return home


def test_a_listed_name_with_a_homoglyph_is_flagged_with_reasons(home: Path) -> None:
    result = run(home, "name", "AL-BATHALI, Mubarak Mushakhas Sаnad", "--json")  # Cyrillic а
    doc = json.loads(result.stdout)
    assert result.returncode == 1 and doc["decision"] in ("review", "block")
    hit = doc["hits"][0]
    assert set(hit) == {"list", "entity_id", "name", "score", "reasons"}
    assert hit["list"] == "ofac-sdn" and hit["entity_id"] == "10011" and 0 <= hit["score"] <= 1
    assert any("look-alike" in r for r in hit["reasons"])


def test_a_generic_name_is_clear_and_exits_0(home: Path) -> None:
    result = run(home, "name", "GLOBAL TRADING LTD", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["decision"] == "clear"


def test_batch_prints_one_json_object_per_row(home: Path, tmp_path: Path) -> None:
    file = tmp_path / "parties.csv"
    file.write_text("name,country\nCANO CORREA Jhon Eidelber,CO\nIngeborg Abrahamsen,FR\n", encoding="utf-8")
    lines = run(home, "batch", str(file), "--json").stdout.splitlines()
    docs = [json.loads(line) for line in lines]
    assert [d["decision"] != "clear" for d in docs] == [True, False]


def test_loading_a_new_version_prints_the_diff(home: Path, testdata: Path, tmp_path: Path) -> None:
    rows = (testdata / "sanctions/ofac_sdn_2021-08-18.csv").read_text(encoding="utf-8").splitlines()
    smaller = tmp_path / "sdn-v2.csv"
    smaller.write_text("\n".join(rows[1:]) + "\n", encoding="utf-8")  # first entry removed
    result = run(home, "load", str(smaller), "--list", "ofac-sdn")
    assert result.returncode == 0, result.stderr
    assert "v2" in result.stdout and "0 added, 1 removed, 0 changed" in result.stdout
    assert "removed: 36" in result.stdout


def test_evaluation_on_a_sampled_slice_meets_recall_and_fpr_floors(home: Path, testdata: Path,
                                                                   tmp_path: Path) -> None:
    doc = json.loads((testdata / "name-matching/ssb_benchmark_sdn2021_seed11.json").read_text())
    cases = random.Random(5).sample(doc["cases"], 250)
    negatives = list(csv.DictReader((testdata / "name-matching/yente_negatives_us_1000.csv").open()))[1::10]
    file = tmp_path / "slice.csv"
    with file.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["query", "expected_entity_id", "group"])
        w.writerows([c["query"], c["expected_entity_id"] or "", c["perturbation"]] for c in cases)
        w.writerows([n["full_name"], "", "true_negative"] for n in negatives)
    result = run(home, "evaluate", str(file), "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["all"]["recall"] >= 0.70, metrics["all"]
    assert metrics["all"]["false_positive_rate"] <= 0.05, metrics["all"]
    assert metrics["homoglyph"]["recall"] >= 0.8 and metrics["invisible_char"]["recall"] >= 0.8
    table = run(home, "evaluate", str(file)).stdout
    assert "ROC-AUC" in table and "true_negative" in table
