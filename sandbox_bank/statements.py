"""End-of-day statements (camt.053) of one sandbox account, computed from its bookings.

For account A and day D: opening balance = initial balance + every booking before D; entries =
the bookings of D in booking order; closing balance = opening + entries. So consecutive days
chain (closing of D = opening of D+1) and the balances always add up.

Identifiers are pure functions of (account, day), so asking twice gives the same statement:
`Stmt/Id` is `SB<account id>-<yyyymmdd>`, and `ElctrncSeqNb` is the day number since the account
was opened (1 on the opening day), so it increases per account with the date. A day before the
opening or after the bank's today has no statement.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, func, select

from sandbox_bank import store
from yinqi.adapters.iso20022.camt053_writer import write_camt053
from yinqi.adapters.iso20022.model import AccountId, BalanceAmount, Statement, StatementEntry
from yinqi.domain.money import Money
from yinqi.domain.problems import NotFound


class StatementUnavailable(NotFound):
    code = "SANDBOX_STATEMENT_UNAVAILABLE"


def statement_id(account: store.Account, on: date) -> str:
    return f"SB{account.id:08d}-{on:%Y%m%d}"


def sequence_number(account: store.Account, on: date) -> int:
    return (on - account.opened_on).days + 1


def build_statement(conn: Connection, *, account_key: str, on: date, now: datetime) -> Statement:
    """Raises AccountUnknown (SANDBOX_ACCOUNT_UNKNOWN), StatementUnavailable."""
    account = store.require_account(conn, account_key)
    if on < account.opened_on or on > now.date():
        raise StatementUnavailable(f"no statement for {account.key} on {on}: the account opened on "
                                   f"{account.opened_on} and today is {now.date()}", value=on)
    opening = account.initial_minor + _booked_before(conn, account.id, on)
    entries = [_entry(row, account.currency) for row in _bookings_on(conn, account.id, on)]
    closing = opening + sum(_minor(e.amount, account.currency) for e in entries)
    return Statement(
        id=statement_id(account, on),
        account=AccountId(iban=account.iban, other_id=account.other_id, currency=account.currency),
        opening_balance=_balance(opening, account.currency, on, "OPBD"),
        closing_balance=_balance(closing, account.currency, on, "CLBD"),
        entries=tuple(entries), sequence_number=str(sequence_number(account, on)), created_at=now)


def statement_xml(conn: Connection, *, account_key: str, on: date, now: datetime,
                  version: str = "camt.053.001.08") -> bytes:
    stmt = build_statement(conn, account_key=account_key, on=on, now=now)
    return write_camt053([stmt], message_id=f"SBSTM-{stmt.id}", created_at=now, version=version)


def _minor(amount: object, currency: str) -> int:
    return Money.parse(str(amount), currency).minor


def _balance(minor: int, currency: str, on: date, type_code: str) -> BalanceAmount:
    return BalanceAmount(amount=Money(minor, currency).amount, currency=currency, date=on, type_code=type_code)


def _booked_before(conn: Connection, account_id: int, on: date) -> int:
    b = store.booking
    total = conn.execute(select(func.coalesce(func.sum(b.c.amount_minor), 0))
                         .where(b.c.account_id == account_id, b.c.booking_date < on)).scalar()
    return int(total or 0)


def _bookings_on(conn: Connection, account_id: int, on: date) -> list[object]:
    b = store.booking
    return list(conn.execute(select(b).where(b.c.account_id == account_id, b.c.booking_date == on)
                             .order_by(b.c.id)).all())


def _entry(row: object, currency: str) -> StatementEntry:
    m = row._mapping  # type: ignore[attr-defined]
    return StatementEntry(
        amount=Money(m["amount_minor"], currency).amount, currency=currency, status="BOOK",
        booking_date=m["booking_date"], value_date=m["booking_date"], bank_reference=f"SB{m['id']:010d}",
        end_to_end_ids=(m["end_to_end_id"],), counterparty_name=m["counterparty_name"],
        remittance=m["remittance"])
