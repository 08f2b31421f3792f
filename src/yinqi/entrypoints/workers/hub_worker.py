"""The hub's background worker: outbox dispatch, status polling, statement fetching.

One pass does each step once; `run` repeats passes until stopped. Several workers may run at once
(the outbox claims rows with leases and SKIP LOCKED), so scaling out is starting another
`yinqi worker`. Every loop here is bounded: batch sizes per pass, and a back-off after errors.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from yinqi.application import execution, statements
from yinqi.bootstrap import Hub

log = logging.getLogger("yinqi.worker")


@dataclass
class HubWorker:
    hub: Hub
    interval_s: float = 0.5
    statement_interval_s: float = 2.0
    config: execution.ExecutionConfig = field(default_factory=execution.ExecutionConfig)
    _last_statement_fetch: float = 0.0

    @classmethod
    def for_hub(cls, hub: Hub) -> HubWorker:
        settings = hub.settings
        config = execution.ExecutionConfig(pain001_version=settings.pain001_version,
                                           initiating_party=settings.company_name)
        return cls(hub, interval_s=settings.poll_interval_ms / 1000, config=config)

    def run_once(self, *, fetch_statements: bool = True) -> dict[str, Any]:
        deps: dict[str, Any] = {"uow_factory": self.hub.uow, "clock": self.hub.clock, "codec": self.hub.codec}
        result: dict[str, Any] = {
            "built": execution.build_messages(config=self.config, **deps),
            "submitted": execution.submit_due(connector_for=self.hub.connector, **deps),
            "statuses": execution.poll_statuses(connector_for=self.hub.connector, **deps),
        }
        if fetch_statements:
            imported = statements.fetch_statements(connector_for=self.hub.connector, **deps)
            result["settled"] = [o for s in imported for o in s.settled]
        return result

    def run(self, stop: threading.Event) -> None:
        errors = 0
        while not stop.is_set():
            due = time.monotonic() - self._last_statement_fetch >= self.statement_interval_s
            try:
                outcome = self.run_once(fetch_statements=due)
                errors = 0
            except Exception:  # a bad pass must not kill the worker: log, back off, go on
                errors += 1
                log.exception("worker pass failed (%d in a row)", errors)
                outcome = {}
            if due:
                self._last_statement_fetch = time.monotonic()
            if any(outcome.values()):
                log.info("worker pass: %s", {k: v for k, v in outcome.items() if v})
            stop.wait(min(30.0, self.interval_s * (2 ** min(errors, 6))))


def start_in_thread(worker: HubWorker) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="yinqi-worker", daemon=True)
    thread.start()
    return thread, stop
