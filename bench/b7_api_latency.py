"""B7 API latency under open-loop load: `POST /api/v1/payment-orders` with an Idempotency-Key.

Set-up per backend (SQLite in WAL with synchronous FULL; PostgreSQL from YINQI_BENCH_PG_URL): a
fresh database migrated to head, an admin, an ERP user (operator) with an API token issued through
the identity use cases, and payer accounts onboarded with opening balances (orders up to
10,000 EUR pass the default policy's auto-approval rule, so each order also reserves its funds in
the ledger and, with auto-release, queues its bank submission). The hub is `yinqi serve
--no-worker` (uvicorn, the real hub app with every middleware) in its own process; the load comes
from `bench/load_generator.py` in another process on loopback: Poisson arrivals fixed in advance,
latency from the scheduled send time (coordinated omission counted), bounded by count and time.

Runs, per backend: the ceiling (`GET /api/v1/ping`: the same authentication, rate limiting and
middleware, no work) at each rate and at an overload rate whose throughput is the framework
ceiling; orders at 100 / 500 / 1,000 req/s (10 % GETs of recently created orders), payers spread
over 20 accounts; and the hot-account run, every order from one payer account, at 500 req/s.
The bench token's rate limit is raised the supported way (YINQI_RATE_LIMIT_API_PER_S / _BURST in
the server's environment), not switched off. Full mode: 60 s per run; `--quick`: 8 s.

Targets (BENCHMARKS.md B7): POST p99 <= 25 ms and 0 errors at 500 req/s; sustainable rate (the
highest rate meeting that p99 with no error) >= 0.5 x the framework ceiling; hot account >= 5,000
ledger entries/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from schwifty import IBAN

from bench.harness import RESULTS, environment, fresh_database

YINQI = [sys.executable, "-m", "yinqi.entrypoints.cli.main"]
RATES = (100, 500, 1_000)
OVERLOAD_RATE = 3_000  # well above what 2 cores serve: the ping's throughput here is the ceiling
HOT_RATE = 500
PAYERS = 20
COMPANY = "ACME"
PASSWORD = "bench correct horse battery staple"
P99_TARGET_MS = 25.0
HOT_TARGET_ENTRIES_S = 5_000


def execution_date() -> str:
    """A EUR business day a week ahead: never in the past, never a holiday, past no cut-off."""
    from yinqi.domain.calendar import next_business_day

    return next_business_day(date.today() + timedelta(days=7), "EUR").isoformat()


def payer_ibans(n: int) -> list[str]:
    return [str(IBAN.generate("DE", bank_code="37040044", account_code=f"{20_000_000 + i}")) for i in range(n)]


def provision(url: str, home: Path, payers: list[str]) -> str:
    """Schema, users, an API token (the secret is returned) and funded payer accounts."""
    from yinqi.adapters.db.migrate import upgrade
    from yinqi.application import identity
    from yinqi.application.accounts import onboard_account
    from yinqi.bootstrap import build_hub
    from yinqi.config import Settings
    from yinqi.domain.identifiers import Iban
    from yinqi.domain.identity.principal import Role
    from yinqi.domain.money import Money
    from yinqi.domain.parties import AccountRef

    hub = build_hub(Settings(home=home, db=url, company_id=COMPANY))
    try:
        upgrade(hub.engine)
        with hub.uow() as uow:
            identity.bootstrap_admin(uow=uow, clock=hub.clock, username="admin", password=PASSWORD,
                                     company_id=COMPANY, company_name="Acme Bench Ltd")
        with hub.uow() as uow:
            admin = identity.authenticate_cli(uow=uow, clock=hub.clock, username="admin", password=PASSWORD)
        with hub.uow() as uow:
            erp = identity.create_user(uow=uow, clock=hub.clock, principal=admin, username="erp", password=PASSWORD,
                                       display_name="Bench ERP", roles={Role.OPERATOR}, companies={COMPANY})
        with hub.uow() as uow:
            token = identity.issue_token(uow=uow, clock=hub.clock, principal=admin, user_id=erp.id, name="b7",
                                         scopes={"order.create", "order.read"}, companies={COMPANY})
        for iban in payers:
            with hub.uow() as uow:
                onboard_account(uow=uow, clock=hub.clock, actor="bench", account=AccountRef(iban=Iban.parse(iban)),
                                currency="EUR", opening_balance=Money.parse("1000000000.00", "EUR"),
                                name="Bench payer")
        return str(token.secret)
    finally:
        hub.engine.dispose()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_hub(url: str, home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "YINQI_HOME": str(home), "YINQI_DB": url, "YINQI_LOG_LEVEL": "WARNING",
           "YINQI_RATE_LIMIT_API_PER_S": "100000", "YINQI_RATE_LIMIT_API_BURST": "100000",
           "YINQI_COMPANY_ID": COMPANY}
    log = (home / "hub.log").open("wb")
    hub = subprocess.Popen([*YINQI, "serve", "--no-worker", "--port", str(port)], env=env, stdout=log,
                           stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            raise RuntimeError(f"hub exited: {(home / 'hub.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return hub
        except httpx.HTTPError:
            time.sleep(0.2)
    hub.kill()
    raise TimeoutError("hub did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def load(spec: dict[str, Any], tmp: str) -> dict[str, Any]:
    """One run of the load generator process; its JSON result."""
    path = Path(tmp) / f"spec-{spec['run_id']}.json"
    path.write_text(json.dumps(spec))
    done = subprocess.run([sys.executable, "-m", "bench.load_generator", str(path)], capture_output=True,
                          text=True, timeout=spec["duration_s"] + spec["timeout_s"] + 120, check=False,
                          cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout))


def backend_runs(backend: str, pg_url: str | None, tmp: str, duration_s: float) -> list[dict[str, Any]]:
    url, drop = fresh_database(backend, pg_url, tmp)
    home = Path(tempfile.mkdtemp(dir=tmp, prefix=f"b7-{backend}-"))
    payers = payer_ibans(PAYERS + 1)
    token = provision(url, home, payers)
    port = free_port()
    hub = start_hub(url, home, port)
    base = {"url": f"http://127.0.0.1:{port}", "token": token, "duration_s": duration_s, "timeout_s": 5.0,
            "company_id": COMPANY, "execution_date": execution_date()}
    plan: list[tuple[str, float, dict[str, Any]]] = [
        ("warm-up", 100, {"kind": "orders", "payers": payers[:PAYERS], "duration_s": min(3.0, duration_s)}),
        *[("ping", rate, {"kind": "ping"}) for rate in RATES],
        *[("orders", rate, {"kind": "orders", "payers": payers[:PAYERS]}) for rate in RATES],
        ("hot account", HOT_RATE, {"kind": "orders", "payers": payers[PAYERS:]}),
        ("ping", OVERLOAD_RATE, {"kind": "ping"}),  # last: an overload leaves a backlog behind
    ]
    runs = []
    try:
        for i, (workload, rate, extra) in enumerate(plan):
            spec = {**base, "rate": rate, "max_requests": int(rate * duration_s * 1.5) + 10, "seed": i + 1,
                    "run_id": f"{backend[:2]}{i}", **extra}
            drain(base["url"])
            result = load(spec, tmp)
            if workload != "warm-up":
                runs.append({"backend": backend, "workload": workload, **result})
                print(f"B7 {backend} {workload} {rate}/s: {json.dumps(result['kinds'])}", file=sys.stderr, flush=True)
    finally:
        stop(hub)
        drop()
    return runs


def drain(url: str, timeout_s: float = 120) -> None:
    """Wait until the hub has worked off the requests an earlier run gave up on (a client timeout
    does not stop the server's work), so one run's backlog is not charged to the next."""
    deadline, quick = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline and quick < 3:
        t0 = time.perf_counter()
        try:
            httpx.get(f"{url}/healthz", timeout=timeout_s)
        except httpx.HTTPError:
            quick = 0
            continue
        quick = quick + 1 if time.perf_counter() - t0 < 0.25 else 0
        time.sleep(0.1)


def verdicts(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Ceiling, sustainable rate and the targets, per backend."""
    out: dict[str, Any] = {}
    for backend in sorted({r["backend"] for r in runs}):
        mine = [r for r in runs if r["backend"] == backend]
        ceiling = max(r["achieved_rate"] for r in mine if r["workload"] == "ping")
        meeting = [r["rate_target"] for r in mine if r["workload"] == "orders" and r["errors"] == 0
                   and r["kinds"].get("post", {}).get("p99_ms", 1e9) <= P99_TARGET_MS]
        at_500 = next((r for r in mine if r["workload"] == "orders" and r["rate_target"] == 500), None)
        hot = next((r for r in mine if r["workload"] == "hot account"), None)
        sustainable = max(meeting, default=0)
        out[backend] = {
            "framework_ceiling_req_s": ceiling, "sustainable_post_rate": sustainable,
            "sustainable_over_ceiling": round(sustainable / ceiling, 3) if ceiling else None,
            "post_p99_ms_at_500": at_500["kinds"].get("post", {}).get("p99_ms") if at_500 else None,
            "errors_at_500": at_500["errors"] if at_500 else None,
            "target_p99_and_0_errors_at_500": bool(at_500 and at_500["errors"] == 0
                                                   and at_500["kinds"]["post"]["p99_ms"] <= P99_TARGET_MS),
            "hot_account_entries_s": hot["kinds"].get("post", {}).get("ok", 0) / hot["elapsed_s"] if hot else None,
            "hot_account_target_entries_s": HOT_TARGET_ENTRIES_S,
        }
    return out


def show(runs: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    table = Table(title="B7 API latency, open loop (latency from the scheduled send time)")
    for col in ("backend", "workload", "rate", "achieved/s", "kind", "n", "p50 ms", "p90 ms", "p99 ms", "max ms",
                "errors", "conns"):
        table.add_column(col)
    for r in runs:
        for kind, k in sorted(r["kinds"].items(), key=lambda kv: kv[0] != "post"):
            causes = ", ".join(f"{c}:{n}" for c, n in k["error_causes"].items())
            table.add_row(r["backend"], r["workload"], str(r["rate_target"]), f"{r['achieved_rate']:,.0f}", kind,
                          str(k["count"]), f"{k['p50_ms']:.1f}", f"{k['p90_ms']:.1f}", f"{k['p99_ms']:.1f}",
                          f"{k['max_ms']:.0f}", f"{k['errors']} {causes}".strip(), str(r["connections_peak"]))
    console = Console(width=160)
    console.print(table)
    for backend, v in summary.items():
        console.print(f"  {backend}: {json.dumps(v)}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick = bool(getattr(args, "quick", False))
    duration_s = 8.0 if quick else 60.0
    pg_url = os.environ.get("YINQI_BENCH_PG_URL")
    runs: list[dict[str, Any]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("YINQI_BENCH_TMP")) as tmp:
        for backend in ("sqlite", "postgresql"):
            if backend == "postgresql" and not pg_url:
                notes.append("PostgreSQL runs skipped: YINQI_BENCH_PG_URL not set")
                continue
            runs += backend_runs(backend, pg_url, tmp, duration_s)
    summary = verdicts(runs)
    show(runs, summary)
    doc = {"benchmark": "B7_api_latency", "runs": runs, "summary": summary,
           "meta": {"quick": quick, "duration_s": duration_s, "rates": RATES, "overload_rate": OVERLOAD_RATE,
                    "hot_rate": HOT_RATE, "payers": PAYERS, "get_fraction": 0.1, "notes": notes,
                    "targets": {"post_p99_ms_at_500": P99_TARGET_MS, "errors_at_500": 0,
                                "sustainable_over_ceiling": 0.5, "hot_account_entries_s": HOT_TARGET_ENTRIES_S}},
           "environment": environment(), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "B7_api_latency.json").write_text(json.dumps(doc, indent=2))
    return doc
