"""Join the issue-3 branches (audit, identity, approvals, imports, beneficiaries, encryption)
into one line, so later revisions have a single parent and `alembic history` reads in order.

Revision ID: 0008_merge_issue3
Revises: 0002_audit, 0003_identity, 0004_approvals, 0005_imports, 0006_beneficiaries, 0007_encryption
"""

revision = "0008_merge_issue3"
down_revision = (
    "0002_audit",
    "0003_identity",
    "0004_approvals",
    "0005_imports",
    "0006_beneficiaries",
    "0007_encryption",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: a merge point only."""


def downgrade() -> None:
    """Nothing to change: a merge point only."""
