"""Identity use cases: signing in with password and TOTP, sessions, step-up, API tokens, and the
administration of users and role grants (re-exported from `identity_admin` and `identity_tokens`,
so entry points import this one module).

Sign-in is two steps. `login` checks the password and opens a session in state `password_ok`
(it can do nothing else); `verify_totp` (or `confirm_totp_enrolment` on the first sign-in) checks
the second factor, ends that session and returns a NEW token for an `authenticated` one. Session
tokens carry 256 random bits and are given out once; only their SHA-256 is stored (and is the
`Principal.session_id`). A wrong username and a wrong password give the same error, after the same
Argon2 work (a dummy hash stands in for a missing user), and count toward the same per-username
lockout (`yinqi.domain.identity.lockout`). Every sign-in, failure, lock, step-up and logout is
audited; failures are committed before the error is raised, so they survive it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from yinqi.application.identity_admin import (
    ApprovalLimitInvalid,
    CompanyInvalid,
    approve_role_grant,
    bootstrap_admin,
    change_password,
    create_company,
    create_user,
    disable_user,
    enable_user,
    get_user,
    grant_company,
    list_companies,
    list_grant_requests,
    list_users,
    request_role_grant,
    reset_lockout,
    revoke_role,
    set_user_limit,
)
from yinqi.application.identity_base import (
    WRONG_CREDENTIALS,
    IdentityUnitOfWork,
    anonymous,
    commit_failure,
    lockout_key,
    principal_of,
    sha256_hex,
    write_audit,
)
from yinqi.application.identity_tokens import (
    IssuedToken,
    authenticate_token,
    issue_token,
    list_tokens,
    revoke_token,
)
from yinqi.application.ports import Clock
from yinqi.domain.identity.grants import GrantRequest
from yinqi.domain.identity.principal import Channel, Forbidden, NotAuthenticated, Principal, StepUpRequired
from yinqi.domain.identity.sessions import Session, SessionState
from yinqi.domain.identity.totp import (
    TotpInvalid,
    TotpNotEnrolled,
    accept_code,
    candidate_steps,
    normalise_code,
    time_step,
)
from yinqi.domain.identity.users import AccountDisabled, User, normalise_password

__all__ = [
    "ApprovalLimitInvalid", "CompanyInvalid", "GrantRequest", "IssuedToken", "LoginStep", "SignedIn",
    "TotpEnrolment", "User", "approve_role_grant", "authenticate_cli", "authenticate_session", "authenticate_token",
    "begin_totp_enrolment", "bootstrap_admin", "change_password", "confirm_totp_enrolment", "create_company",
    "create_user", "disable_user", "enable_user", "get_user", "grant_company", "issue_token", "list_companies",
    "list_grant_requests", "list_tokens", "list_users", "login", "logout", "request_role_grant", "reset_lockout",
    "revoke_role", "revoke_token", "set_user_limit", "step_up", "verify_totp",
]

SESSION_TOKEN_BYTES = 32  # 256 random bits (R16 asks for at least 128)


@dataclass(frozen=True, slots=True)
class LoginStep:
    session_token: str = field(repr=False)  # the cookie value; given once, stored only as SHA-256
    next: Literal["totp", "enrol_totp"]


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    secret_base32: str = field(repr=False)
    provisioning_uri: str = field(repr=False)  # otpauth://totp/Yinqi:<user>?secret=…&issuer=Yinqi (for the QR)


@dataclass(frozen=True, slots=True)
class SignedIn:
    principal: Principal
    session_token: str = field(repr=False)  # NEW token after full authentication: replace the cookie


# --- password -----------------------------------------------------------------------------------
def login(*, uow: IdentityUnitOfWork, clock: Clock, username: str, password: str, source_address: str) -> LoginStep:
    """First factor: a `password_ok` session that only the second factor can complete.

    Raises:
        NotAuthenticated (NOT_AUTHENTICATED): "wrong username or password", also for an unknown
            user and while the username is locked (audited as `user.login.failed`).
        AccountDisabled (ACCOUNT_DISABLED): right password, but the account is disabled.
    """
    now = clock.now()
    user, stored = _check_password(uow, username, password, now, source_address)
    store = uow.identity
    actor = principal_of(user, channel=Channel.CONSOLE, source_address=source_address)
    if user.disabled:
        raise commit_failure(uow, principal=actor, action="user.login.failed", at=now, object_id=user.id,
                             error=AccountDisabled("this account is disabled", where="username", rule="active"))
    if store.passwords.needs_rehash(stored):
        store.rehash_password(user.id, password_hash=store.passwords.hash(normalise_password(password)))
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    store.add_session(Session(id=sha256_hex(token), user_id=user.id, state=SessionState.PASSWORD_OK, created_at=now,
                              last_seen_at=now, step_up_at=None, source_address=source_address, ended_at=None,
                              end_reason="", credential_at=now))
    step: Literal["totp", "enrol_totp"] = "totp" if user.totp_enrolled else "enrol_totp"
    write_audit(uow, actor, "user.login.password", at=now, object_id=user.id, reason=f"next: {step}")
    uow.commit()
    return LoginStep(session_token=token, next=step)


def authenticate_cli(*, uow: IdentityUnitOfWork, clock: Clock, username: str, password: str) -> Principal:
    """The CLI acts as a named user after checking that user's password (it runs on the server with
    database access, so no TOTP): same errors, lockout and audit as `login`.

    Raises: NotAuthenticated (NOT_AUTHENTICATED).  AccountDisabled (ACCOUNT_DISABLED).
    """
    now = clock.now()
    user, _ = _check_password(uow, username, password, now, "cli", channel=Channel.CLI)
    actor = principal_of(user, channel=Channel.CLI, source_address="cli")
    if user.disabled:
        raise commit_failure(uow, principal=actor, action="user.login.failed", at=now, object_id=user.id,
                             error=AccountDisabled("this account is disabled", where="username", rule="active"))
    uow.identity.clear_failures(user.username)
    write_audit(uow, actor, "user.login.cli", at=now, object_id=user.id)
    uow.commit()
    return actor


def _check_password(uow: IdentityUnitOfWork, username: str, password: str, now: datetime, source_address: str,
                    channel: Channel = Channel.CONSOLE) -> tuple[User, str]:
    """The user and their stored hash, or the committed, audited failure raised."""
    store = uow.identity
    key = lockout_key(username)
    user: User | None = store.find_user(key)
    stored = store.password_hash(user.id) if user is not None else _dummy_hash(store.passwords)
    attempt = normalise_password(password)
    actor = anonymous(source_address, channel)
    error = NotAuthenticated(WRONG_CREDENTIALS, where="username", rule="credentials")
    if store.failures(key).is_locked(now):
        store.passwords.verify(_dummy_hash(store.passwords), attempt)  # same work as an unlocked attempt
        raise commit_failure(uow, principal=actor, action="user.login.failed", at=now, error=error,
                             object_id=user.id if user else None, detail="locked out")
    if user is None or not store.passwords.verify(stored, attempt):
        raise commit_failure(uow, principal=actor, action="user.login.failed", at=now, error=error, username=key,
                             object_id=user.id if user else None,
                             detail="wrong password" if user else f"unknown user ({key})")
    return user, stored


_DUMMY: dict[int, str] = {}


def _dummy_hash(hasher: object) -> str:
    """A hash of a random password with the hasher's parameters, made once per hasher."""
    if id(hasher) not in _DUMMY:
        _DUMMY[id(hasher)] = hasher.hash(secrets.token_urlsafe(16))  # type: ignore[attr-defined]
    return _DUMMY[id(hasher)]


