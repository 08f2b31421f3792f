"""A bank channel: one way of sending payments from one company account at one bank.

A channel is configuration (`[[yinqi.channels]]` in yinqi.toml), validated on construction and
immutable. `None` in `account_key`, `currencies` or `countries` means "any": the hub's legacy
single-bank setup is one channel with all three open. Money limits and costs are integer minor
units, never floats; the cost of different channels is compared as a plain number (one cost
currency per hub, by convention).

>>> c = Channel(name="sbx-batch", bank_id="SANDBOX", channel_type=ChannelType.BATCH,
...             currencies=frozenset({"EUR"}), cutoff="15:00", timezone="Europe/Berlin")
>>> c.cutoff_time, c.zone.key
(datetime.time(15, 0), 'Europe/Berlin')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yinqi.domain.problems import DomainError

__all__ = ["Channel", "ChannelInvalid", "ChannelType", "default_channels"]


class ChannelType(StrEnum):
    INSTANT = "instant"  # seconds, usually around the clock (SCT Inst, IBPS)
    URGENT = "urgent"  # same-day gross settlement (TARGET2, CNAPS HVPS)
    BATCH = "batch"  # next-day bulk clearing (SEPA SCT, CNAPS BEPS)
    CROSS_BORDER = "cross_border"  # correspondent banking (SWIFT MT103 / pacs.008)


class ChannelInvalid(DomainError):
    code = "CHANNEL_INVALID"


@dataclass(frozen=True, slots=True)
class Channel:
    """One configured channel. `cutoff` is "HH:MM" local time in `timezone` (IANA), or None
    for a channel that accepts payments for the same day at any hour."""

    name: str
    bank_id: str
    channel_type: ChannelType
    account_key: str | None = None
    currencies: frozenset[str] | None = None
    countries: frozenset[str] | None = None  # payee bank countries it reaches; None: all
    cutoff: str | None = None
    timezone: str = "UTC"
    per_payment_limit_minor: int | None = None
    daily_limit_minor: int | None = None
    cost_per_payment_minor: int = 0
    available: bool = True

    def __post_init__(self) -> None:
        if not self.name.strip() or not self.bank_id.strip():
            raise ChannelInvalid("a channel needs a name and a bank_id", where="channel.name", rule="required",
                                 value=self.name)
        for field in ("per_payment_limit_minor", "daily_limit_minor", "cost_per_payment_minor"):
            value = getattr(self, field)
            if value is not None and value < 0:
                raise ChannelInvalid(f"channel {self.name}: {field} must not be negative",
                                     where=f"channel.{field}", rule="non_negative", value=value)
        self.cutoff_time  # noqa: B018 - validates the cut-off on construction
        self.zone  # noqa: B018 - validates the time zone on construction

    @property
    def cutoff_time(self) -> time | None:
        if self.cutoff is None:
            return None
        try:
            return time.fromisoformat(self.cutoff)
        except ValueError:
            raise ChannelInvalid(f"channel {self.name}: cut-off must be HH:MM", where="channel.cutoff",
                                 rule="hh_mm", value=self.cutoff) from None

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ChannelInvalid(f"channel {self.name}: unknown IANA time zone", where="channel.timezone",
                                 rule="iana_zone", value=self.timezone) from None


def default_channels(*, bank_id: str, account_key: str | None = None,
                     currency: str | None = None) -> tuple[Channel, ...]:
    """The channels a hub has when none are configured: batch, urgent and instant at one bank,
    with no limits, no cut-off and no cost. They route every order exactly as the hub did before
    routing existed (one bank; the urgency only sets the instruction priority), so an urgent or
    instant order is never refused for want of configuration.

    Names show the account masked (first four and last four characters), because channel names
    appear on screens and in API answers that low-privilege readers see.

    >>> [c.name for c in default_channels(bank_id="SANDBOX", account_key="DE89370400440532013000")]
    ['SANDBOX:DE89…3000:batch', 'SANDBOX:DE89…3000:urgent', 'SANDBOX:DE89…3000:instant']
    """
    prefix = f"{bank_id}:{account_key[:4]}…{account_key[-4:]}" if account_key else bank_id
    currencies = frozenset({currency}) if currency else None
    return tuple(Channel(name=f"{prefix}:{t.value}", bank_id=bank_id, channel_type=t, account_key=account_key,
                         currencies=currencies)
                 for t in (ChannelType.BATCH, ChannelType.URGENT, ChannelType.INSTANT))
