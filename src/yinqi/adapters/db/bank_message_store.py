"""Bank messages the hub built, and the orders inside each one.

A pain.001 names the accounts it pays from and to, so its bytes, the bank's status report and the
debtor account are sealed by the vault before they reach the database (R19); the debtor account's
blind index answers "which messages went out from this account". `payload_sha256` is the hash of
the clear bytes, so resubmission compares what the bank receives. Rows older than revision 0007
still hold clear values, which are read as they are.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, or_, select, update

from yinqi.adapters.crypto.field_encryption import mask
from yinqi.adapters.db.tables.bank_messages import bank_message_items, bank_messages
from yinqi.adapters.db.tables.orders import payment_orders
from yinqi.application.ports import AccountVault

FINAL_ITEM_STATUSES = frozenset({"ACSC", "ACCP", "ACSP", "ACWC", "RJCT"})


@dataclass(frozen=True, slots=True)
class BankMessage:
    message_id: str
    bank_id: str
    message_type: str
    debtor_account: str
    payload: bytes
    status: str
    created_at: datetime
    sent_at: datetime | None
    group_status: str | None


@dataclass(frozen=True, slots=True)
class BankMessageItem:
    message_id: str
    order_id: str
    payment_info_id: str
    end_to_end_id: str
    last_status: str | None
    last_reason: str | None


DEBTOR = "bank_messages.debtor_account_enc"
PAYLOAD = "bank_messages.payload_enc"
REPORT = "bank_messages.status_report_enc"


class SqlBankMessageStore:
    def __init__(self, conn: Connection, vault: AccountVault) -> None:
        self._conn = conn
        self._vault = vault

    def add(self, *, message_id: str, bank_id: str, message_type: str, debtor_account: str,
            payload: bytes, at: datetime, items: list[tuple[str, str, str]]) -> None:
        """Store a built message and link its orders: items are (order_id, pmt_inf_id, e2e id).
        An order already in another message violates a unique constraint: never twice."""
        self._conn.execute(insert(bank_messages).values(
            message_id=message_id, bank_id=bank_id, message_type=message_type,
            debtor_account_enc=self._vault.seal(debtor_account, field=DEBTOR),
            debtor_account_bidx=self._vault.blind_index(debtor_account), debtor_account_masked=mask(debtor_account),
            payload_enc=self._vault.seal_bytes(payload, field=PAYLOAD),
            payload_sha256=hashlib.sha256(payload).hexdigest(), status="built", created_at=at,
            transaction_count=len(items)))
        self._conn.execute(insert(bank_message_items), [
            {"message_id": message_id, "order_id": o, "payment_info_id": p, "end_to_end_id": e}
            for o, p, e in items])

    def get(self, message_id: str) -> BankMessage | None:
        row = self._conn.execute(select(bank_messages).where(
            bank_messages.c.message_id == message_id)).mappings().first()
        return _message(row, self._vault) if row else None

    def items(self, message_id: str) -> list[BankMessageItem]:
        rows = self._conn.execute(select(bank_message_items).where(
            bank_message_items.c.message_id == message_id)).mappings()
        return [BankMessageItem(**dict(r)) for r in rows]

    def item_for_order(self, order_id: str) -> BankMessageItem | None:
        row = self._conn.execute(select(bank_message_items).where(
            bank_message_items.c.order_id == order_id)).mappings().first()
        return BankMessageItem(**dict(row)) if row else None

    def orders_by_end_to_end_id(self, end_to_end_ids: list[str]) -> dict[str, str]:
        if not end_to_end_ids:
            return {}
        rows = self._conn.execute(select(bank_message_items.c.end_to_end_id, bank_message_items.c.order_id)
                                  .where(bank_message_items.c.end_to_end_id.in_(end_to_end_ids)))
        return {e2e: order_id for e2e, order_id in rows}

    def mark_sent(self, message_id: str, *, at: datetime) -> None:
        self._conn.execute(update(bank_messages).where(bank_messages.c.message_id == message_id,
                                                       bank_messages.c.status == "built")
                           .values(status="sent", sent_at=at))

    def record_item_status(self, message_id: str, end_to_end_id: str, *, status: str | None,
                           reason: str | None) -> None:
        self._conn.execute(update(bank_message_items).where(
            bank_message_items.c.message_id == message_id,
            bank_message_items.c.end_to_end_id == end_to_end_id).values(last_status=status, last_reason=reason))

    def record_report(self, message_id: str, *, group_status: str | None, report: bytes) -> None:
        """Store the latest status report; the message is answered once every item is final."""
        pending = [i for i in self.items(message_id) if i.last_status not in FINAL_ITEM_STATUSES]
        values: dict[str, object] = {"group_status": group_status,
                                     "status_report_enc": self._vault.seal_bytes(report, field=REPORT)}
        if not pending:
            values["status"] = "answered"
        self._conn.execute(update(bank_messages).where(bank_messages.c.message_id == message_id)
                           .values(**values))

    def awaiting_status(self, *, limit: int = 100) -> list[BankMessage]:
        rows = self._conn.execute(select(bank_messages).where(bank_messages.c.status == "sent")
                                  .order_by(bank_messages.c.created_at).limit(limit)).mappings()
        return [_message(r, self._vault) for r in rows]

    def debtor_accounts(self) -> list[tuple[str, str]]:
        """(bank_id, account) pairs the hub has sent payments from: whose statements to fetch."""
        m = bank_messages.c
        rows = self._conn.execute(select(m.bank_id, func.min(m.debtor_account_enc), m.debtor_account)
                                  .group_by(m.bank_id, m.debtor_account_bidx, m.debtor_account))
        return sorted({(b, self._vault.open(sealed, field=DEBTOR) if sealed else clear) for b, sealed, clear in rows})

    def routed_minor_since(self, *, bank_id: str, since: datetime, currencies: frozenset[str] | None = None,
                           debtor_account: str | None = None) -> int:
        """Sum of the order amounts (minor units) in messages built for `bank_id` since `since`:
        what a channel's daily limit has already used. Optionally one currency set / account."""
        query = (select(func.coalesce(func.sum(payment_orders.c.amount_minor), 0))
                 .select_from(bank_message_items.join(bank_messages).join(
                     payment_orders, payment_orders.c.id == bank_message_items.c.order_id))
                 .where(bank_messages.c.bank_id == bank_id, bank_messages.c.created_at >= since))
        if currencies is not None:
            query = query.where(payment_orders.c.currency.in_(sorted(currencies)))
        if debtor_account is not None:
            query = query.where(or_(bank_messages.c.debtor_account_bidx == self._vault.blind_index(debtor_account),
                                    bank_messages.c.debtor_account == debtor_account))  # pre-0007 rows
        return int(self._conn.execute(query).scalar_one())

    def counts(self) -> dict[str, int]:
        from sqlalchemy import func

        rows = self._conn.execute(select(bank_messages.c.status, func.count()).group_by(bank_messages.c.status))
        return {s: int(n) for s, n in rows}


def _message(row: object, vault: AccountVault) -> BankMessage:
    m = dict(row)  # type: ignore[call-overload]
    debtor = vault.open(m["debtor_account_enc"], field=DEBTOR) if m["debtor_account_enc"] else m["debtor_account"]
    payload = vault.open_bytes(m["payload_enc"], field=PAYLOAD) if m["payload_enc"] else bytes(m["payload"])
    return BankMessage(message_id=m["message_id"], bank_id=m["bank_id"], message_type=m["message_type"],
                       debtor_account=debtor, payload=payload, status=m["status"],
                       created_at=m["created_at"], sent_at=m["sent_at"], group_status=m["group_status"])
