"""Configuration: `yinqi.toml` in YINQI_HOME (or the working directory), then the environment.

Precedence, lowest to highest: built-in defaults, `yinqi.toml`, environment (`YINQI_*`), command
line (`--db`). YINQI_HOME is the data folder: keys, certificates, checkpoints, file inbox/outbox.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field


class Settings(BaseModel):
    home: Path = Field(default_factory=lambda: Path(os.environ.get("YINQI_HOME", "var/home")).resolve())
    db: str = ""
    api_host: str = "127.0.0.1"
    api_port: int = 8400
    sandbox_bank_url: str = "https://127.0.0.1:8443"
    sandbox_bank_ca: str = ""  # PEM of the sandbox bank's CA; default: <home>/bank/certs/ca.pem
    company_id: str = "DEMO-CO"  # the initiating company until multi-company access lands
    auto_release: bool = True  # approved orders go to the bank without a separate release step
    pain001_version: str = "pain.001.001.09"
    auto_approve_limit_minor: int = 1_000_000  # demo rule: orders up to 10,000.00 pass with no person
    ledger_hash_key_file: str = "keys/ledger-hmac.key"
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
    env_db = os.environ.get("YINQI_DB")
    if env_db:
        values["db"] = env_db
    if db:
        values["db"] = db
    values["home"] = home_path
    settings = Settings(**values)
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings
