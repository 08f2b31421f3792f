"""Messages the hub built for banks, and which order went in which message.

`bank_message_items.order_id` is unique: an order is put in exactly one message, ever. Together
with the bank deduplicating on MsgId, that is what makes "never sent twice" hold across crashes.

A pain.001 names the accounts it pays from and to, so the message bytes, the status report and the
debtor account are sealed at rest (R19, revision 0007_encryption): `payload_enc`,
`status_report_enc`, `debtor_account_enc` (+ `_bidx` blind index, `_masked`). `payload_sha256`
stays the hash of the clear bytes: resubmission compares it. `payload`, `status_report` and
`debtor_account` are no longer written; rows older than 0007 keep clear values there (ADR 0011).
"""

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from yinqi.adapters.db.metadata import metadata

bank_messages = Table(
    "bank_messages",
    metadata,
    Column("message_id", String(35), primary_key=True),
    Column("bank_id", String(32), nullable=False),
    Column("message_type", String(32), nullable=False),
    Column("debtor_account", String(64), nullable=True),  # legacy (pre-0007) clear value
    Column("payload", LargeBinary, nullable=True),  # legacy (pre-0007) clear bytes
    Column("payload_sha256", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # built, sent, answered
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("group_status", String(8), nullable=True),
    Column("status_report", LargeBinary, nullable=True),
    Column("transaction_count", Integer, nullable=False),
    Column("debtor_account_enc", Text, nullable=True),
    Column("debtor_account_bidx", String(32), nullable=True),
    Column("debtor_account_masked", String(40), nullable=True),
    Column("payload_enc", Text, nullable=True),
    Column("status_report_enc", Text, nullable=True),
)

bank_message_items = Table(
    "bank_message_items",
    metadata,
    Column("message_id", String(35), ForeignKey("bank_messages.message_id"), nullable=False),
    Column("order_id", String(36), nullable=False, unique=True),
    Column("payment_info_id", String(35), nullable=False),
    Column("end_to_end_id", String(35), nullable=False),
    Column("last_status", String(8), nullable=True),
    Column("last_reason", Text, nullable=True),
    UniqueConstraint("message_id", "end_to_end_id", name="uq_bank_message_items_msg_e2e"),
)
