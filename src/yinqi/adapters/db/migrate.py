"""Bring a database to the current schema with Alembic. `yinqi db upgrade`, `make run` and the
test fixtures all go through `upgrade`, so the tests exercise the real migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    cfg = alembic_config()
    # SQLite runs DDL inside our BEGIN IMMEDIATE transaction; PostgreSQL has transactional DDL.
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current(engine: Engine) -> str | None:
    """The database's revision(s), comma-separated when several branches are applied."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(sorted(heads)) or None


def head() -> str | None:
    """The newest revision(s) this code knows; independent branches (one per capability, merged
    when convenient) are all upgraded to."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return ",".join(sorted(heads)) or None


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest revision(s) this code knows."""
    return current(engine) == head()
