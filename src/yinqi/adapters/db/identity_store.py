"""SQL store of identities: users with roles and company grants, sessions, API tokens, login
failure counters, role-grant requests (see `yinqi.application.identity` for the rules).

The store also carries the two pieces of crypto whose outputs it keeps, so a use case needs only
the unit of work: `passwords` (Argon2id) and `totp` (code computation and AES-GCM sealing of TOTP
secrets, key file under YINQI_HOME, loaded on first use).

Races: the login failure counter is read-modify-write; `lock_failures` makes sure the row exists
(INSERT … ON CONFLICT DO NOTHING) and then locks it (SELECT … FOR UPDATE on PostgreSQL; SQLite's
BEGIN IMMEDIATE already serialises writers), so two concurrent wrong passwords count as two.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from yinqi.adapters.crypto.passwords import Argon2PasswordHasher
from yinqi.adapters.crypto.totp import Totp, default_totp
from yinqi.adapters.db.tables.identity import (
    api_tokens,
    companies,
    login_failures,
    role_grant_requests,
    sessions,
    user_companies,
    user_roles,
    users,
)
from yinqi.domain.identity.grants import GrantOutcome, GrantRequest
from yinqi.domain.identity.lockout import LoginFailures
from yinqi.domain.identity.principal import Role
from yinqi.domain.identity.sessions import Session, SessionState
from yinqi.domain.identity.tokens import ApiToken
from yinqi.domain.identity.users import User

__all__ = ["SqlIdentityStore", "TotpRecord"]

_PASSWORDS = Argon2PasswordHasher()


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _at(value: datetime) -> datetime:
    aware = _aware(value)
    assert aware is not None
    return aware


@dataclass(frozen=True, slots=True)
class TotpRecord:
    secret: str | None          # sealed, confirmed
    pending_secret: str | None  # sealed, awaiting the first code
    last_step: int | None


class SqlIdentityStore:
    def __init__(self, conn: Connection, *, home: Path | None = None, totp: Totp | None = None,
                 passwords: Argon2PasswordHasher | None = None) -> None:
        self._conn = conn
        self._home = home
        self._totp = totp
        self.passwords = passwords or _PASSWORDS

    @property
    def totp(self) -> Totp:
        if self._totp is None:
            self._totp = default_totp(self._home)
        return self._totp

    def _for_update(self, stmt: Any, for_update: bool) -> Any:
        return stmt.with_for_update() if for_update and self._conn.dialect.name == "postgresql" else stmt

    # --- companies --------------------------------------------------------------------------
    def add_company(self, *, company_id: str, name: str, at: datetime) -> None:
        self._conn.execute(insert(companies).values(id=company_id, name=name, created_at=at))

    def company_exists(self, company_id: str) -> bool:
        return self._conn.execute(select(companies.c.id).where(companies.c.id == company_id)).first() is not None

    def list_companies(self) -> list[tuple[str, str]]:
        rows = self._conn.execute(select(companies.c.id, companies.c.name).order_by(companies.c.id))
        return [(r.id, r.name) for r in rows]

    # --- users ------------------------------------------------------------------------------
    def count_users(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(users)).scalar_one())

    def add_user(self, user: User, *, password_hash: str) -> None:
        self._conn.execute(insert(users).values(
            id=user.id, username=user.username, display_name=user.display_name, password_hash=password_hash,
            password_changed_at=user.password_changed_at, approval_limit_minor=user.approval_limit_minor,
            disabled=user.disabled, created_at=user.created_at))
        for role in user.roles:
            self.add_role(user.id, role)
        for company_id in user.companies:
            self.add_company_grant(user.id, company_id)

    def get_user(self, user_id: str, *, for_update: bool = False) -> User | None:
        stmt = self._for_update(select(users).where(users.c.id == user_id), for_update)
        row = self._conn.execute(stmt).mappings().first()
        return None if row is None else self._user(row)

    def find_user(self, username: str) -> User | None:
        row = self._conn.execute(select(users).where(users.c.username == username)).mappings().first()
        return None if row is None else self._user(row)

    def list_users(self) -> list[User]:
        rows = self._conn.execute(select(users).order_by(users.c.username)).mappings().all()
        roles = self._grouped(select(user_roles.c.user_id, user_roles.c.role))
        grants = self._grouped(select(user_companies.c.user_id, user_companies.c.company_id))
        return [self._user(r, roles.get(r["id"], []), grants.get(r["id"], [])) for r in rows]

    def _grouped(self, stmt: Any) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for user_id, value in self._conn.execute(stmt):
            out.setdefault(user_id, []).append(value)
        return out

    def _user(self, row: Any, roles: list[str] | None = None, grants: list[str] | None = None) -> User:
        if roles is None:
            roles = list(self._conn.execute(select(user_roles.c.role).where(user_roles.c.user_id == row["id"]))
                         .scalars())
        if grants is None:
            grants = list(self._conn.execute(select(user_companies.c.company_id)
                                             .where(user_companies.c.user_id == row["id"])).scalars())
        return User(id=row["id"], username=row["username"], display_name=row["display_name"],
                    roles=frozenset(Role(r) for r in roles), companies=frozenset(grants),
                    approval_limit_minor=row["approval_limit_minor"], disabled=bool(row["disabled"]),
                    totp_enrolled=row["totp_secret"] is not None,
                    password_changed_at=_at(row["password_changed_at"]), created_at=_at(row["created_at"]))

    def password_hash(self, user_id: str) -> str:
        return str(self._conn.execute(select(users.c.password_hash).where(users.c.id == user_id)).scalar_one())

    def set_password(self, user_id: str, *, password_hash: str, changed_at: datetime) -> None:
        self._update_user(user_id, password_hash=password_hash, password_changed_at=changed_at)

    def rehash_password(self, user_id: str, *, password_hash: str) -> None:
        """Same password, stronger parameters: not a password change (sessions stay valid)."""
        self._update_user(user_id, password_hash=password_hash)

    def update_user(self, user: User) -> None:
        """Write the mutable profile fields: display name, approval limit, disabled."""
        self._update_user(user.id, display_name=user.display_name,
                          approval_limit_minor=user.approval_limit_minor, disabled=user.disabled)

    def _update_user(self, user_id: str, **values: Any) -> None:
        result = self._conn.execute(update(users).where(users.c.id == user_id).values(**values))
        assert result.rowcount == 1, f"user {user_id} not found"

    def add_role(self, user_id: str, role: Role) -> None:
        if role not in self._roles(user_id):
            self._conn.execute(insert(user_roles).values(user_id=user_id, role=role.value))

    def remove_role(self, user_id: str, role: Role) -> None:
        self._conn.execute(delete(user_roles).where(user_roles.c.user_id == user_id,
                                                    user_roles.c.role == role.value))

    def _roles(self, user_id: str) -> set[Role]:
        return {Role(r) for r in self._conn.execute(
            select(user_roles.c.role).where(user_roles.c.user_id == user_id)).scalars()}

    def add_company_grant(self, user_id: str, company_id: str) -> None:
        exists = self._conn.execute(select(user_companies.c.user_id).where(
            user_companies.c.user_id == user_id, user_companies.c.company_id == company_id)).first()
        if exists is None:
            self._conn.execute(insert(user_companies).values(user_id=user_id, company_id=company_id))

    # --- TOTP ---------------------------------------------------------------------------------
    def totp_record(self, user_id: str, *, for_update: bool = False) -> TotpRecord:
        stmt = self._for_update(select(users.c.totp_secret, users.c.totp_pending_secret, users.c.totp_last_step)
                                .where(users.c.id == user_id), for_update)
        row = self._conn.execute(stmt).one()
        return TotpRecord(row.totp_secret, row.totp_pending_secret, row.totp_last_step)

    def set_totp_pending(self, user_id: str, *, sealed_secret: str) -> None:
        self._update_user(user_id, totp_pending_secret=sealed_secret)

    def confirm_totp(self, user_id: str, *, sealed_secret: str, step: int) -> None:
        self._update_user(user_id, totp_secret=sealed_secret, totp_pending_secret=None, totp_last_step=step)

    def set_totp_last_step(self, user_id: str, step: int) -> None:
        self._update_user(user_id, totp_last_step=step)

    # --- sessions -----------------------------------------------------------------------------
    def add_session(self, session: Session) -> None:
        self._conn.execute(insert(sessions).values(
            id=session.id, user_id=session.user_id, state=session.state.value, created_at=session.created_at,
            last_seen_at=session.last_seen_at, credential_at=session.credential_at, step_up_at=session.step_up_at,
            source_address=session.source_address[:64], ended_at=session.ended_at, end_reason=session.end_reason))

    def get_session(self, session_id: str, *, for_update: bool = False) -> Session | None:
        stmt = self._for_update(select(sessions).where(sessions.c.id == session_id), for_update)
        row = self._conn.execute(stmt).mappings().first()
        if row is None:
            return None
        return Session(id=row["id"], user_id=row["user_id"], state=SessionState(row["state"]),
                       created_at=_at(row["created_at"]), last_seen_at=_at(row["last_seen_at"]),
                       step_up_at=_aware(row["step_up_at"]), source_address=row["source_address"],
                       ended_at=_aware(row["ended_at"]), end_reason=row["end_reason"],
                       credential_at=_at(row["credential_at"]))

    def touch_session(self, session_id: str, *, at: datetime) -> None:
        self._conn.execute(update(sessions).where(sessions.c.id == session_id).values(last_seen_at=at))

    def set_step_up(self, session_id: str, *, at: datetime) -> None:
        self._conn.execute(update(sessions).where(sessions.c.id == session_id)
                           .values(step_up_at=at, last_seen_at=at))

    def set_credential_at(self, session_id: str, *, at: datetime) -> None:
        self._conn.execute(update(sessions).where(sessions.c.id == session_id).values(credential_at=at))

    def end_session(self, session_id: str, *, at: datetime, reason: str) -> bool:
        result = self._conn.execute(update(sessions).where(sessions.c.id == session_id, sessions.c.ended_at.is_(None))
                                    .values(ended_at=at, end_reason=reason[:32]))
        return result.rowcount == 1

    def end_user_sessions(self, user_id: str, *, at: datetime, reason: str, except_id: str | None = None) -> int:
        cond = [sessions.c.user_id == user_id, sessions.c.ended_at.is_(None)]
        if except_id is not None:
            cond.append(sessions.c.id != except_id)
        return self._conn.execute(update(sessions).where(*cond).values(ended_at=at, end_reason=reason[:32])).rowcount

    # --- API tokens ---------------------------------------------------------------------------
    def add_token(self, token: ApiToken, *, secret_hash: str) -> None:
        self._conn.execute(insert(api_tokens).values(
            id=token.id, user_id=token.user_id, name=token.name, secret_hash=secret_hash,
            scopes=json.dumps(sorted(token.scopes)), companies=json.dumps(sorted(token.companies)),
            created_at=token.created_at, last_used_at=None, revoked_at=None))

    def get_token(self, token_id: str) -> tuple[ApiToken, str] | None:
        row = self._conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).mappings().first()
        return None if row is None else (self._token(row), row["secret_hash"])

    def list_tokens(self, user_id: str | None = None) -> list[ApiToken]:
        stmt = select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id)
        if user_id is not None:
            stmt = stmt.where(api_tokens.c.user_id == user_id)
        return [self._token(r) for r in self._conn.execute(stmt).mappings()]

    @staticmethod
    def _token(row: Any) -> ApiToken:
        return ApiToken(id=row["id"], user_id=row["user_id"], name=row["name"],
                        scopes=frozenset(json.loads(row["scopes"])), companies=frozenset(json.loads(row["companies"])),
                        created_at=_at(row["created_at"]), last_used_at=_aware(row["last_used_at"]),
                        revoked_at=_aware(row["revoked_at"]))

    def revoke_token(self, token_id: str, *, at: datetime) -> bool:
        result = self._conn.execute(update(api_tokens).where(api_tokens.c.id == token_id,
                                                             api_tokens.c.revoked_at.is_(None)).values(revoked_at=at))
        return result.rowcount == 1

    def touch_token(self, token_id: str, *, at: datetime) -> None:
        self._conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=at))

    # --- login failures -------------------------------------------------------------------------
    def failures(self, username: str) -> LoginFailures:
        row = self._conn.execute(select(login_failures).where(login_failures.c.username == username)).mappings().first()
        return self._failures(username, row)

    def lock_failures(self, username: str) -> LoginFailures:
        """The counter row, created if missing and locked for this transaction."""
        dialect_insert = pg_insert if self._conn.dialect.name == "postgresql" else sqlite_insert
        self._conn.execute(dialect_insert(login_failures).values(username=username, count=0)
                           .on_conflict_do_nothing(index_elements=["username"]))
        stmt = self._for_update(select(login_failures).where(login_failures.c.username == username), True)
        return self._failures(username, self._conn.execute(stmt).mappings().first())

    @staticmethod
    def _failures(username: str, row: Any) -> LoginFailures:
        if row is None:
            return LoginFailures.none(username)
        return LoginFailures(username=username, count=row["count"], locked_until=_aware(row["locked_until"]),
                             last_failure_at=_aware(row["last_failure_at"]))

    def save_failures(self, failures: LoginFailures) -> None:
        self._conn.execute(update(login_failures).where(login_failures.c.username == failures.username).values(
            count=failures.count, locked_until=failures.locked_until, last_failure_at=failures.last_failure_at))

    def clear_failures(self, username: str) -> bool:
        return self._conn.execute(delete(login_failures).where(login_failures.c.username == username)).rowcount > 0

    # --- role grants ----------------------------------------------------------------------------
    def add_grant(self, request: GrantRequest) -> None:
        self._conn.execute(insert(role_grant_requests).values(
            id=request.id, user_id=request.user_id, role=request.role.value, requested_by=request.requested_by,
            requested_at=request.requested_at, decided_by=request.decided_by, decided_at=request.decided_at,
            outcome=request.outcome.value))

    def get_grant(self, request_id: str, *, for_update: bool = False) -> GrantRequest | None:
        stmt = self._for_update(select(role_grant_requests).where(role_grant_requests.c.id == request_id), for_update)
        row = self._conn.execute(stmt).mappings().first()
        return None if row is None else self._grant(row)

    def list_grants(self, *, pending_only: bool = False) -> list[GrantRequest]:
        stmt = select(role_grant_requests).order_by(role_grant_requests.c.requested_at, role_grant_requests.c.id)
        if pending_only:
            stmt = stmt.where(role_grant_requests.c.outcome == GrantOutcome.PENDING.value)
        return [self._grant(r) for r in self._conn.execute(stmt).mappings()]

    def save_grant(self, request: GrantRequest) -> None:
        self._conn.execute(update(role_grant_requests).where(role_grant_requests.c.id == request.id).values(
            decided_by=request.decided_by, decided_at=request.decided_at, outcome=request.outcome.value))

    @staticmethod
    def _grant(row: Any) -> GrantRequest:
        return GrantRequest(id=row["id"], user_id=row["user_id"], role=Role(row["role"]),
                            requested_by=row["requested_by"], requested_at=_at(row["requested_at"]),
                            decided_by=row["decided_by"], decided_at=_aware(row["decided_at"]),
                            outcome=GrantOutcome(row["outcome"]))
