"""The unit of work: one database transaction that a use case commits whole or not at all.

Every store a use case touches (orders, ledger, outbox, idempotency, statements) is bound to the
same connection, so a state change, its ledger postings and the outbox row for its external
effect commit together: nothing is lost and nothing is sent twice (the transactional outbox).
Leaving the `with` block without `commit()` rolls back. Use cases commit themselves; a step that
composes several of them (a status report touching many orders) wraps them in `atomic()`, inside
which their commits are deferred to the one the composing step makes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine

from yinqi.adapters.db.engine import READ_ONLY
from yinqi.application.ports import AccountVault


class SqlUnitOfWork:
    def __init__(self, engine: Engine, *, ledger_key: bytes, vault: AccountVault | None = None,
                 home: Path | None = None, read_only: bool = False) -> None:
        """`vault` seals account numbers at rest (R19); `Hub.uow()` always passes the real keyring.
        Without one, every store that holds account numbers refuses to work (fails closed).
        `home` is YINQI_HOME for key files loaded on first use (TOTP secrets); None: $YINQI_HOME.
        `read_only` (`Hub.read_uow()`): a transaction that never waits for a writer, for queries and
        the API's token check: `BEGIN DEFERRED` plus `PRAGMA query_only` on SQLite (no write lock;
        a write fails), `SET TRANSACTION READ ONLY` on PostgreSQL; `commit()` refuses."""
        self.read_only = read_only
        self._engine = engine
        self._home = home
        self._ledger_key = ledger_key
        self._vault = vault
        self._conn: Connection | None = None
        self._stores: dict[str, Any] = {}
        self._atomic_depth = 0
        self.committed = False

    # --- transaction ----------------------------------------------------------------------
    def __enter__(self) -> SqlUnitOfWork:
        self._conn = self._engine.connect()
        if self.read_only:
            self._begin_read_only(self._conn)
        else:
            self._conn.begin()
        return self

    def _begin_read_only(self, conn: Connection) -> None:
        if self.dialect == "sqlite":
            conn.execution_options(**{READ_ONLY: True})  # the engine's BEGIN hook then says DEFERRED
            conn.begin()
            conn.exec_driver_sql("PRAGMA query_only=ON")
        else:
            conn.begin()
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                self._conn.rollback()
            if self.read_only and self.dialect == "sqlite":
                self._conn.exec_driver_sql("PRAGMA query_only=OFF")  # the pooled connection writes again
                self._conn.rollback()  # the autobegun (empty) transaction of the pragma
        finally:
            self._conn.close()
            self._conn = None
            self._stores.clear()

    @contextmanager
    def atomic(self) -> Iterator[SqlUnitOfWork]:
        """Defer every commit made inside to the caller's own `commit()` after the block."""
        self._atomic_depth += 1
        try:
            yield self
        finally:
            self._atomic_depth -= 1

    @contextmanager
    def savepoint(self) -> Iterator[SqlUnitOfWork]:
        """A SAVEPOINT: what is written inside is rolled back alone when the block raises, and the
        transaction goes on (bulk intake retries a batch without the row a concurrent writer took)."""
        with self.conn.begin_nested():
            yield self

    def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit: use Hub.uow() to write")
        if self._atomic_depth:
            return
        self.conn.commit()
        self.committed = True
        self.conn.begin()

    def rollback(self) -> None:
        self.conn.rollback()
        self.conn.begin()

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._conn

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @property
    def vault(self) -> AccountVault:
        if self._vault is None:
            raise RuntimeError("this unit of work has no account vault: build it with Hub.uow() (or vault=)")
        return self._vault

    # --- stores, created on first use and bound to this transaction ------------------------
    def _store(self, name: str, factory: Any) -> Any:
        if name not in self._stores:
            self._stores[name] = factory()
        return self._stores[name]

    @property
    def ledger(self) -> Any:
        from yinqi.adapters.db.ledger_store import SqlLedger

        return self._store("ledger", lambda: SqlLedger(self.conn, hash_key=self._ledger_key))

    @property
    def orders(self) -> Any:
        from yinqi.adapters.db.order_repository import SqlOrderRepository

        return self._store("orders", lambda: SqlOrderRepository(self.conn, self.vault))

    @property
    def outbox(self) -> Any:
        from yinqi.adapters.db.outbox_store import SqlOutbox

        return self._store("outbox", lambda: SqlOutbox(self.conn))

    @property
    def idempotency(self) -> Any:
        from yinqi.adapters.db.idempotency_store import SqlIdempotencyStore

        return self._store("idempotency", lambda: SqlIdempotencyStore(self.conn, self.vault))

    @property
    def bank_messages(self) -> Any:
        from yinqi.adapters.db.bank_message_store import SqlBankMessageStore

        return self._store("bank_messages", lambda: SqlBankMessageStore(self.conn, self.vault))

    @property
    def statements(self) -> Any:
        from yinqi.adapters.db.statement_store import SqlStatementStore

        return self._store("statements", lambda: SqlStatementStore(self.conn, self.vault))

    @property
    def audit(self) -> Any:
        import hashlib
        import hmac

        from yinqi.adapters.db.audit_store import SqlAuditStore

        key = hmac.new(self._ledger_key, b"yinqi-audit-chain-v1", hashlib.sha256).digest()
        return self._store("audit", lambda: SqlAuditStore(self.conn, hash_key=key))

    @property
    def identity(self) -> Any:
        from yinqi.adapters.db.identity_store import SqlIdentityStore

        return self._store("identity", lambda: SqlIdentityStore(self.conn, home=self._home))

    @property
    def beneficiaries(self) -> Any:
        from yinqi.adapters.db.beneficiary_store import SqlBeneficiaryStore

        return self._store("beneficiaries", lambda: SqlBeneficiaryStore(self.conn, self.vault))

    @property
    def approvals(self) -> Any:
        from yinqi.adapters.db.approval_store import SqlApprovalStore

        return self._store("approvals", lambda: SqlApprovalStore(self.conn))

    @property
    def imports(self) -> Any:
        from yinqi.adapters.db.import_store import SqlImportStore

        return self._store("imports", lambda: SqlImportStore(self.conn))

    @property
    def field_keys(self) -> Any:
        from yinqi.adapters.db.field_key_store import SqlFieldKeyStore

        return self._store("field_keys", lambda: SqlFieldKeyStore(self.conn, self.vault))

    @property
    def recon(self) -> Any:
        from yinqi.adapters.db.recon_store import SqlReconStore

        return self._store("recon", lambda: SqlReconStore(self.conn))

    @property
    def statement_checks(self) -> Any:
        from yinqi.adapters.db.statement_check_store import SqlStatementCheckStore

        return self._store("statement_checks", lambda: SqlStatementCheckStore(self.conn, self.vault))
