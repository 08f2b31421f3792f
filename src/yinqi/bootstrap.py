"""Composition root: the only module that names concrete adapters and wires them together.

Entry points (API, console, CLI, workers) ask for a `Hub` and use its ports; nothing else builds
engines, connectors or key material.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from yinqi.adapters.clock import SystemClock
from yinqi.adapters.crypto.field_encryption import FieldKeyring
from yinqi.adapters.crypto.keys import load_or_create_secret
from yinqi.adapters.db.engine import make_engine
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.adapters.iso20022.codec import Iso20022Codec
from yinqi.application.ports import Clock, MessageCodec
from yinqi.config import Settings


@dataclass
class Hub:
    settings: Settings
    engine: Engine
    clock: Clock
    ledger_key: bytes
    vault: FieldKeyring  # account numbers sealed at rest (R19), keys in YINQI_HOME/keys/fields
    codec: MessageCodec = field(default_factory=Iso20022Codec)
    connectors: dict[str, Any] = field(default_factory=dict)
    _webhook_endpoints: list[Any] | None = None
    _webhook_sender: Any = None

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, ledger_key=self.ledger_key, vault=self.vault, home=self.settings.home)

    def read_uow(self) -> SqlUnitOfWork:
        """A unit of work that only reads: on SQLite it does not take (or wait for) the write lock."""
        return SqlUnitOfWork(self.engine, ledger_key=self.ledger_key, vault=self.vault, home=self.settings.home,
                             read_only=True)

    def connector(self, bank_id: str = "SANDBOX") -> Any:
        if bank_id not in self.connectors:
            self.connectors[bank_id] = _sandbox_connector(self.settings)
        return self.connectors[bank_id]

    def webhook_endpoints(self) -> list[Any]:
        """Configured ERP webhook endpoints with their secrets (secret files created on first use)."""
        if self._webhook_endpoints is None:
            from yinqi.adapters.webhooks import resolve_endpoints

            self._webhook_endpoints = resolve_endpoints(self.settings.webhook_endpoints, home=self.settings.home)
        return self._webhook_endpoints

    def webhook_sender(self) -> Any:
        if self._webhook_sender is None:
            from yinqi.adapters.webhooks import HttpWebhookSender

            self._webhook_sender = HttpWebhookSender()
        return self._webhook_sender


def build_hub(settings: Settings, *, clock: Clock | None = None, engine: Engine | None = None) -> Hub:
    return Hub(settings=settings, engine=engine or make_engine(settings.db_url),
               clock=clock or SystemClock(),
               ledger_key=load_or_create_secret(settings.path(settings.ledger_hash_key_file)),
               vault=FieldKeyring.at_home(settings.home))


def _sandbox_connector(settings: Settings) -> Any:
    from yinqi.adapters.banks.sandbox import SandboxBankConnector

    return SandboxBankConnector(settings.sandbox_bank_url, settings.bank_ca_file)
