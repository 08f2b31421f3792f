"""The sandbox bank as one object: what the HTTP app and the CLI call, and what unit tests drive.

It owns the database engine, the fault switch and the clock (injected, so tests choose the day).
Every method is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Engine, func, select

from sandbox_bank import store
from sandbox_bank.config import BankSettings
from sandbox_bank.faults import FaultSwitch
from sandbox_bank.intake import Intake, Reply
from sandbox_bank.statements import statement_xml
from yinqi.adapters.db.engine import make_engine
from yinqi.domain.money import Money

Clock = Callable[[], datetime]
_LISTING_MAX = 1000


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class StatusLookup:
    """`state` is unknown (never received), pending (not yet available) or ready."""

    state: str
    report: bytes | None = None
    available_at: str | None = None


class SandboxBank:
    def __init__(self, engine: Engine, *, faults: FaultSwitch | None = None, clock: Clock = utc_now,
                 bank_name: str = "Yinqi Sandbox Bank", bic: str = "SNDBDEFFXXX") -> None:
        self.engine = engine
        self.faults = faults or FaultSwitch()
        self.clock = clock
        self.bank_name = bank_name
        self.bic = bic
        self._intake = Intake(engine, bank_name)
        store.create_schema(engine)

    @classmethod
    def from_settings(cls, settings: BankSettings, *, clock: Clock = utc_now) -> SandboxBank:
        return cls(make_engine(settings.db_url), faults=FaultSwitch(settings.faults), clock=clock,
                   bank_name=settings.bank_name, bic=settings.bic)

    def today(self) -> date:
        return self.clock().date()

    # --- host-to-host -------------------------------------------------------------------------
    def receive_pain001(self, data: bytes) -> Reply:
        return self._intake.receive(data, faults=self.faults.current, now=self.clock())

    def status(self, msg_id: str) -> StatusLookup:
        m = store.message
        with self.engine.connect() as conn:
            row = conn.execute(select(m.c.report, m.c.report_available_at).where(m.c.msg_id == msg_id)).first()
        if row is None:
            return StatusLookup("unknown")
        if row.report_available_at > store.stamp(self.clock()):
            return StatusLookup("pending", available_at=row.report_available_at)
        return StatusLookup("ready", bytes(row.report), row.report_available_at)

    def reports_since(self, since: datetime) -> list[str]:
        """Ids of messages whose report became available in [since, now], oldest first."""
        m = store.message
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(m.c.msg_id).where(m.c.report_available_at >= store.stamp(since),
                                         m.c.report_available_at <= store.stamp(self.clock()))
                .order_by(m.c.report_available_at, m.c.id).limit(_LISTING_MAX)).scalars().all()
        ids = list(rows)
        return [i for i in ids for _ in range(2)] if self.faults.current.duplicate_status else ids

    def statement(self, account_key: str, on: date, *, version: str = "camt.053.001.08") -> bytes:
        """Raises AccountUnknown, StatementUnavailable (both NotFound)."""
        with self.engine.connect() as conn:
            return statement_xml(conn, account_key=account_key, on=on, now=self.clock(), version=version)

    # --- administration -----------------------------------------------------------------------
    def open_account(self, *, iban: str | None, other_id: str | None, currency: str, balance: str,
                     name: str) -> store.Account:
        """Raises AccountInvalid, AccountExists, AmountInvalid, UnknownCurrency."""
        amount = Money.parse(balance, currency)
        with self.engine.begin() as conn:
            return store.open_account(conn, iban=iban, other_id=other_id, currency=currency,
                                      balance=amount, name=name, opened_on=self.today())

    def account(self, key: str) -> store.Account:
        """Raises AccountUnknown."""
        with self.engine.connect() as conn:
            return store.require_account(conn, key)

    def counts(self) -> dict[str, dict[str, int]]:
        """Copies received per MsgId and debit bookings per EndToEndId."""
        r, b = store.receipt, store.booking
        with self.engine.connect() as conn:
            received = conn.execute(select(r.c.msg_id, func.count()).group_by(r.c.msg_id)).all()
            booked = conn.execute(select(b.c.end_to_end_id, func.count()).where(b.c.leg == "debit")
                                  .group_by(b.c.end_to_end_id)).all()
        return {"received": {k: int(n) for k, n in received}, "booked": {k: int(n) for k, n in booked}}

    def balance_drift(self) -> list[str]:
        with self.engine.connect() as conn:
            return store.balance_drift(conn)

    def close(self) -> None:
        self.engine.dispose()
