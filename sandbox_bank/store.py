"""The sandbox bank's own database: its tables live on their own MetaData, never on the hub's.

Money is integer minor units. Invariants, each held by the database as well as by the code:
- an account's `balance_minor` equals `initial_minor` plus the sum of its bookings (checked by
  `balance_drift`, which tests call after every scenario);
- a transaction is debited at most once: `sb_booking` is unique on (dedupe_key, leg), so even a
  logic error cannot book the same transaction twice;
- a message id is received once: `sb_message.msg_id` is unique; every further copy is only a row
  in `sb_receipt` (which is what "received N copies, booked once" counts).

Timestamps are stored as ISO-8601 UTC strings of fixed width, so they sort and compare as text on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
)

from yinqi.adapters.db.metadata import NAMING
from yinqi.domain.money import Money
from yinqi.domain.problems import Conflict, DomainError, NotFound

metadata = MetaData(naming_convention=NAMING)

account = Table(
    "sb_account", metadata,
    Column("id", Integer, primary_key=True),
    Column("account_key", String(34), nullable=False, unique=True),
    Column("iban", String(34)),
    Column("other_id", String(34)),
    Column("currency", String(3), nullable=False),
    Column("name", String(140), nullable=False),
    Column("initial_minor", BigInteger, nullable=False),
    Column("balance_minor", BigInteger, nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("is_clearing", Boolean, nullable=False, default=False),
)

message = Table(
    "sb_message", metadata,
    Column("id", Integer, primary_key=True),
    Column("msg_id", String(35), nullable=False, unique=True),
    Column("digest", String(64), nullable=False),
    Column("received_at", String(32), nullable=False),
    Column("http_status", Integer, nullable=False),
    Column("group_status", String(4), nullable=False),
    Column("ack", Text),
    Column("report", LargeBinary),
    Column("report_available_at", String(32)),
)

receipt = Table(
    "sb_receipt", metadata,
    Column("id", Integer, primary_key=True),
    Column("msg_id", String(35), nullable=False, index=True),
    Column("received_at", String(32), nullable=False),
    Column("kind", String(16), nullable=False),  # first | duplicate | conflict
)

booking = Table(
    "sb_booking", metadata,
    Column("id", Integer, primary_key=True),
    Column("dedupe_key", String(120), nullable=False),
    Column("leg", String(6), nullable=False),  # debit | credit
    Column("account_id", Integer, ForeignKey("sb_account.id"), nullable=False, index=True),
    Column("amount_minor", BigInteger, nullable=False),  # signed: debit < 0 < credit
    Column("currency", String(3), nullable=False),
    Column("msg_id", String(35), nullable=False),
    Column("pmt_inf_id", String(35), nullable=False),
    Column("end_to_end_id", String(35), nullable=False, index=True),
    Column("tx_status", String(4), nullable=False),
    Column("counterparty_name", String(140)),
    Column("remittance", String(140)),
    Column("booking_date", Date, nullable=False),
    Column("booked_at", String(32), nullable=False),
    UniqueConstraint("dedupe_key", "leg", name="uq_sb_booking_dedupe_leg"),
)


class AccountInvalid(DomainError):
    code = "SANDBOX_ACCOUNT_INVALID"


class AccountExists(Conflict):
    code = "SANDBOX_ACCOUNT_EXISTS"


class AccountUnknown(NotFound):
    code = "SANDBOX_ACCOUNT_UNKNOWN"


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    key: str
    iban: str | None
    other_id: str | None
    currency: str
    name: str
    initial_minor: int
    balance_minor: int
    opened_on: date
    is_clearing: bool

    @property
    def balance(self) -> Money:
        return Money(self.balance_minor, self.currency)


def create_schema(engine: Engine) -> None:
    metadata.create_all(engine)


def stamp(at: datetime) -> str:
    """Fixed-width UTC text: '2026-01-02T09:30:00.000000+00:00'."""
    if at.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def normalise_key(raw: str) -> str:
    return "".join(raw.split()).upper()


def valid_iban(raw: str) -> str | None:
    """The compact IBAN if `raw` is one (checksum, length, country format), else None."""
    try:
        return IBAN(raw).compact
    except SchwiftyException:
        return None


def open_account(conn: Connection, *, iban: str | None, other_id: str | None, currency: str,
                 balance: Money, name: str, opened_on: date, is_clearing: bool = False) -> Account:
    """Open an account with an initial balance.

    Raises:
        AccountInvalid (SANDBOX_ACCOUNT_INVALID): neither or both ids, a bad IBAN, wrong currency.
        AccountExists (SANDBOX_ACCOUNT_EXISTS): the id is already taken.
    """
    if bool(iban) == bool(other_id):
        raise AccountInvalid("give exactly one of iban / other_id", rule="one_id")
    compact = valid_iban(iban) if iban else None
    if iban and compact is None:
        raise AccountInvalid(f"{iban!r} is not a valid IBAN", where="iban", rule="iban", value=iban)
    if balance.currency != currency.upper():
        raise AccountInvalid("balance currency differs from the account currency", rule="currency")
    key = compact or normalise_key(other_id or "")
    if find_account(conn, key) is not None:
        raise AccountExists(f"account {key} already exists", where="account", value=key)
    new_id = conn.execute(account.insert().values(
        account_key=key, iban=compact, other_id=None if compact else key, currency=balance.currency,
        name=name, initial_minor=balance.minor, balance_minor=balance.minor, opened_on=opened_on,
        is_clearing=is_clearing).returning(account.c.id)).scalar_one()
    return get_account(conn, int(new_id))


def _row_to_account(row: object) -> Account:
    m = row._mapping  # type: ignore[attr-defined]
    return Account(id=m["id"], key=m["account_key"], iban=m["iban"], other_id=m["other_id"],
                   currency=m["currency"], name=m["name"], initial_minor=m["initial_minor"],
                   balance_minor=m["balance_minor"], opened_on=m["opened_on"],
                   is_clearing=bool(m["is_clearing"]))


def find_account(conn: Connection, key: str) -> Account | None:
    row = conn.execute(select(account).where(account.c.account_key == normalise_key(key))).first()
    return _row_to_account(row) if row is not None else None


def get_account(conn: Connection, account_id: int) -> Account:
    row = conn.execute(select(account).where(account.c.id == account_id)).first()
    if row is None:
        raise AccountUnknown(f"no account with id {account_id}", value=account_id)
    return _row_to_account(row)


def require_account(conn: Connection, key: str) -> Account:
    """Raises AccountUnknown (SANDBOX_ACCOUNT_UNKNOWN)."""
    found = find_account(conn, key)
    if found is None:
        raise AccountUnknown(f"no account {normalise_key(key)}", where="account", value=key)
    return found


def clearing_account(conn: Connection, *, currency: str, opened_on: date) -> Account:
    """The bank's outgoing clearing account for `currency`, opened on first use."""
    key = f"CLEARING-{currency}"
    return find_account(conn, key) or open_account(
        conn, iban=None, other_id=key, currency=currency, balance=Money.zero(currency),
        name=f"Outgoing clearing {currency}", opened_on=opened_on, is_clearing=True)


def balance_drift(conn: Connection) -> list[str]:
    """Accounts whose balance is not initial + bookings (should always be empty)."""
    booked = (select(booking.c.account_id, func.coalesce(func.sum(booking.c.amount_minor), 0).label("s"))
              .group_by(booking.c.account_id).subquery())
    rows = conn.execute(select(account.c.account_key, account.c.initial_minor, account.c.balance_minor,
                               func.coalesce(booked.c.s, 0))
                        .outerjoin(booked, booked.c.account_id == account.c.id)).all()
    return [key for key, initial, balance, total in rows if initial + int(total) != balance]
