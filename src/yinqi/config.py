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

from yinqi.domain.routing.channel import Channel, ChannelType, default_channels

DEFAULT_BANK_ID = "SANDBOX"


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


class ChannelConfig(BaseModel):
    """One bank channel (`[[yinqi.channels]]`): see `yinqi.domain.routing.channel.Channel`.

    `account` is the company account key (IBAN, or number@cnaps) the channel pays from; empty:
    any account. `currencies` / `countries` empty: any. Amounts are integer minor units.
    """

    name: str
    bank_id: str = "SANDBOX"
    account: str | None = None
    currencies: list[str] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    channel_type: ChannelType = ChannelType.BATCH
    cutoff: str | None = None  # "HH:MM" local time in `timezone`
    timezone: str = "UTC"
    per_payment_limit_minor: int | None = None
    daily_limit_minor: int | None = None
    cost_per_payment_minor: int = 0
    available: bool = True

    def to_channel(self) -> Channel:
        """The validated domain channel. Raises ChannelInvalid (CHANNEL_INVALID)."""
        return Channel(
            name=self.name, bank_id=self.bank_id, channel_type=self.channel_type,
            account_key=_compact_key(self.account) if self.account else None,
            currencies=frozenset(c.upper() for c in self.currencies) or None,
            countries=frozenset(c.upper() for c in self.countries) or None, cutoff=self.cutoff,
            timezone=self.timezone, per_payment_limit_minor=self.per_payment_limit_minor,
            daily_limit_minor=self.daily_limit_minor, cost_per_payment_minor=self.cost_per_payment_minor,
            available=self.available)


def _compact_key(key: str) -> str:
    """Account keys compare like the order's: an IBAN without spaces, upper case."""
    return key if "@" in key else key.replace(" ", "").upper()


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
    channels: list[ChannelConfig] = Field(default_factory=list)  # [[yinqi.channels]]; see routing_channels
    duplicate_window_days: int = 3  # same payee account + amount within ± this many execution days: held
    beneficiary_cooling_off_hours: int = 24  # payments to a changed beneficiary account are held this long
    rate_limit_login_per_min: float = 20  # sign-in attempts per source address and per username (burst: same)
    rate_limit_api_per_s: float = 50  # API requests per token (429 RATE_LIMITED with Retry-After above)
    rate_limit_api_burst: float = 100
    ledger_hash_key_file: str = "keys/ledger-hmac.key"
    ledger_checkpoint_key_file: str = "keys/ledger-checkpoint-ed25519.key"
    ledger_checkpoints_file: str = "checkpoints/ledger.jsonl"  # outside the database, on purpose
    checkpoint_interval_s: int = 60
    poll_interval_ms: int = 500
    # [[yinqi.webhook_endpoints]]: order status webhooks to the ERP (application.webhooks)
    webhook_endpoints: list[WebhookEndpoint] = Field(default_factory=list)

    @property
    def db_url(self) -> str:
        return self.db or f"sqlite:///{self.home / 'yinqi.db'}"

    @property
    def bank_ca_file(self) -> Path:
        return Path(self.sandbox_bank_ca) if self.sandbox_bank_ca else self.home / "bank" / "certs" / "ca.pem"

    def routing_channels(self) -> list[Channel]:
        """The configured channels. Without any: per company account, its bank's default batch
        channel in the account's currency (no limits, no cut-off), plus urgent and instant twins so
        urgent orders still go out as they did before routing existed (`default_channels`). No
        accounts either: the defaults of the one sandbox bank, open to every account and currency.

        Raises:
            ChannelInvalid (CHANNEL_INVALID): a configured channel has a bad cut-off, zone or limit.
        """
        if self.channels:
            return [c.to_channel() for c in self.channels]
        if not self.accounts:
            return list(default_channels(bank_id=DEFAULT_BANK_ID))
        return [c for a in self.accounts
                for c in default_channels(bank_id=a.bank_id, account_key=_compact_key(a.key), currency=a.currency)]

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


class WebhookEndpoint(BaseModel):
    """An ERP endpoint for order status webhooks (`[[yinqi.webhook_endpoints]]`).

    Signing secrets are `whsec_<base64>`: `secrets` newest first, and/or `secret_file` under
    YINQI_HOME (32 random bytes, created on first use). Every secret signs, so during a rotation
    the ERP can verify with either the new or the old one. `event_types`: patterns such as
    `payment_order.*` or `payment_order.settled`; empty means every event.
    """

    url: str
    secrets: list[str] = Field(default_factory=list)
    secret_file: str | None = None
    event_types: list[str] = Field(default_factory=list)
    timeout_s: float = 10.0


Settings.model_rebuild()
