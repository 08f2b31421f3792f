"""Open-loop HTTP load for B7, run as its own process: `python -m bench.load_generator SPEC.json`.

Why open loop: a closed-loop client (send, wait, send) slows down with the server and so never
sees the queueing it causes (coordinated omission). Here every send time is drawn in advance from
an exponential distribution (Poisson arrivals at `rate`), a request goes out at its time whatever
happened to the ones before it, and its latency is measured from the *scheduled* time, so time
spent waiting for a free connection or a slow server counts. The run is bounded by a request count
and by a deadline; a request still unanswered after `timeout_s` is a timeout, and anything but the
expected status is an error (by status, or by exception name).

HTTP/1.1 keep-alive over raw asyncio streams (no client library in the hot path: on a 2-core
machine the load generator's own CPU would otherwise show up as server latency). Connections are
opened on demand up to `max_connections` and reused.

The spec (JSON) names: url, token, rate, duration_s, max_requests, timeout_s, seed, kind
("orders" or "ping"), get_fraction, payers (IBANs; one for the hot-account run), payee_iban,
company_id, execution_date, run_id. The result (JSON on stdout): per kind (post/get/ping) the
count, p50/p90/p99/max latency in ms, errors by cause, and the achieved rate.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MAX_CONNECTIONS = 512
RECENT_ORDERS = 1_000


@dataclass
class Spec:
    url: str
    token: str
    rate: float
    duration_s: float
    max_requests: int
    timeout_s: float = 5.0
    seed: int = 1
    kind: str = "orders"
    get_fraction: float = 0.1
    payers: list[str] = field(default_factory=list)
    payee_iban: str = "FR1420041010050500013M02606"
    company_id: str = "ACME"
    execution_date: str = "2030-01-15"
    run_id: str = "r"
    max_connections: int = MAX_CONNECTIONS


@dataclass
class Kind:
    count: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


def schedule(rate: float, duration_s: float, max_requests: int, rng: random.Random) -> list[float]:
    """Send offsets (s from the start), fixed before the run: Poisson arrivals, bounded twice."""
    times: list[float] = []
    t = 0.0
    while len(times) < max_requests:
        t += rng.expovariate(rate)
        if t >= duration_s:
            break
        times.append(t)
    return times


def order_body(spec: Spec, i: int) -> bytes:
    """About 1 KB of JSON (about 1,000 bytes): a full order with address, purpose and remittance text."""
    payer = spec.payers[i % len(spec.payers)]
    body = {"company_id": spec.company_id, "serial": f"B7-{spec.run_id}-{i:08d}",
            "amount": f"{(i * 7919) % 9_000 + 1}.{i % 100:02d}", "currency": "EUR",
            "requested_execution_date": spec.execution_date, "urgency": "normal", "purpose_code": "SUPP",
            "end_to_end_id": f"E2E-B7-{spec.run_id}-{i:08d}-ACME-FRANKFURT"[:35],
            "remittance_info": (f"Invoice {spec.run_id}-{i:08d} for goods delivered under framework agreement "
                                "FA-2030-17, lot 4, partial delivery 3 of 5, see delivery note DN-77")[:140],
            "payer": {"name": "Acme Trading GmbH, Zweigniederlassung Frankfurt am Main",
                      "account": {"iban": payer}, "currency": "EUR", "bic": "COBADEFFXXX"},
            "payee": {"name": "Fournisseur Industriel de Composants et Pieces SARL",
                      "account": {"iban": spec.payee_iban}, "country": "FR", "bic": "BNPAFRPPXXX",
                      "address": {"street": "Rue de Rivoli, Batiment C, Escalier 2", "building_number": "118",
                                  "postcode": "75001", "town": "Paris Premier Arrondissement"}}}
    return json.dumps(body, indent=2).encode()  # laid out as ERPs tend to send it


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, raw: bytes) -> tuple[int, bytes, bool]:
        """(status, body, keep_alive) of one request on this connection."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked()
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, body, headers.get("connection", "").lower() != "close"

    async def _chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await self.reader.readexactly(size + 2))
            if size == 0:
                return b"".join(p[:-2] for p in parts)

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Keep-alive connections, opened on demand up to a bound; a request waits for a free one."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port, self.limit = host, port, limit
        self.idle: deque[Connection] = deque()
        self.opened = 0
        self.peak = 0
        self.free = asyncio.Condition()

    async def acquire(self) -> Connection:
        async with self.free:
            while not self.idle and self.opened >= self.limit:
                await self.free.wait()
            if self.idle:
                return self.idle.pop()
            self.opened += 1
            self.peak = max(self.peak, self.opened)
        try:
            return Connection(*await asyncio.open_connection(self.host, self.port))
        except BaseException:
            await self.discard(None)
            raise

    async def release(self, conn: Connection) -> None:
        async with self.free:
            self.idle.append(conn)
            self.free.notify()

    async def discard(self, conn: Connection | None) -> None:
        if conn is not None:
            conn.close()
        async with self.free:
            self.opened -= 1
            self.free.notify()


