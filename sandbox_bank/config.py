"""Where the sandbox bank keeps its state, and what it calls itself.

The sandbox bank is a separate process with its own home folder (certificates, SQLite database)
and its own database schema. Nothing here is shared with the hub except the ISO 20022 code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sandbox_bank.faults import Faults

HOME_ENV = "YINQI_SANDBOX_HOME"
DEFAULT_HOME = "var/sandbox-bank"


@dataclass(frozen=True, slots=True)
class BankSettings:
    home: Path
    db: str = ""
    bank_name: str = "Yinqi Sandbox Bank"
    bic: str = "SNDBDEFFXXX"
    faults: Faults = field(default_factory=Faults)

    @property
    def db_url(self) -> str:
        return self.db or f"sqlite:///{self.home / 'sandbox-bank.db'}"

    @property
    def certs_dir(self) -> Path:
        return self.home / "certs"


def load_settings(*, home: str | Path | None = None, db: str | None = None,
                  faults: Faults | None = None) -> BankSettings:
    """Resolve the home folder (argument, then $YINQI_SANDBOX_HOME, then var/sandbox-bank)."""
    home_path = Path(home or os.environ.get(HOME_ENV, DEFAULT_HOME)).resolve()
    home_path.mkdir(parents=True, exist_ok=True)
    return BankSettings(home=home_path, db=db or "", faults=faults or Faults())
