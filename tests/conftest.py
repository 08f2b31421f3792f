"""Shared fixtures. `db_url` gives each test a fresh, migrated database on every backend.

PostgreSQL runs when YINQI_TEST_PG_URL names a server (make test starts one with
scripts/pg-test-server.sh). With YINQI_REQUIRE_PG=1 (CI) a missing server fails the run instead
of skipping, so CI can never silently test SQLite alone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from yinqi.adapters.db.engine import make_engine, normalise_url
from yinqi.adapters.db.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
TESTDATA = Path(os.environ.get("YINQI_TESTDATA", REPO.parent / "shared" / "testdata"))
BACKENDS = ["sqlite", "postgresql"]


def pg_admin_url() -> str | None:
    url = os.environ.get("YINQI_TEST_PG_URL")
    if not url and os.environ.get("YINQI_REQUIRE_PG") == "1":
        pytest.fail("YINQI_REQUIRE_PG=1 but YINQI_TEST_PG_URL is not set")
    return url


def _fresh_pg_database() -> tuple[str, str]:
    admin = pg_admin_url()
    if not admin:
        pytest.skip("PostgreSQL not configured (set YINQI_TEST_PG_URL)")
    name = f"yinqi_t_{uuid.uuid4().hex[:12]}"
    eng = create_engine(normalise_url(admin), isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return admin.rsplit("/", 1)[0] + f"/{name}", name


def _drop_pg_database(name: str) -> None:
    admin = pg_admin_url()
    assert admin
    eng = create_engine(normalise_url(admin), isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database URL, once per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'yinqi.db'}"
        eng = make_engine(url)
        upgrade(eng)
        eng.dispose()
        yield url
        return
    url, name = _fresh_pg_database()
    eng = make_engine(url)
    upgrade(eng)
    eng.dispose()
    yield url
    _drop_pg_database(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def testdata() -> Path:
    if not TESTDATA.is_dir():
        pytest.skip(f"shared test data not found at {TESTDATA}")
    return TESTDATA
