"""The hub's background worker: outbox dispatch, status polling, statement fetching, ERP webhooks.

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

from yinqi.application import execution, statements, webhooks
from yinqi.bootstrap import Hub

log = logging.getLogger("yinqi.worker")


@dataclass
class HubWorker:
    hub: Hub
    interval_s: float = 0.5
    statement_interval_s: float = 2.0
    config: execution.ExecutionConfig = field(default_factory=execution.ExecutionConfig)
    checkpoint_interval_s: float = 60.0
    _last_statement_fetch: float = 0.0
    _last_checkpoint: float = 0.0
    _checkpointed_size: int = -1

    @classmethod
    def for_hub(cls, hub: Hub) -> HubWorker:
        settings = hub.settings
        config = execution.ExecutionConfig(pain001_version=settings.pain001_version,
                                           initiating_party=settings.company_name,
                                           channels=tuple(settings.routing_channels()))
        return cls(hub, interval_s=settings.poll_interval_ms / 1000, config=config,
                   checkpoint_interval_s=settings.checkpoint_interval_s)

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
        endpoints = self.hub.webhook_endpoints()  # last, so this pass's state changes go out now
        result["webhooks"] = webhooks.deliver_due(uow_factory=self.hub.uow, clock=self.hub.clock, endpoints=endpoints,
                                                  sender=self.hub.webhook_sender() if endpoints else None)
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
            if time.monotonic() - self._last_checkpoint >= self.checkpoint_interval_s:
                self._last_checkpoint = time.monotonic()
                self.checkpoint_ledger()
            if any(outcome.values()):
                log.info("worker pass: %s", {k: v for k, v in outcome.items() if v})
            stop.wait(min(30.0, self.interval_s * (2 ** min(errors, 6))))


    def checkpoint_ledger(self) -> int | None:
        """Sign a checkpoint of the ledger when it has grown since the last one; returns its size.

        Checkpoints live outside the database, so truncating the journal or rewriting the whole
        chain is caught by `yinqi ledger verify` even by someone who can write the database."""
        from sqlalchemy import func, select

        from yinqi.adapters.crypto.keys import load_or_create_ed25519
        from yinqi.adapters.db.ledger_verify import CheckpointMismatch, write_checkpoint
        from yinqi.adapters.db.tables.ledger import ledger_entries

        settings = self.hub.settings
        with self.hub.engine.connect() as conn:
            size = int(conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one())
        if size == 0 or size == self._checkpointed_size:
            return None
        try:
            cp = write_checkpoint(self.hub.engine, checkpoints_path=settings.path(settings.ledger_checkpoints_file),
                                  signing_key=load_or_create_ed25519(settings.path(settings.ledger_checkpoint_key_file)),
                                  at=self.hub.clock.now())
        except CheckpointMismatch:
            log.critical("ledger does not match its checkpoints: run `yinqi ledger verify`; not signing")
            return None
        self._checkpointed_size = cp.size
        return cp.size


def start_in_thread(worker: HubWorker) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="yinqi-worker", daemon=True)
    thread.start()
    return thread, stop
