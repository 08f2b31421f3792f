"""Database engines for the two supported backends, configured for durability.

SQLite is the embedded default: WAL journal, `synchronous=FULL` (a commit survives power loss),
foreign keys on, and every writing transaction opened with `BEGIN IMMEDIATE`, so two writers queue
for the write lock up front instead of failing half-way with SQLITE_BUSY on lock upgrade. A read-only
one (a connection with the `READ_ONLY` execution option, see `SqlUnitOfWork(read_only=True)`) opens
with `BEGIN DEFERRED` instead: in WAL mode it reads a snapshot and never waits for the writer, so the
token check of every API request does not queue behind a group-commit batch (docs/adr/0012). PostgreSQL is
production: psycopg 3, READ COMMITTED plus explicit row locks (see docs/adr/0002), because money
must not rely on SERIALIZABLE alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event

READ_ONLY = "yinqi_read_only"  # connection execution option: this transaction only reads


def normalise_url(url: str) -> str:
    """Accept the URLs people type (`postgresql://`, a bare path) and name the driver we ship."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url:
        return f"sqlite:///{url}"
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo)
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size * 2,
                         pool_pre_ping=True, isolation_level="READ COMMITTED")


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False},
                           pool_size=8, max_overflow=16)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN DEFERRED" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

    return engine