# --- TOTP ----------------------------------------------------------------------------------------
def begin_totp_enrolment(*, uow: IdentityUnitOfWork, clock: Clock, session_token: str) -> TotpEnrolment:
    """A new TOTP secret for the session's user, pending until `confirm_totp_enrolment`. Allowed in
    a `password_ok` session of a user without TOTP, or a signed-in session with a fresh step-up
    (re-enrolment replaces the old authenticator).

    Raises:
        NotAuthenticated (NOT_AUTHENTICATED): no live session.
        Forbidden (FORBIDDEN): the user has TOTP and this session has not completed sign-in.
        StepUpRequired (STEP_UP_REQUIRED): re-enrolment without a TOTP check in the last 5 minutes.
    """
    now = clock.now()
    session, user = _live_session(uow, session_token, now)
    if user.totp_enrolled and session.state is SessionState.PASSWORD_OK:
        raise Forbidden("TOTP is enrolled already: verify a code to sign in", where="session", rule="totp_enrolled")
    principal = _session_principal(user, session, session.source_address)
    if user.totp_enrolled and not principal.step_up_fresh(now):
        raise StepUpRequired("verify a current code before enrolling a new authenticator", where="code",
                             rule="step_up")
    totp = uow.identity.totp
    secret = totp.new_secret()
    uow.identity.set_totp_pending(user.id, sealed_secret=totp.seal(secret, user_id=user.id))
    write_audit(uow, principal, "user.totp.enrol.begin", at=now, object_id=user.id)
    uow.commit()
    return TotpEnrolment(secret_base32=secret, provisioning_uri=totp.provisioning_uri(secret, username=user.username))


