"""Configuration: `yinqi.toml` in YINQI_HOME (or the working directory), then the environment.

Precedence, lowest to highest: built-in defaults, `yinqi.toml`, environment (`YINQI_<FIELD>`,
e.g. `YINQI_DB`, `YINQI_API_PORT`, `YINQI_SANDBOX_BANK_URL`), command line (`--db`).
YINQI_HOME is the data folder: keys, certificates, checkpoints, file inbox/outbox.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field


class CompanyAccount(BaseModel):
    """One of the company's own bank accounts that the hub pays from."""

    name: str
    currency: str
    iban: str | None = None
    number: str | None = None  # Chinese domestic account number (with `cnaps`)
    cnaps: str | None = None
    bic: str | None = None
    bank_id: str = "SANDBOX"

    @property
    def key(self) -> str:
        return self.iban or f"{self.number}@{self.cnaps}"

    @property
    def label(self) -> str:
        return f"{self.name} · {self.iban or self.number} · {self.currency}"


class Settings(BaseModel):
    home: Path = Field(default_factory=lambda: Path(os.environ.get("YINQI_HOME", "var/home")).resolve())
    db: str = ""
    api_host: str = "127.0.0.1"
    api_port: int = 8400
    sandbox_bank_url: str = "https://127.0.0.1:8443"
    sandbox_bank_ca: str = ""  # PEM of the sandbox bank's CA; default: <home>/bank/certs/ca.pem
    company_id: str = "DEMO-CO"  # the initiating company until multi-company access lands
    company_name: str = "Yinqi Demo Trading GmbH"
    auto_release: bool = True  # approved orders go to the bank without a separate release step
    pain001_version: str = "pain.001.001.09"
    accounts: list[CompanyAccount] = Field(default_factory=list)
    auto_approve_limit_minor: int = 1_000_000  # demo rule: orders up to 10,000.00 pass with no person
    ledger_hash_key_file: str = "keys/ledger-hmac.key"
    ledger_checkpoint_key_file: str = "keys/ledger-checkpoint-ed25519.key"
    ledger_checkpoints_file: str = "checkpoints/ledger.jsonl"  # outside the database, on purpose
    checkpoint_interval_s: int = 60
    poll_interval_ms: int = 500

    @property
    def db_url(self) -> str:
        return self.db or f"sqlite:///{self.home / 'yinqi.db'}"

    @property
    def bank_ca_file(self) -> Path:
        return Path(self.sandbox_bank_ca) if self.sandbox_bank_ca else self.home / "bank" / "certs" / "ca.pem"

    def path(self, relative: str) -> Path:
        return self.home / relative


def load_settings(*, db: str | None = None, home: str | Path | None = None) -> Settings:
    home_path = Path(home or os.environ.get("YINQI_HOME", "var/home")).resolve()
    values: dict[str, Any] = {"home": home_path}
    for candidate in (home_path / "yinqi.toml", Path("yinqi.toml")):
        if candidate.is_file():
            values.update(tomllib.loads(candidate.read_text()).get("yinqi", {}))
            break
    for name in Settings.model_fields:
        env_value = os.environ.get(f"YINQI_{name.upper()}")
        if env_value is not None and name != "home":
            values[name] = env_value
    if db:
        values["db"] = db
    values["home"] = home_path
    settings = Settings(**values)
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings
