"""Shared set-up for identity tests: a clock that tests move, a unit-of-work factory whose TOTP key
lives in the test's own YINQI_HOME, and people who are really signed in (password, then a TOTP
code computed with pyotp from the enrolment secret, as an authenticator app would)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
from sqlalchemy import Engine

from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application import identity
from yinqi.domain.identity.principal import Principal, Role

LEDGER_KEY = b"k" * 32
ADMIN_PASSWORD = "admin password 1234"
PASSWORD = "a long enough password"
START = datetime(2030, 1, 10, 9, 0, 5, tzinfo=UTC)  # 5 s into a 30 s TOTP step


class MovableClock:
    def __init__(self, at: datetime = START) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


@dataclass
class Person:
    """A user who enrolled TOTP: `secret` is what their authenticator app holds."""

    user_id: str
    username: str
    password: str
    secret: str
    session_token: str = field(repr=False)
    principal: Principal

    def code(self, at: datetime, *, steps: int = 0) -> str:
        return pyotp.TOTP(self.secret).at(at, counter_offset=steps)


class IdentityWorld:
    """A migrated database with a bootstrapped admin ("root", company ACME)."""

    def __init__(self, engine: Engine, home: Path) -> None:
        self.engine = engine
        self.home = home
        self.clock = MovableClock()
        with self.uow() as uow:
            root = identity.bootstrap_admin(uow=uow, clock=self.clock, username="root", password=ADMIN_PASSWORD,
                                            company_id="ACME", company_name="Acme Trading")
        self.root = self.enrol(root.username, ADMIN_PASSWORD)

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, ledger_key=LEDGER_KEY, home=self.home)

    def run(self, use_case: Callable[..., object], **kwargs: object) -> object:
        """Call an identity use case in a fresh unit of work."""
        with self.uow() as uow:
            return use_case(uow=uow, clock=self.clock, **kwargs)

    def run_read(self, use_case: Callable[..., object], **kwargs: object) -> object:
        """Call a read-only identity use case (no clock) in a fresh unit of work."""
        with self.uow() as uow:
            return use_case(uow=uow, **kwargs)

    def login(self, username: str, password: str = PASSWORD, source: str = "10.0.0.1") -> identity.LoginStep:
        step = self.run(identity.login, username=username, password=password, source_address=source)
        assert isinstance(step, identity.LoginStep)
        return step

    def enrol(self, username: str, password: str = PASSWORD) -> Person:
        """Sign in for the first time: password, enrol an authenticator, confirm with its code."""
        step = self.login(username, password)
        assert step.next == "enrol_totp"
        enrolment = self.run(identity.begin_totp_enrolment, session_token=step.session_token)
        assert isinstance(enrolment, identity.TotpEnrolment)
        code = pyotp.TOTP(enrolment.secret_base32).at(self.clock.now())
        signed = self.run(identity.confirm_totp_enrolment, session_token=step.session_token, code=code)
        assert isinstance(signed, identity.SignedIn)
        return Person(signed.principal.user_id, username, password, enrolment.secret_base32, signed.session_token,
                      signed.principal)

    def user(self, username: str, *roles: Role, companies: set[str] | None = None,
             approval_limit_minor: int | None = None) -> Person:
        """Create a user as root, then sign them in (enrolling TOTP)."""
        self.run(identity.create_user, principal=self.root.principal, username=username, password=PASSWORD,
                 display_name=username.title(), roles=set(roles), companies=companies or {"ACME"},
                 approval_limit_minor=approval_limit_minor)
        self.clock.advance(seconds=30)  # a fresh TOTP step for each enrolment
        return self.enrol(username)

    def sign_in(self, person: Person, *, source: str = "10.0.0.1") -> identity.SignedIn:
        """A later sign-in (30 s on, so a fresh TOTP step) with password and the current code."""
        self.clock.advance(seconds=30)
        step = self.login(person.username, person.password, source)
        assert step.next == "totp"
        signed = self.run(identity.verify_totp, session_token=step.session_token, code=person.code(self.clock.now()))
        assert isinstance(signed, identity.SignedIn)
        return signed

    def audit_actions(self, *, prefix: str = "") -> list[tuple[str, str, str]]:
        """(action, outcome, reason) of every audit event, in order."""
        from yinqi.adapters.db.tables.audit import audit_events

        with self.engine.connect() as conn:
            rows = conn.execute(audit_events.select().order_by(audit_events.c.seq)).mappings().all()
        return [(r["action"], r["outcome"], r["reason"]) for r in rows if r["action"].startswith(prefix)]


def totp_code(secret: str, at: datetime, *, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(at, counter_offset=steps)
