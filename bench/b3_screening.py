"""B3 sanctions screening: hub engine vs naive (rapidfuzz `process.extract` WRatio over every list
name) vs ceiling (`cdist` JaroWinkler of the pre-processed query against every pre-processed name).

Data: the real 2021 OFAC SDN file with its aliases (about 11.5 k name strings) and the labelled
queries of name-matching/ssb_benchmark_sdn2021_seed11.json (planted perturbed hits and negative
controls) plus yente's US true negatives. Reports per arm p50/p99 latency per query, screens/s,
and recall / false-positive rate on the same queries; also the cold start (parse + index build).
Peer: nomenklatura (yente logic-v1) did not pip-install cleanly here (pyicu has no wheel), so the
peer arm is absent and says so in the JSON. `--quick` screens 300 queries instead of all.

`python -m bench.b3_screening --calibrate` refits the name-score coefficients on the training split
(entities of the labelled file split 50/50 with random.Random(2024); yente rows even/odd) and
prints them with the review threshold giving ≤ 2 % false positives on the training split.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

from bench.harness import ArmResult, ratio, report
from yinqi.adapters.sanctions.files import read_list_file
from yinqi.adapters.sanctions.labelled import read_labelled
from yinqi.application.screening import LabelledCase, ListVersion, Screener
from yinqi.domain.screening.normalise import normalise_name

DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
SDN = DATA / "sanctions" / "ofac_sdn_2021-08-18.csv"
SSB = DATA / "name-matching" / "ssb_benchmark_sdn2021_seed11.json"
YENTE = DATA / "name-matching" / "yente_negatives_us_1000.csv"
SPLIT_SEED = 2024


def split_cases() -> tuple[list[LabelledCase], list[LabelledCase]]:
    """(train, test): SSB cases by source entity, 50/50 seeded; yente negatives by row parity."""
    doc = json.loads(SSB.read_text())
    name_to_id = {names[0]: ent for ent, names in doc["candidates"].items()}
    ids = sorted(doc["candidates"])
    random.Random(SPLIT_SEED).shuffle(ids)
    train_ids = set(ids[: len(ids) // 2])
    cases = read_labelled(SSB.read_bytes())
    train, test = [], []
    for raw, case in zip(doc["cases"], cases, strict=True):
        (train if name_to_id.get(raw["source_name"]) in train_ids else test).append(case)
    negatives = read_labelled(YENTE.read_bytes())
    return train + negatives[0::2], test + negatives[1::2]


def sdn_version() -> tuple[ListVersion, float]:
    t0 = time.perf_counter()
    entities, _, _ = read_list_file(SDN, list_name="ofac-sdn")
    return ListVersion("ofac-sdn", 1, tuple(entities), str(SDN), "", ""), time.perf_counter() - t0


def _latencies(fn: Any, queries: list[str]) -> tuple[list[float], list[Any]]:
    lat, out = [], []
    for q in queries:
        t0 = time.perf_counter()
        out.append(fn(q))
        lat.append(time.perf_counter() - t0)
    return lat, out


def _arm(name: str, lat: list[float], note: str) -> ArmResult:
    return ArmResult(name=name, unit="screens/s", rates=[len(lat) / sum(lat)], units=len(lat), note=note)


def _quality(cases: list[LabelledCase], flagged: list[set[str]]) -> dict[str, float]:
    pos = [(c, f) for c, f in zip(cases, flagged, strict=True) if c.expected_entity_id]
    neg = [f for c, f in zip(cases, flagged, strict=True) if not c.expected_entity_id]
    return {"recall": sum(c.expected_entity_id in f for c, f in pos) / max(len(pos), 1),
            "fpr": sum(bool(f) for f in neg) / max(len(neg), 1)}


def _pct(lat: list[float], q: float) -> float:
    return sorted(lat)[min(len(lat) - 1, int(q * len(lat)))] * 1000


def run(args: argparse.Namespace) -> dict[str, Any]:
    from rapidfuzz import fuzz, process
    from rapidfuzz.distance import JaroWinkler

    version, parse_s = sdn_version()
    t0 = time.perf_counter()
    screener = Screener([version])
    index_s = time.perf_counter() - t0
    _, test = split_cases()
    cases = random.Random(7).sample(test, 300) if args.quick else test
    queries = [c.query.name for c in cases]
    names = [n.name for n in screener.index.names]
    owners = [n.entity.entity_id for n in screener.index.names]
    keys = [" ".join(n.norm.tokens) for n in screener.index.names]
    by_name = {c.query.name: c.query for c in cases}
    for q in queries[:50]:  # warm-up, discarded (fills the token-similarity cache as production would)
        screener.screen(by_name[q])
    hub_lat, hub_out = _latencies(lambda q: screener.screen(by_name[q]), queries)
    hub_flag = [{h.entity_id for h in r.hits} for r in hub_out]
    naive_n = 60 if args.quick else 300
    naive_lat, naive_out = _latencies(lambda q: process.extract(q, names, scorer=fuzz.WRatio, limit=5,
                                                                score_cutoff=90), queries[:naive_n])
    naive_flag = [{owners[i] for _, _, i in r} for r in naive_out]
    ceil_lat, ceil_out = _latencies(lambda q: process.cdist([" ".join(normalise_name(q).tokens)], keys,
                                                            scorer=JaroWinkler.normalized_similarity,
                                                            workers=1, score_cutoff=0.92)[0], queries)
    ceil_flag = [{owners[i] for i in row.nonzero()[0][:5]} for row in ceil_out]
    arms = [_arm("hub (index + logistic)", hub_lat, f"p50 {_pct(hub_lat, .5):.2f} ms, p99 {_pct(hub_lat, .99):.2f} ms"),
            _arm("naive WRatio extract", naive_lat, f"p50 {_pct(naive_lat, .5):.1f} ms (first {naive_n} queries)"),
            _arm("ceiling cdist JaroWinkler", ceil_lat, f"p50 {_pct(ceil_lat, .5):.2f} ms")]
    quality = {"hub": _quality(cases, hub_flag), "naive_wratio_90": _quality(cases[:naive_n], naive_flag),
               "ceiling_jw_0.92": _quality(cases, ceil_flag)}
    meta = {"list_names": len(names), "entities": len(version.entities), "queries": len(queries),
            "cold_start_s": {"parse": parse_s, "index": index_s},
            "latency_ms": {a: {"p50": _pct(lat, .5), "p99": _pct(lat, .99)} for a, lat in
                           (("hub", hub_lat), ("naive", naive_lat), ("ceiling", ceil_lat))},
            "quality": quality, "peer": "nomenklatura not installed: its dependency pyicu has no wheel "
                                        "(pip --only-binary failed); peer arm skipped"}
    print(json.dumps({"quality": quality, "cold_start_s": meta["cold_start_s"]}, indent=1))
    return report("B3_screening", arms, ratios={"hub/naive": ratio(arms[0], arms[1]),
                                                 "hub/ceiling": ratio(arms[0], arms[2])}, meta=meta)


def calibrate() -> None:
    """Fit the name-score logistic model on the training split (numpy gradient descent, L2)."""
    import numpy as np

    from yinqi.domain.screening.score import features

    version, _ = sdn_version()
    screener = Screener([version])
    train, _ = split_cases()
    rows, labels, groups = [], [], []
    for n, case in enumerate(train):
        norm = normalise_name(case.query.name)
        if not norm.strong:
            continue
        for item in screener.index.candidates(norm):
            rows.append(features(norm, item.norm, screener.index))
            labels.append(1.0 if item.entity.entity_id == case.expected_entity_id else 0.0)
            groups.append(n)
    x = np.hstack([np.ones((len(rows), 1)), np.array(rows)])
    y = np.array(labels)
    w = np.zeros(x.shape[1])
    for _ in range(8000):
        p = 1 / (1 + np.exp(-x @ w))
        w -= 1.0 * (x.T @ (p - y) / len(y) + 1e-4 * np.r_[0, w[1:]])
    p = 1 / (1 + np.exp(-x @ w))
    best: dict[int, float] = {}
    for g, s in zip(groups, p, strict=True):
        best[g] = max(best.get(g, 0.0), float(s))
    neg_top = sorted(best.get(i, 0.0) for i, c in enumerate(train) if not c.expected_entity_id)
    review = neg_top[int(0.98 * len(neg_top))] + 1e-4 if neg_top else 0.5
    print("COEFFICIENTS =", tuple(round(float(v), 3) for v in w))
    print(f"review threshold for <=2% train FPR: {review:.3f}; pairs {len(y)}, positives {int(y.sum())}")
    print("train negatives:", len(neg_top), "median top score", statistics.median(neg_top))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench.b3_screening")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--calibrate", action="store_true")
    ns = parser.parse_args()
    if ns.calibrate:
        calibrate()
    else:
        run(ns)
