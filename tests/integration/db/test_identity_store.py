"""The identity store on SQLite and PostgreSQL: constraints, time zones, and a failure counter
that counts every concurrent failure."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from yinqi.adapters.db.tables.identity import user_roles
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.domain.identity.principal import Role
from yinqi.domain.identity.sessions import Session, SessionState
from yinqi.domain.identity.users import User

T = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _uow(engine: Engine, home: Path) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, ledger_key=b"k" * 32, home=home)


def _user(uow: SqlUnitOfWork) -> User:
    uow.identity.add_company(company_id="ACME", name="Acme", at=T)
    user = User("u1", "olivia", "Olivia", frozenset({Role.OPERATOR}), frozenset({"ACME"}), 100, False, False, T, T)
    uow.identity.add_user(user, password_hash="$argon2id$placeholder")
    return user


def test_users_round_trip_with_roles_companies_and_aware_times(engine: Engine, tmp_path: Path) -> None:
    with _uow(engine, tmp_path) as uow:
        user = _user(uow)
        uow.commit()
    with _uow(engine, tmp_path) as uow:
        assert uow.identity.get_user("u1") == user
        assert uow.identity.find_user("olivia") == user and uow.identity.list_users() == [user]


def test_an_unknown_role_is_refused_by_the_database(engine: Engine, tmp_path: Path) -> None:
    with _uow(engine, tmp_path) as uow:
        _user(uow)
        with pytest.raises(IntegrityError):
            uow.conn.execute(insert(user_roles).values(user_id="u1", role="superuser"))


def test_sessions_round_trip_and_end_once(engine: Engine, tmp_path: Path) -> None:
    with _uow(engine, tmp_path) as uow:
        _user(uow)
        session = Session("a" * 64, "u1", SessionState.AUTHENTICATED, T, T, T, "10.0.0.1", None, "", T)
        uow.identity.add_session(session)
        assert uow.identity.get_session("a" * 64) == session
        assert uow.identity.end_session("a" * 64, at=T + timedelta(minutes=1), reason="logout")
        assert not uow.identity.end_session("a" * 64, at=T + timedelta(minutes=2), reason="logout")
        assert uow.identity.get_session("a" * 64).ended_at == T + timedelta(minutes=1)


def test_concurrent_failures_are_all_counted(engine: Engine, tmp_path: Path) -> None:
    def fail_once() -> None:
        with _uow(engine, tmp_path) as uow:
            failures = uow.identity.lock_failures("olivia")
            uow.identity.save_failures(failures.after_failure(T))
            uow.commit()

    threads = [threading.Thread(target=fail_once) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with _uow(engine, tmp_path) as uow:
        assert uow.identity.failures("olivia").count == 8
        assert uow.identity.clear_failures("olivia") and uow.identity.failures("olivia").count == 0
