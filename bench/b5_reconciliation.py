"""B5 bank-statement reconciliation: the matching engine against the naive loop, pandas and a dict join.

One planted-truth set from `bench/recon_generator.py` (90 % exact, 5 % mangled references, 2 %
fees, 2 % batch bookings, 1 % no counterpart, plus duplicates, unrelated lines, instalments and
unbooked orders), measured side by side in one process:

* `engine` — `match_statement` over prebuilt lines and items, all three passes (identity, amount
  block with name and fuzzy remittance, references for 1:N / N:1 / fees), default 100 k lines
  (about 109 k open items); `--quick` 10 k.
* `end_to_end` — the path the application runs: row dicts (as the statement store and order
  repository return them) → engine values → `match_statement` with the cyclic GC paused →
  one result row per matched pair ready to persist. camt XML parsing and the database writes are
  not in this arm (B4 measures parsing; the statement import stores entries).
* `naive` — the nested loop over every line × every item for the exact stage only
  (end-to-end id + amount + currency), at n = 10 k (`--quick` 2 k).
* `engine@naive_n` — the engine on the same n as the naive loop, for the ×-naive ratio.
* `pandas_exact` — `DataFrame.merge` on end-to-end id, then the amount and currency filter
  (frames built outside the timer), when pandas is installed; otherwise the row says so.
* `dict_join` — a dict keyed by end-to-end id probed once per line: the ceiling of stage 1.

Precision (automatic matches) and recall (all planted pairs) of the engine are printed with the
rates. `YINQI_B5_MILLION=1` adds one timed run at 1 M lines (slow to generate on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from bench.harness import ArmResult, ratio, report, run_arm
from bench.recon_generator import PlantedSet, evaluate, generate
from yinqi.application.reconciliation import paused_gc
from yinqi.domain.reconciliation.engine import match_statement
from yinqi.domain.reconciliation.model import Direction, OpenItem, StatementLine


def engine_arm(planted: PlantedSet) -> Any:
    def arm(_: int) -> tuple[int, float]:
        t0 = time.perf_counter()
        match_statement(lines=planted.lines, items=planted.items)
        return len(planted.lines), time.perf_counter() - t0
    return arm


def as_rows(planted: PlantedSet) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    lines = [{"id": x.line_id, "amount_minor": x.amount_minor, "currency": x.currency, "status": x.status,
              "booking_date": x.booking_date, "value_date": x.value_date, "end_to_end_ids": x.end_to_end_ids,
              "bank_reference": x.bank_reference, "instruction_id": x.instruction_id,
              "counterparty_name": x.counterparty_name, "remittance": x.remittance} for x in planted.lines]
    items = [{"id": i.item_id, "direction": i.direction.value, "amount_minor": i.amount_minor,
              "currency": i.currency, "due_date": i.due_date, "end_to_end_id": i.end_to_end_id,
              "instruction_id": i.instruction_id, "payee": i.counterparty_name, "refs": i.references}
             for i in planted.items]
    return lines, items


def end_to_end_arm(planted: PlantedSet) -> Any:
    line_rows, item_rows = as_rows(planted)

    def arm(_: int) -> tuple[int, float]:
        t0 = time.perf_counter()
        with paused_gc():
            lines = [StatementLine(r["id"], r["amount_minor"], r["currency"], r["status"], r["booking_date"],
                                   r["value_date"], r["end_to_end_ids"], bank_reference=r["bank_reference"],
                                   instruction_id=r["instruction_id"], counterparty_name=r["counterparty_name"],
                                   remittance=r["remittance"]) for r in line_rows]
            items = [OpenItem(r["id"], Direction(r["direction"]), r["amount_minor"], r["currency"], r["due_date"],
                              r["end_to_end_id"], instruction_id=r["instruction_id"], counterparty_name=r["payee"],
                              references=r["refs"]) for r in item_rows]
            result = match_statement(lines=lines, items=items)
            rows = [{"entry_id": line_id, "order_id": item_id, "rule": m.rule.value,
                     "confidence": f"{m.confidence:.4f}"}
                    for m in result.matches for line_id in m.line_ids for item_id in m.item_ids]
        assert rows
        return len(line_rows), time.perf_counter() - t0
    return arm


def naive_arm(planted: PlantedSet) -> Any:
    def arm(_: int) -> tuple[int, float]:
        t0 = time.perf_counter()
        used: set[str] = set()
        for line in planted.lines:
            for item in planted.items:
                if (item.item_id not in used and item.end_to_end_id in line.end_to_end_ids
                        and item.currency == line.currency and item.signed_minor == line.amount_minor):
                    used.add(item.item_id)
                    break
        return len(planted.lines), time.perf_counter() - t0
    return arm


def dict_join_arm(planted: PlantedSet) -> Any:
    def arm(_: int) -> tuple[int, float]:
        t0 = time.perf_counter()
        by_e2e = {i.end_to_end_id: i for i in planted.items if i.end_to_end_id}
        pairs = [(x.line_id, i.item_id) for x in planted.lines for e in x.end_to_end_ids[:1]
                 if (i := by_e2e.get(e)) is not None and i.currency == x.currency and i.signed_minor == x.amount_minor]
        assert pairs
        return len(planted.lines), time.perf_counter() - t0
    return arm


def pandas_arm(planted: PlantedSet) -> Any | None:
    try:
        import pandas as pd
    except ImportError:
        return None
    lines = pd.DataFrame({"line_id": [x.line_id for x in planted.lines],
                          "e2e": [x.end_to_end_ids[0] if x.end_to_end_ids else None for x in planted.lines],
                          "amount": [x.amount_minor for x in planted.lines],
                          "currency": [x.currency for x in planted.lines]})
    items = pd.DataFrame({"item_id": [i.item_id for i in planted.items],
                          "e2e": [i.end_to_end_id for i in planted.items],
                          "expected": [i.signed_minor for i in planted.items],
                          "item_currency": [i.currency for i in planted.items]})

    def arm(_: int) -> tuple[int, float]:
        t0 = time.perf_counter()
        merged = lines.merge(items, on="e2e", how="inner")
        exact = merged[(merged["amount"] == merged["expected"]) & (merged["currency"] == merged["item_currency"])]
        assert len(exact)
        return len(lines), time.perf_counter() - t0
    return arm


def run(args: argparse.Namespace) -> None:
    n, naive_n, runs = (10_000, 2_000, 2) if args.quick else (100_000, 10_000, 3)
    planted, small = generate(n, seed=20260105), generate(naive_n, seed=20260106)
    result = match_statement(lines=planted.lines, items=planted.items)
    quality = evaluate(result, planted)
    note = f"{len(planted.lines):,} lines × {len(planted.items):,} items"
    arms: list[ArmResult] = [
        run_arm("engine", engine_arm(planted), runs=runs, unit="lines/s", note=note),
        run_arm("end_to_end", end_to_end_arm(planted), runs=runs, unit="lines/s",
                note="rows → values → engine (GC paused) → result rows; no XML, no DB"),
        run_arm("engine@naive_n", engine_arm(small), runs=runs, unit="lines/s",
                note=f"{len(small.lines):,} × {len(small.items):,}"),
        run_arm("naive", naive_arm(small), runs=1, warmup=0, unit="lines/s",
                note=f"nested loop, exact stage only, {len(small.lines):,} × {len(small.items):,}"),
        run_arm("dict_join", dict_join_arm(planted), runs=runs, unit="lines/s", note="stage-1 ceiling"),
    ]
    pandas = pandas_arm(planted)
    arms.append(run_arm("pandas_exact", pandas, runs=runs, unit="lines/s", note="merge + filter, exact stage")
                if pandas else ArmResult("pandas_exact", "lines/s", note="pandas not installed: not measured"))
    by = {a.name: a for a in arms}
    ratios = {"engine_vs_naive_same_n": ratio(by["engine@naive_n"], by["naive"]),
              "engine_vs_pandas_exact": ratio(by["engine"], by["pandas_exact"]),
              "engine_vs_dict_join": ratio(by["engine"], by["dict_join"]),
              "end_to_end_vs_dict_join": ratio(by["end_to_end"], by["dict_join"]),
              "precision": quality["precision"], "recall": quality["recall"]}
    meta: dict[str, Any] = {"n": n, "naive_n": naive_n, "quality": quality,
                            "suggestions": len(result.suggestions), "discrepancies": len(result.discrepancies)}
    if os.environ.get("YINQI_B5_MILLION") == "1":
        big = generate(1_000_000, seed=20260107)
        t0 = time.perf_counter()
        with paused_gc():
            match_statement(lines=big.lines, items=big.items)
        meta["million_lines_s"] = time.perf_counter() - t0
    report("B5_reconciliation", arms, ratios=ratios, meta=meta)