def confirm_totp_enrolment(*, uow: IdentityUnitOfWork, clock: Clock, session_token: str, code: str) -> SignedIn:
    """The first code from the new authenticator: enrolment done, and (from `password_ok`) sign-in
    complete under a new session token. Other sessions of the user end on re-enrolment.

    Raises:
        NotAuthenticated (NOT_AUTHENTICATED).  TotpNotEnrolled (TOTP_NOT_ENROLLED): no enrolment begun.
        TotpInvalid (TOTP_INVALID): wrong code (counts toward lockout).
    """
    now = clock.now()
    session, user = _live_session(uow, session_token, now)
    if user.totp_enrolled and session.state is SessionState.PASSWORD_OK:
        raise Forbidden("TOTP is enrolled already: verify a code to sign in", where="session", rule="totp_enrolled")
    _refuse_locked(uow, session, user, now)
    record = uow.identity.totp_record(user.id, for_update=True)
    if record.pending_secret is None:
        raise TotpNotEnrolled("no TOTP enrolment in progress", where="code", rule="enrolment_begun")
    step = _accept(uow, session, user, code, now, sealed=record.pending_secret, last_step=None)
    uow.identity.confirm_totp(user.id, sealed_secret=record.pending_secret, step=step)
    if user.totp_enrolled:
        uow.identity.end_user_sessions(user.id, at=now, reason="totp_reenrolled", except_id=session.id)
    return _second_factor_done(uow, session, user, session_token, now, action="user.totp.enrol")


def verify_totp(*, uow: IdentityUnitOfWork, clock: Clock, session_token: str, code: str) -> SignedIn:
    """Second factor: completes sign-in from `password_ok` (NEW session token), or, in a signed-in
    session, is a step-up (same token, `step_up_at` = now).

    Raises:
        NotAuthenticated (NOT_AUTHENTICATED): no live session, or the username is locked.
        TotpNotEnrolled (TOTP_NOT_ENROLLED).  TotpInvalid (TOTP_INVALID): wrong or outside ±1 step.
        TotpReplayed (TOTP_REPLAYED): a code already used. Both count toward lockout.
    """
    now = clock.now()
    session, user = _live_session(uow, session_token, now)
    _refuse_locked(uow, session, user, now)
    record = uow.identity.totp_record(user.id, for_update=True)
    if record.secret is None:
        raise TotpNotEnrolled("no authenticator enrolled: enrol one first", where="code", rule="enrolled")
    step = _accept(uow, session, user, code, now, sealed=record.secret, last_step=record.last_step)
    uow.identity.set_totp_last_step(user.id, step)
    action = "user.login" if session.state is SessionState.PASSWORD_OK else "user.step_up"
    return _second_factor_done(uow, session, user, session_token, now, action=action)


def step_up(*, uow: IdentityUnitOfWork, clock: Clock, principal: Principal, code: str) -> Principal:
    """Re-verify TOTP for a signed-in console principal: returns it with `step_up_at` = now.

    Raises:
        Forbidden (FORBIDDEN): an API-token (or CLI) principal; only a console session steps up.
        NotAuthenticated, TotpInvalid, TotpReplayed, TotpNotEnrolled: as `verify_totp`.
    """
    if principal.token_id is not None or principal.session_id is None:
        raise Forbidden("only a signed-in console session can step up", where="actor", rule="session_only")
    now = clock.now()
    session, user = _live_session(uow, None, now, session_id=principal.session_id)
    if session.state is not SessionState.AUTHENTICATED:
        raise NotAuthenticated("sign-in is not complete", where="session", rule="authenticated")
    _refuse_locked(uow, session, user, now)
    record = uow.identity.totp_record(user.id, for_update=True)
    if record.secret is None:
        raise TotpNotEnrolled("no authenticator enrolled", where="code", rule="enrolled")
    step = _accept(uow, session, user, code, now, sealed=record.secret, last_step=record.last_step)
    uow.identity.set_totp_last_step(user.id, step)
    uow.identity.set_step_up(session.id, at=now)
    uow.identity.clear_failures(user.username)
    write_audit(uow, principal, "user.step_up", at=now, object_id=user.id)
    uow.commit()
    return principal.stepped_up(now)


