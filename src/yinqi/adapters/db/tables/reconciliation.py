"""Match groups (revision 0009_recon_groups): who decided which statement lines pay which items.

`reconciliation_groups` and `reconciliation_group_members` are history: triggers on both backends
refuse UPDATE and DELETE, so a decision is undone only by a new group (`status` 'unmatched',
`supersedes` naming the group it takes apart). `reconciliation_claims` is the current state
derived from that history, as `payment_orders` is of its events: one row per line ('entry') or
item ('order') in an active group, its primary key the storage-side proof that nothing is matched
twice. An unmatch deletes the claims of the group it supersedes, in the same transaction.
Rows of the older `reconciliation_matches` table were copied into groups ('m-<id>') by 0009.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from yinqi.adapters.db.metadata import metadata

reconciliation_groups = Table(
    "reconciliation_groups",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("rule", String(32), nullable=False),
    Column("strategy", String(8), nullable=False),
    Column("confidence", String(8), nullable=False),
    Column("reasons", Text, nullable=False),  # JSON list of reason strings ("FEE_DRIFT:250")
    Column("currency", String(3), nullable=False),
    Column("account", String(64), nullable=True),  # the lines' account (blind index)
    Column("fee_minor", BigInteger, nullable=False),
    Column("ledger_seq", BigInteger, nullable=True),  # the group's own posting (fee, write-off, reversal)
    Column("write_off_account", String(200), nullable=True),
    Column("supersedes", String(36), ForeignKey("reconciliation_groups.id"), nullable=True),
    Column("reason", Text, nullable=False),
    Column("company_id", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
    Index("ix_reconciliation_groups_created", "created_at", "id"),
    Index("ix_reconciliation_groups_supersedes", "supersedes"),
)

reconciliation_group_members = Table(
    "reconciliation_group_members",
    metadata,
    Column("group_id", String(36), ForeignKey("reconciliation_groups.id"), nullable=False),
    Column("kind", String(8), nullable=False),  # 'entry' (a statement line) or 'order'
    Column("ref", String(36), nullable=False),  # the entry id as text, or the order id
    Column("amount_minor", BigInteger, nullable=False),  # signed as on the statement / as expected there
    PrimaryKeyConstraint("group_id", "kind", "ref", name="pk_reconciliation_group_members"),
    Index("ix_reconciliation_group_members_ref", "kind", "ref"),
)

reconciliation_claims = Table(
    "reconciliation_claims",
    metadata,
    Column("kind", String(8), nullable=False),
    Column("ref", String(36), nullable=False),
    Column("group_id", String(36), ForeignKey("reconciliation_groups.id"), nullable=False),
    PrimaryKeyConstraint("kind", "ref", name="pk_reconciliation_claims"),
    Index("ix_reconciliation_claims_group", "group_id"),
)
