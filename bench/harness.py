"""A small benchmark framework: arms measured side by side in one process and one run.

Each arm is a callable `arm(run_index) -> (units, seconds)` that builds its own fresh state and
times only its critical section. The harness discards a warm-up run, takes the median rate of N
runs, records a CPU calibration loop and a one-second fsync probe (so a result from another
machine can be read), prints a rich table and writes JSON to bench/results/<name>.json.
Performance is measured here, never asserted in tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results"
Arm = Callable[[int], tuple[int, float]]


@dataclass
class ArmResult:
    name: str
    unit: str
    rates: list[float] = field(default_factory=list)
    units: int = 0
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0


def calibrate(seconds: float = 0.5) -> dict[str, float]:
    """SHA-256 of 64 bytes in a pure-Python loop: a CPU yardstick for comparing machines."""
    n, data, end = 0, b"x" * 64, time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(1000):
            hashlib.sha256(data).digest()
        n += 1000
    return {"sha256_64B_per_s": n / seconds}


def fsync_probe(directory: str | None = None, seconds: float = 1.0) -> dict[str, float]:
    """4 KiB write + fsync in a loop for `seconds`: the disk's durable-commit ceiling."""
    fd, path = tempfile.mkstemp(dir=directory)
    n, end, block = 0, time.perf_counter() + seconds, b"\0" * 4096
    try:
        while time.perf_counter() < end:
            os.write(fd, block)
            os.fsync(fd)
            n += 1
    finally:
        os.close(fd)
        os.unlink(path)
    return {"fsyncs_per_s": n / seconds}


def run_arm(name: str, arm: Arm, *, runs: int, unit: str, warmup: int = 1, note: str = "") -> ArmResult:
    result = ArmResult(name=name, unit=unit, note=note)
    for i in range(warmup + runs):
        units, seconds = arm(i)
        if i >= warmup:
            result.rates.append(units / seconds if seconds > 0 else 0.0)
            result.units = units
    return result


def environment() -> dict[str, Any]:
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "calibration": calibrate(), "fsync_probe": fsync_probe()}


def report(name: str, arms: list[ArmResult], *, ratios: dict[str, float], meta: dict[str, Any]) -> dict[str, Any]:
    table = Table(title=f"{name}: median of runs (warm-up discarded)")
    for col in ("arm", "rate", "unit", "runs", "size", "note"):
        table.add_column(col)
    for a in arms:
        table.add_row(a.name, f"{a.median:,.0f}", a.unit, str(len(a.rates)), f"{a.units:,}", a.note)
    console = Console()
    console.print(table)
    for k, v in ratios.items():
        console.print(f"  {k} = {v:.3f}")
    doc = {"benchmark": name, "arms": [{**asdict(a), "median": a.median} for a in arms], "ratios": ratios,
           "meta": meta, "environment": environment(), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(doc, indent=2))
    return doc


def ratio(a: ArmResult | None, b: ArmResult | None) -> float:
    return a.median / b.median if a and b and b.median else float("nan")


def fresh_database(backend: str, pg_url: str | None, tmp: str) -> tuple[str, Callable[[], None]]:
    """A new empty database URL and its cleanup: a SQLite file in `tmp`, or a PostgreSQL database."""
    import uuid

    from sqlalchemy import create_engine, text

    from yinqi.adapters.db.engine import normalise_url

    name = f"bench_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        path = Path(tmp) / f"{name}.db"
        return f"sqlite:///{path}", lambda: [p.unlink(missing_ok=True) for p in Path(tmp).glob(f"{name}.db*")]
    assert pg_url
    admin = create_engine(normalise_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return pg_url.rsplit("/", 1)[0] + f"/{name}", drop
