"""Booking the transactions of one accepted pain.001: the sandbox bank's core-banking step.

Each credit transfer gets one verdict, checked in this order:

1. debtor account not held here → RJCT AC01;
2. already booked (same debtor account and EndToEndId, from any message; or, when the EndToEndId
   is NOTPROVIDED, same PmtInfId and InstrId) → the ORIGINAL status again, not booked again;
3. creditor IBAN fails its checksum/format, or an empty other id → RJCT AC01;
4. amount currency differs from the debtor (or internal creditor) account → RJCT AM03;
5. `reject_rate` fault draws a rejection → RJCT AM04 / AC01;
6. debtor balance below the amount (checked and debited in one conditional UPDATE) → RJCT AM04;
7. otherwise debit the debtor and credit the creditor if its account is held here (ACSC), or the
   bank's outgoing clearing account for the currency (ACSP).

Statuses roll up per PmtInf and per message: all RJCT → RJCT, some RJCT → PART, all ACSC → ACSC,
otherwise ACSP. Everything runs inside the caller's transaction: a message is booked entirely or
not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select, update

from sandbox_bank import store
from sandbox_bank.faults import Faults, rejects
from yinqi.adapters.iso20022.model import (
    AccountId,
    CreditTransfer,
    CreditTransferMessage,
    PaymentInfo,
    PaymentStatus,
    TransactionStatus,
)

ACCEPTED = frozenset({"ACSC", "ACSP", "ACCP"})


def aggregate_status(statuses: Sequence[str]) -> str:
    """Roll transaction statuses up to a PmtInf or group status.

    >>> aggregate_status(["ACSC", "ACSP"]), aggregate_status(["ACSC", "RJCT"]), aggregate_status(["RJCT"])
    ('ACSP', 'PART', 'RJCT')
    """
    if all(s == "RJCT" for s in statuses):
        return "RJCT"
    if any(s == "RJCT" for s in statuses):
        return "PART"
    return "ACSC" if all(s == "ACSC" for s in statuses) else "ACSP"


def clear_message(conn: Connection, msg: CreditTransferMessage, *, faults: Faults,
                  now: datetime) -> tuple[PaymentStatus, ...]:
    """Book every transaction of `msg` and return the per-PmtInf statuses for the pain.002."""
    return tuple(_Clearing(conn, msg, faults=faults, now=now).payment(p) for p in msg.payment_infos)


def account_key(acct: AccountId) -> str | None:
    if acct.iban:
        return store.valid_iban(acct.iban)
    return store.normalise_key(acct.other_id) if acct.other_id else None


class _Clearing:
    def __init__(self, conn: Connection, msg: CreditTransferMessage, *, faults: Faults,
                 now: datetime) -> None:
        self.conn = conn
        self.msg = msg
        self.faults = faults
        self.now = now

    def payment(self, pmt: PaymentInfo) -> PaymentStatus:
        key = account_key(pmt.debtor_account)
        debtor = store.find_account(self.conn, key) if key else None
        txs = tuple(self.transfer(pmt, tx, debtor) for tx in pmt.transfers)
        return PaymentStatus(payment_info_id=pmt.payment_info_id,
                             status=aggregate_status([t.status or "RJCT" for t in txs]), transactions=txs)

    def transfer(self, pmt: PaymentInfo, tx: CreditTransfer,
                 debtor: store.Account | None) -> TransactionStatus:
        if debtor is None or debtor.is_clearing:
            return _status(tx, "RJCT", "AC01", "debtor account is not held at this bank")
        dedupe_key = _dedupe_key(debtor, pmt, tx)
        previous = self.booked_status(dedupe_key)
        if previous is not None:
            return _status(tx, previous, None, "duplicate of a booked transaction; not booked again")
        creditor_key = account_key(tx.creditor_account)
        if creditor_key is None:
            return _status(tx, "RJCT", "AC01", "creditor account number is invalid")
        creditor = store.find_account(self.conn, creditor_key)
        if tx.amount.currency != debtor.currency or (creditor and creditor.currency != tx.amount.currency):
            return _status(tx, "RJCT", "AM03", f"currency {tx.amount.currency} not allowed on the account")
        fault_code = rejects(self.faults, message_id=self.msg.message_id, end_to_end_id=tx.end_to_end_id)
        if fault_code is not None:
            return _status(tx, "RJCT", fault_code, "rejected by the sandbox reject_rate fault")
        if not self.debit(debtor, tx.amount.minor):
            return _status(tx, "RJCT", "AM04", "insufficient funds in the debtor account")
        status = "ACSC" if creditor is not None and not creditor.is_clearing else "ACSP"
        target = creditor or store.clearing_account(self.conn, currency=tx.amount.currency,
                                                    opened_on=self.now.date())
        self.credit(target, tx.amount.minor)
        self.book(dedupe_key, pmt, tx, debtor=debtor, creditor=target, status=status)
        return _status(tx, status, None, None)

    def booked_status(self, dedupe_key: str) -> str | None:
        return self.conn.execute(select(store.booking.c.tx_status).where(
            store.booking.c.dedupe_key == dedupe_key, store.booking.c.leg == "debit")).scalar()

    def debit(self, debtor: store.Account, amount_minor: int) -> bool:
        acct = store.account
        result = self.conn.execute(
            update(acct).where(acct.c.id == debtor.id, acct.c.balance_minor >= amount_minor)
            .values(balance_minor=acct.c.balance_minor - amount_minor))
        return result.rowcount == 1

    def credit(self, creditor: store.Account, amount_minor: int) -> None:
        acct = store.account
        self.conn.execute(update(acct).where(acct.c.id == creditor.id)
                          .values(balance_minor=acct.c.balance_minor + amount_minor))

    def book(self, dedupe_key: str, pmt: PaymentInfo, tx: CreditTransfer, *, debtor: store.Account,
             creditor: store.Account, status: str) -> None:
        common = {"dedupe_key": dedupe_key, "currency": tx.amount.currency, "msg_id": self.msg.message_id,
                  "pmt_inf_id": pmt.payment_info_id, "end_to_end_id": tx.end_to_end_id,
                  "tx_status": status, "remittance": (tx.remittance or None) and tx.remittance[:140],
                  "booking_date": self.now.date(), "booked_at": store.stamp(self.now)}
        self.conn.execute(store.booking.insert(), [
            {**common, "leg": "debit", "account_id": debtor.id, "amount_minor": -tx.amount.minor,
             "counterparty_name": tx.creditor_name or None},
            {**common, "leg": "credit", "account_id": creditor.id, "amount_minor": tx.amount.minor,
             "counterparty_name": pmt.debtor_name or None},
        ])


def _dedupe_key(debtor: store.Account, pmt: PaymentInfo, tx: CreditTransfer) -> str:
    if tx.end_to_end_id and tx.end_to_end_id != "NOTPROVIDED":
        return f"{debtor.id}|e2e|{tx.end_to_end_id}"
    return f"{debtor.id}|pmt|{pmt.payment_info_id}|{tx.instruction_id}"


def _status(tx: CreditTransfer, status: str, reason: str | None, info: str | None) -> TransactionStatus:
    return TransactionStatus(end_to_end_id=tx.end_to_end_id, status=status, reason_code=reason,
                             additional_info=info, original_instruction_id=tx.instruction_id or None)
