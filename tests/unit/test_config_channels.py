"""Channels in yinqi.toml: read into validated domain channels; with none, per-account defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from yinqi.config import load_settings
from yinqi.domain.routing.channel import ChannelInvalid, ChannelType

TOML = """
[yinqi]
[[yinqi.accounts]]
name = "Acme"
currency = "EUR"
iban = "DE89 3704 0044 0532 0130 00"
bank_id = "BANK-A"
"""
CHANNEL = """
[[yinqi.channels]]
name = "a-urgent"
bank_id = "BANK-A"
account = "de89 3704 0044 0532 0130 00"
currencies = ["eur"]
channel_type = "urgent"
cutoff = "15:30"
timezone = "Europe/Berlin"
daily_limit_minor = 100000000
cost_per_payment_minor = 150
"""


def test_configured_channels_are_read_from_yinqi_toml(tmp_path: Path) -> None:
    (tmp_path / "yinqi.toml").write_text(TOML + CHANNEL)
    (channel,) = load_settings(home=tmp_path).routing_channels()
    assert (channel.name, channel.bank_id, channel.channel_type) == ("a-urgent", "BANK-A", ChannelType.URGENT)
    assert channel.account_key == "DE89370400440532013000" and channel.currencies == frozenset({"EUR"})
    assert channel.zone.key == "Europe/Berlin" and channel.daily_limit_minor == 100_000_000


def test_without_channels_each_account_gets_default_channels_at_its_bank(tmp_path: Path) -> None:
    (tmp_path / "yinqi.toml").write_text(TOML)
    channels = load_settings(home=tmp_path).routing_channels()
    assert [c.channel_type for c in channels] == [ChannelType.BATCH, ChannelType.URGENT, ChannelType.INSTANT]
    assert {(c.bank_id, c.account_key, c.currencies, c.per_payment_limit_minor, c.cutoff) for c in channels} == {
        ("BANK-A", "DE89370400440532013000", frozenset({"EUR"}), None, None)}


def test_without_accounts_or_channels_everything_goes_to_the_sandbox_bank(tmp_path: Path) -> None:
    channels = load_settings(home=tmp_path).routing_channels()
    assert {(c.bank_id, c.account_key, c.currencies) for c in channels} == {("SANDBOX", None, None)}


def test_a_channel_with_a_bad_time_zone_is_refused(tmp_path: Path) -> None:
    (tmp_path / "yinqi.toml").write_text(TOML + CHANNEL.replace("Europe/Berlin", "Europe/Atlantis"))
    with pytest.raises(ChannelInvalid, match="IANA"):
        load_settings(home=tmp_path).routing_channels()
