"""A small ERP-side webhook receiver for tests: a real HTTP server on 127.0.0.1 in a thread.

It verifies every delivery the Standard Webhooks way (`yinqi.domain.webhooks.verify`) with its own
secrets and clock, processes each `webhook-id` once, and records what it saw:
- `requests`: every request, in arrival order, with its outcome (`accepted`, `replayed`, `failed`
  by fault injection, or a refusal reason such as `no_valid_signature`, `stale`);
- `events`: the accepted (processed) bodies, in processing order.
A replayed id is acknowledged with 200 (so an honest sender stops retrying) but not processed
again; a delivery that fails verification gets 401. `fail_rate` answers some valid deliveries with
500 before processing them (a seeded `random.Random`).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from yinqi.domain.webhooks import SeenIds, WebhookVerificationError, verify


@dataclass
class Seen:
    msg_id: str
    outcome: str
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes = b""


@dataclass
class WebhookReceiver:
    secrets: list[str]
    now: Callable[[], float]
    fail_rate: float = 0.0
    seed: int = 0
    requests: list[Seen] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    seen_ids: SeenIds = field(default_factory=lambda: SeenIds(ttl_s=10**9))  # remember all, for the test
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/erp/webhooks"

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:  # one at a time, like a receiver that processes in a transaction
            msg_id = headers.get("webhook-id", "")
            if self.fail_rate and self._random.random() < self.fail_rate:
                self.requests.append(Seen(msg_id, "failed", None, headers, body))
                return 500
            try:
                parsed = verify(headers, body, self.secrets, self.now(), seen=self.seen_ids)
            except WebhookVerificationError as exc:
                self.requests.append(Seen(msg_id, exc.reason, None, headers, body))
                return 200 if exc.reason == "replayed" else 401
            self.requests.append(Seen(msg_id, "accepted", parsed, headers, body))
            self.events.append(parsed)
            return 204

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                status = receiver.handle({k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def outcomes(self) -> list[str]:
        return [r.outcome for r in self.requests]

    def distinct_ids(self) -> set[str]:
        return {r.msg_id for r in self.requests if r.outcome in ("accepted", "replayed")}