def _accept(uow: IdentityUnitOfWork, session: Session, user: User, code: str, now: datetime, *, sealed: str,
            last_step: int | None) -> int:
    totp = uow.identity.totp
    try:
        typed = normalise_code(code, digits=totp.digits)
        secret = totp.open(sealed, user_id=user.id)
        expected = totp.codes(secret, candidate_steps(time_step(now, totp.period)))
        step: int = accept_code(typed, expected, last_used_step=last_step)
        return step
    except TotpInvalid as exc:
        raise commit_failure(uow, principal=_session_principal(user, session, session.source_address),
                             action="user.totp.failed", at=now, error=exc, username=user.username,
                             object_id=user.id) from None


def _refuse_locked(uow: IdentityUnitOfWork, session: Session, user: User, now: datetime) -> None:
    if uow.identity.failures(user.username).is_locked(now):
        uow.identity.end_session(session.id, at=now, reason="locked")
        raise commit_failure(uow, principal=_session_principal(user, session, session.source_address),
                             action="user.totp.failed", at=now, object_id=user.id, detail="locked out",
                             error=NotAuthenticated(WRONG_CREDENTIALS, where="code", rule="locked"))


def _second_factor_done(uow: IdentityUnitOfWork, session: Session, user: User, token: str, now: datetime, *,
                        action: str) -> SignedIn:
    """Rotate a `password_ok` session into a new authenticated one; or refresh step-up in place."""
    store = uow.identity
    store.clear_failures(user.username)
    if session.state is SessionState.PASSWORD_OK:
        token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
        store.end_session(session.id, at=now, reason="rotated")
        session = session.rotated(new_id=sha256_hex(token), now=now)
        store.add_session(session)
    else:
        store.set_step_up(session.id, at=now)
        session = replace(session, step_up_at=now, last_seen_at=now)
    principal = _session_principal(user, session, session.source_address)
    write_audit(uow, principal, action, at=now, object_id=user.id)
    uow.commit()
    return SignedIn(principal=principal, session_token=token)


# --- sessions ------------------------------------------------------------------------------------
def authenticate_session(*, uow: IdentityUnitOfWork, clock: Clock, session_token: str,
                         source_address: str) -> Principal:
    """The principal of a fully signed-in console session; marks it used (idle timer restarts).

    Raises:
        NotAuthenticated (NOT_AUTHENTICATED): unknown, ended, idle over 15 min, older than 8 h,
            user disabled, password changed since, or sign-in not complete.
    """
    now = clock.now()
    session, user = _live_session(uow, session_token, now)
    if session.state is not SessionState.AUTHENTICATED:
        raise NotAuthenticated("sign-in is not complete", where="session", rule="authenticated")
    uow.identity.touch_session(session.id, at=now)
    uow.commit()
    return _session_principal(user, session, source_address)


def logout(*, uow: IdentityUnitOfWork, clock: Clock, session_token: str) -> None:
    """End the session (any state). An unknown or ended token is quietly accepted: logging out twice
    is not an error a person can act on."""
    now = clock.now()
    session: Session | None = uow.identity.get_session(sha256_hex(session_token), for_update=True)
    if session is None or session.ended_at is not None:
        return
    uow.identity.end_session(session.id, at=now, reason="logout")
    user: User | None = uow.identity.get_user(session.user_id)
    if user is not None:
        write_audit(uow, _session_principal(user, session, session.source_address), "user.logout", at=now,
                    object_id=user.id)
    uow.commit()


def _live_session(uow: IdentityUnitOfWork, token: str | None, now: datetime, *,
                  session_id: str | None = None) -> tuple[Session, User]:
    """The session and its user if the session may still be used; a dead one is ended (committed,
    audited once) and refused."""
    sid = session_id if session_id is not None else sha256_hex(token or "")
    session: Session | None = uow.identity.get_session(sid)
    user: User | None = None if session is None else uow.identity.get_user(session.user_id)
    if session is None or user is None:
        raise NotAuthenticated("not signed in", where="session", rule="exists")
    problem = session.problem(now=now, user_disabled=user.disabled, password_changed_at=user.password_changed_at)
    if problem is None:
        return session, user
    if session.ended_at is None and uow.identity.end_session(session.id, at=now, reason=problem):
        write_audit(uow, _session_principal(user, session, session.source_address), "user.session.end", at=now,
                    object_id=user.id, reason=problem)
        uow.commit()
    raise NotAuthenticated("the session has ended; sign in again", where="session", rule=problem.split(":")[0])


def _session_principal(user: User, session: Session, source_address: str) -> Principal:
    return principal_of(user, channel=Channel.CONSOLE, source_address=source_address, session_id=session.id,
                        step_up_at=session.step_up_at)
