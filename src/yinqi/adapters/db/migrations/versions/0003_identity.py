"""Identity: companies, users, roles, company grants, sessions, API tokens, login failures, role grants.

Revision ID: 0003_identity
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_identity"
down_revision = "0001"
branch_labels = None
depends_on = None

_ROLES = "'operator','approver','risk_officer','treasurer','auditor','admin'"


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        _at("password_changed_at"),
        sa.Column("approval_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("totp_secret", sa.Text(), nullable=True),
        sa.Column("totp_pending_secret", sa.Text(), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        _at("created_at"),
        sa.CheckConstraint("approval_limit_minor IS NULL OR approval_limit_minor >= 0",
                           name=op.f("ck_users_approval_limit_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(24), nullable=False),
        sa.CheckConstraint(f"role IN ({_ROLES})", name=op.f("ck_user_roles_role_known")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_roles_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "role", name="pk_user_roles"),
    )
    op.create_table(
        "user_companies",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("company_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_companies_user_id_users")),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"],
                                name=op.f("fk_user_companies_company_id_companies")),
        sa.PrimaryKeyConstraint("user_id", "company_id", name="pk_user_companies"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _at("created_at"),
        _at("last_seen_at"),
        _at("credential_at"),
        _at("step_up_at", nullable=True),
        sa.Column("source_address", sa.String(64), nullable=False),
        _at("ended_at", nullable=True),
        sa.Column("end_reason", sa.String(32), nullable=False),
        sa.CheckConstraint("state IN ('password_ok','authenticated')", name=op.f("ck_sessions_state_known")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("companies", sa.Text(), nullable=False),
        _at("created_at"),
        _at("last_used_at", nullable=True),
        _at("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "login_failures",
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        _at("locked_until", nullable=True),
        _at("last_failure_at", nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_login_failures")),
    )
    op.create_table(
        "role_grant_requests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(24), nullable=False),
        sa.Column("requested_by", sa.String(36), nullable=False),
        _at("requested_at"),
        sa.Column("decided_by", sa.String(36), nullable=True),
        _at("decided_at", nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.CheckConstraint(f"role IN ({_ROLES})", name=op.f("ck_role_grant_requests_role_known")),
        sa.CheckConstraint("outcome IN ('pending','approved','granted')",
                           name=op.f("ck_role_grant_requests_outcome_known")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_role_grant_requests_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grant_requests")),
    )
    op.create_index("ix_role_grant_requests_outcome", "role_grant_requests", ["outcome"])


def downgrade() -> None:
    op.drop_index("ix_role_grant_requests_outcome", table_name="role_grant_requests")
    op.drop_table("role_grant_requests")
    op.drop_table("login_failures")
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
    op.drop_table("user_companies")
    op.drop_table("user_roles")
    op.drop_table("users")
    op.drop_table("companies")
