"""Beneficiaries (current state) and `beneficiary_changes` (append-only history of proposals and
their decisions).

A change is one proposal row (`seq` 1, the proposed values and the account they replace) and at most
one decision row (`seq` 2, approve or reject, with the approver and time): the primary key
`(change_id, seq)` lets only one decision in, even when two approvers race. The database refuses
UPDATE and DELETE on `beneficiary_changes` (triggers in migration 0006), so the history of who
proposed and who approved which account cannot be rewritten. `beneficiaries.pending_change_id`
names the one change still waiting; `version` is the optimistic lock.

Account numbers follow `payment_orders` (R19, revision 0010_seal_beneficiaries): `*_account_enc`
holds the sealed number, `account_bidx` its blind index (lookups compare it), `*_account_masked` the
display form; `*_account_number` is written no more and keeps clear values only on rows older than
that revision. A key rotation re-seals `beneficiary_changes`' two sealed columns in place: the only
UPDATE its append-only guard lets through.
"""

from sqlalchemy import CheckConstraint, Column, DateTime, Index, Integer, String, Table, Text

from yinqi.adapters.db.metadata import metadata

beneficiaries = Table(
    "beneficiaries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("company_id", String(64), nullable=False),
    Column("name", String(140), nullable=False),
    Column("name_key", String(140), nullable=False),  # normalised name, for matching payees
    Column("account_scheme", String(8), nullable=False),
    Column("account_number", String(34), nullable=True),  # pre-0010 rows only
    Column("account_enc", Text, nullable=True),
    Column("account_bidx", String(32), nullable=True),
    Column("account_masked", String(40), nullable=True),
    Column("bank_code", String(12), nullable=True),
    Column("bic", String(11), nullable=True),
    Column("country", String(2), nullable=False),
    Column("address", Text, nullable=True),  # JSON object of the structured address parts
    Column("status", String(16), nullable=False),
    Column("pending_change_id", String(36), nullable=True),
    Column("cooling_off_until", DateTime(timezone=True), nullable=True),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_beneficiaries_company_name", "company_id", "name_key"),
    Index("ix_beneficiaries_company_account_bidx", "company_id", "account_bidx"),
)

beneficiary_changes = Table(
    "beneficiary_changes",
    metadata,
    Column("change_id", String(36), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),  # 1 proposal, 2 decision
    Column("beneficiary_id", String(36), nullable=False),
    Column("company_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),    # create | account
    Column("action", String(16), nullable=False),  # propose | approve | reject
    Column("actor", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("name", String(140), nullable=True),
    Column("new_account_scheme", String(8), nullable=True),
    Column("new_account_number", String(34), nullable=True),
    Column("new_bank_code", String(12), nullable=True),
    Column("bic", String(11), nullable=True),
    Column("country", String(2), nullable=True),
    Column("address", Text, nullable=True),
    Column("old_account_scheme", String(8), nullable=True),
    Column("old_account_number", String(34), nullable=True),
    Column("old_bank_code", String(12), nullable=True),
    Column("cooling_off_until", DateTime(timezone=True), nullable=True),
    Column("new_account_enc", Text, nullable=True),
    Column("new_account_masked", String(40), nullable=True),
    Column("old_account_enc", Text, nullable=True),
    Column("old_account_masked", String(40), nullable=True),
    CheckConstraint("seq IN (1, 2)", name="seq_proposal_or_decision"),
    Index("ix_beneficiary_changes_beneficiary", "beneficiary_id", "change_id"),
)