class Load:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        parts = urlsplit(spec.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.pool = Pool(self.host, self.port, spec.max_connections)
        self.kinds: dict[str, Kind] = {}
        self.recent: deque[str] = deque(maxlen=RECENT_ORDERS)
        self.rng = random.Random(spec.seed + 1)

    def raw(self, method: str, path: str, body: bytes = b"", extra: str = "") -> bytes:
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Authorization: Bearer {self.spec.token}\r\nAccept: application/json\r\n{extra}")
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        return (head + "\r\n").encode() + body

    def next_request(self, i: int) -> tuple[str, bytes, int]:
        """(kind, raw bytes, expected status) for the i-th scheduled request."""
        if self.spec.kind == "ping":
            return "ping", self.raw("GET", "/api/v1/ping"), 200
        if self.recent and self.rng.random() < self.spec.get_fraction:
            order_id = self.recent[self.rng.randrange(len(self.recent))]
            return "get", self.raw("GET", f"/api/v1/payment-orders/{order_id}"), 200
        key = f"Idempotency-Key: b7-{self.spec.run_id}-{i:08d}\r\n"
        return "post", self.raw("POST", "/api/v1/payment-orders", order_body(self.spec, i), key), 201

    async def fire(self, i: int, scheduled: float) -> None:
        kind, raw, expected = self.next_request(i)
        stats = self.kinds.setdefault(kind, Kind())
        stats.count += 1
        try:
            status, body = await asyncio.wait_for(self._send(raw), self.spec.timeout_s)
        except TimeoutError:
            stats.errors["timeout"] += 1
            return
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            stats.errors[type(exc).__name__] += 1
            return
        stats.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
        if status != expected:
            stats.errors[f"http_{status}"] += 1
        elif kind == "post":
            self.recent.append(json.loads(body)["id"])

    async def _send(self, raw: bytes) -> tuple[int, bytes]:
        conn = await self.pool.acquire()
        try:
            status, body, keep = await conn.request(raw)
        except BaseException:
            await self.pool.discard(conn)
            raise
        await (self.pool.release(conn) if keep else self.pool.discard(conn))
        return status, body

    async def run(self) -> dict[str, Any]:
        offsets = schedule(self.spec.rate, self.spec.duration_s, self.spec.max_requests,
                           random.Random(self.spec.seed))
        tasks: list[asyncio.Task[None]] = []
        start = time.perf_counter() + 0.05
        for i, offset in enumerate(offsets):
            scheduled = start + offset
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.fire(i, scheduled)))
        sent_s = time.perf_counter() - start
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        for conn in list(self.pool.idle):
            conn.close()
        return self.result(len(offsets), sent_s, elapsed)

    def result(self, scheduled: int, sent_s: float, elapsed: float) -> dict[str, Any]:
        kinds = {name: summary(k) for name, k in self.kinds.items()}
        ok = sum(k["ok"] for k in kinds.values())
        return {"rate_target": self.spec.rate, "scheduled": scheduled, "send_window_s": round(sent_s, 3),
                "elapsed_s": round(elapsed, 3), "achieved_rate": round(ok / elapsed, 1) if elapsed else 0.0,
                "offered_rate": round(scheduled / sent_s, 1) if sent_s else 0.0,
                "errors": sum(k["errors"] for k in kinds.values()), "connections_peak": self.pool.peak,
                "kinds": kinds}


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 is a latency some request really had)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


def summary(kind: Kind) -> dict[str, Any]:
    values = sorted(kind.latencies_ms)
    errors = sum(kind.errors.values())
    return {"count": kind.count, "ok": kind.count - errors, "errors": errors, "error_causes": dict(kind.errors),
            **{f"p{q}_ms": round(percentile(values, q), 2) for q in (50, 90, 99)},
            "max_ms": round(values[-1], 2) if values else float("nan")}


def main() -> None:
    spec = Spec(**json.loads(Path(sys.argv[1]).read_text() if len(sys.argv) > 1 else sys.stdin.read()))
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # the stdlib loop is fine, only a little slower
        pass
    print(json.dumps(asyncio.run(Load(spec).run())))


if __name__ == "__main__":
    main()
