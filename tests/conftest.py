"""Shared fixtures. `db_url` gives each test a fresh, migrated database on every backend.

PostgreSQL runs when YINQI_TEST_PG_URL names a server (make test starts one with
scripts/pg-test-server.sh). With YINQI_REQUIRE_PG=1 (CI) a missing server fails the run instead
of skipping, so CI can never silently test SQLite alone.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, create_engine, text

from yinqi.adapters.db.engine import make_engine, normalise_url
from yinqi.adapters.db.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
TESTDATA = Path(os.environ.get("YINQI_TESTDATA", REPO.parent / "shared" / "testdata"))
BACKENDS = ["sqlite", "postgresql"]

# Property tests judge behaviour, not speed: on a shared 2-core CI machine a slow example is load,
# not a bug, so no per-example deadline (benchmarks measure speed, see bench/).
settings.register_profile("yinqi", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("yinqi")


def pg_admin_url() -> str | None:
    url = os.environ.get("YINQI_TEST_PG_URL")
    if not url and os.environ.get("YINQI_REQUIRE_PG") == "1":
        pytest.fail("YINQI_REQUIRE_PG=1 but YINQI_TEST_PG_URL is not set")
    return url


def _admin_engine() -> Engine:
    admin = pg_admin_url()
    assert admin
    return create_engine(normalise_url(admin), isolation_level="AUTOCOMMIT")


def _database_url(name: str) -> str:
    admin = pg_admin_url()
    assert admin
    return admin.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def _pg_template() -> Iterator[str]:
    """One migrated PostgreSQL database per test session; each test clones it (CREATE DATABASE …
    TEMPLATE), which is many times faster than running every migration again per test."""
    if not pg_admin_url():
        pytest.skip("PostgreSQL not configured (set YINQI_TEST_PG_URL)")
    name = f"yinqi_tpl_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = make_engine(_database_url(name))
    upgrade(eng)
    eng.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test session, copied for each test (same reason)."""
    path = tmp_path_factory.mktemp("template") / "yinqi.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    eng.dispose()
    return path


def _fresh_pg_database(template: str) -> tuple[str, str]:
    name = f"yinqi_t_{uuid.uuid4().hex[:12]}"
    eng = _admin_engine()
    with eng.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    eng.dispose()
    return _database_url(name), name


def _drop_pg_database(name: str) -> None:
    eng = _admin_engine()
    with eng.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database URL, once per backend (a copy of the session's migrated template)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        target = tmp_path / "yinqi.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    url, name = _fresh_pg_database(request.getfixturevalue("_pg_template"))
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
