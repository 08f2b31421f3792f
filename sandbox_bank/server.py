"""Run the sandbox bank: uvicorn over TLS, one process, its own database."""

from __future__ import annotations

import uvicorn

from sandbox_bank.app import create_app
from sandbox_bank.bank import SandboxBank
from sandbox_bank.config import BankSettings
from sandbox_bank.tls import ensure_certificates


def serve(settings: BankSettings, *, host: str = "127.0.0.1", port: int = 8443,
          log_level: str = "warning") -> None:
    """Blocks until the server stops. Creates HOME/certs and the database on first run."""
    pki = ensure_certificates(settings, host=host)
    bank = SandboxBank.from_settings(settings)
    try:
        uvicorn.run(create_app(bank), host=host, port=port, log_level=log_level,
                    ssl_certfile=str(pki.server_cert), ssl_keyfile=str(pki.server_key),
                    timeout_graceful_shutdown=2)
    finally:
        bank.close()
