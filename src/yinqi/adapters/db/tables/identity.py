"""Who may act: companies, users, their roles and company grants, console sessions, API tokens,
login failure counters and role-grant requests.

Secrets are never stored in a usable form: `users.password_hash` is Argon2id, TOTP secrets are
AES-GCM sealed (`adapters/crypto/totp.py`), `sessions.id` is the SHA-256 of the session token and
`api_tokens.secret_hash` the SHA-256 of the API token. `login_failures` is keyed by the username
as typed (normalised), real or not, so lockout cannot be used to discover which users exist.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from yinqi.adapters.db.metadata import metadata

ROLES_SQL = "'operator','approver','risk_officer','treasurer','auditor','admin'"

companies = Table(
    "companies",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("password_changed_at", DateTime(timezone=True), nullable=False),
    Column("approval_limit_minor", BigInteger, nullable=True),
    Column("disabled", Boolean, nullable=False),
    Column("totp_secret", Text, nullable=True),          # sealed; set once enrolment is confirmed
    Column("totp_pending_secret", Text, nullable=True),  # sealed; between begin and confirm of enrolment
    Column("totp_last_step", BigInteger, nullable=True),  # last accepted TOTP time step (single use)
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("approval_limit_minor IS NULL OR approval_limit_minor >= 0", name="approval_limit_non_negative"),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("role", String(24), nullable=False),
    PrimaryKeyConstraint("user_id", "role", name="pk_user_roles"),
    CheckConstraint(f"role IN ({ROLES_SQL})", name="role_known"),
)

user_companies = Table(
    "user_companies",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("company_id", String(64), ForeignKey("companies.id"), nullable=False),
    PrimaryKeyConstraint("user_id", "company_id", name="pk_user_companies"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 hex of the token, never the token
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("credential_at", DateTime(timezone=True), nullable=False),
    Column("step_up_at", DateTime(timezone=True), nullable=True),
    Column("source_address", String(64), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("end_reason", String(32), nullable=False),
    CheckConstraint("state IN ('password_ok','authenticated')", name="state_known"),
    Index("ix_sessions_user_id", "user_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False),  # SHA-256 hex of the whole token
    Column("scopes", Text, nullable=False),     # JSON list of permission names
    Column("companies", Text, nullable=False),  # JSON list of company ids
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_api_tokens_user_id", "user_id"),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("username", String(80), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("last_failure_at", DateTime(timezone=True), nullable=True),
)

role_grant_requests = Table(
    "role_grant_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("role", String(24), nullable=False),
    Column("requested_by", String(36), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(36), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("outcome", String(16), nullable=False),
    CheckConstraint(f"role IN ({ROLES_SQL})", name="role_known"),
    CheckConstraint("outcome IN ('pending','approved','granted')", name="outcome_known"),
    Index("ix_role_grant_requests_outcome", "outcome"),
)
