"""SqlLedger: the double-entry ledger on SQLAlchemy 2 Core, bound to one connection/transaction.

How a batch is appended (`post_many`, which `post` and `reverse` use):

1. Lock the single chain-head row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite already holds the
   write lock from `BEGIN IMMEDIATE`). Every append queues here, so sequence numbers are gap-free,
   the chain has one head, and everything read after this point is current.
2. Resolve idempotency keys: a stored key with the same content returns its original sequence
   number; other content raises LEDGER_IDEMPOTENCY_CONFLICT. Both checks happen under the lock.
3. Load the accounts (cached per instance: an account's currency, kind and overdraft rule never
   change), check each posting's currency, and read the guarded (no-overdraft) balance rows with
   one locking query.
4. Apply entries in order to the locked balances; a guarded account crossing zero raises
   INSUFFICIENT_FUNDS before anything is written (a batch is all or nothing).
5. Hash each entry onto the chain, re-check the per-currency sum on the exact rows being written
   (STYLE rule 7), and write set-based: SQLite one `executemany` per table and one UPDATE of all
   touched balances from a JSON parameter; PostgreSQL one `WITH … INSERT … unnest` statement for
   entries plus postings (its statement-level triggers re-check each entry's balance at the end of
   that statement) and one UPDATE from arrays. The head row moves last.

Nothing here commits: the unit of work does, or `post_batch_durably`, which is also where the
crash-test failpoints `ledger.post.before_commit` / `ledger.post.after_commit` sit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from yinqi.adapters.db.tables.ledger import (
    ledger_accounts,
    ledger_balances,
    ledger_chain_head,
    ledger_entries,
    ledger_postings,
)
from yinqi.domain.ledger.accounts import Account, AccountConflict, AccountKind, AccountUnknown, account_kind
from yinqi.domain.ledger.chain import GENESIS_HASH, canonical_content, entry_hash
from yinqi.domain.ledger.entry import (
    AlreadyReversed,
    EntryUnknown,
    JournalEntry,
    LedgerEntryInvalid,
    Posting,
    RecordedEntry,
    check_balanced,
)
from yinqi.domain.money import Money
from yinqi.domain.problems import DomainError
from yinqi.testing.failpoints import declare, failpoint

__all__ = ["MAX_BATCH", "LedgerTampered", "SqlLedger", "post_batch_durably"]

MAX_BATCH = 10_000
_CHUNK = 500  # IN-list size per query: well inside every backend's parameter limit

declare("ledger.post.before_commit", "ledger.post.after_commit")


class LedgerTampered(DomainError):
    """A stored entry's hash does not match its content (checked on every read)."""

    code = "LEDGER_TAMPERED"


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


class _Sql:
    """The statements one batch needs, in one dialect: a batch is a handful of set-based statements,
    whatever its size (SQLite reads the key and code lists from one JSON parameter, PostgreSQL from
    arrays)."""

    lock_head = "SELECT seq, hash FROM ledger_chain_head WHERE id = 1"
    move_head = "UPDATE ledger_chain_head SET seq = ?, hash = ? WHERE id = 1"
    known_keys = ("SELECT idempotency_key FROM ledger_entries "
                  "WHERE idempotency_key IN (SELECT value FROM json_each(?))")
    lock_balances = ("SELECT account_code, balance_minor FROM ledger_balances "
                     "WHERE account_code IN (SELECT value FROM json_each(?))")
    _entries = ("INSERT INTO ledger_entries (seq, idempotency_key, memo, metadata_json, actor, at_utc, reverses_seq, "
                "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
    _postings = "INSERT INTO ledger_postings (seq, idx, account_code, currency, amount_minor) VALUES (?, ?, ?, ?, ?)"
    _balances = ("UPDATE ledger_balances SET balance_minor = balance_minor + d.value "
                 "FROM json_each(?) AS d WHERE account_code = d.key")

    @staticmethod
    def many(values: Sequence[str]) -> Any:
        return json.dumps(list(values))

    def insert_journal(self, conn: Connection, entries: list[tuple[Any, ...]],
                       postings: list[tuple[Any, ...]]) -> None:
        """Plain driver `executemany` of tuples: no per-row SQL compilation or dict handling."""
        conn.exec_driver_sql(self._entries, entries)
        conn.exec_driver_sql(self._postings, postings)

    def add_to_balances(self, conn: Connection, deltas: dict[str, int]) -> int:
        """One UPDATE for every touched account; returns the number of balance rows it changed."""
        return int(conn.exec_driver_sql(self._balances, (json.dumps(deltas),)).rowcount)


class _PgSql(_Sql):
    """PostgreSQL: arrays and `unnest`, and entries plus postings in ONE statement, because the
    statement-level balance triggers (tables/ledger.py) check each entry at the end of it."""

    lock_head = "SELECT seq, hash FROM ledger_chain_head WHERE id = 1 FOR UPDATE"
    move_head = "UPDATE ledger_chain_head SET seq = %s, hash = %s WHERE id = 1"
    known_keys = "SELECT idempotency_key FROM ledger_entries WHERE idempotency_key = ANY(%s::text[])"
    lock_balances = ("SELECT account_code, balance_minor FROM ledger_balances "
                     "WHERE account_code = ANY(%s::text[]) ORDER BY account_code FOR UPDATE")
    _journal = (
        "WITH e AS (INSERT INTO ledger_entries (seq, idempotency_key, memo, metadata_json, actor, at_utc, "
        "reverses_seq, prev_hash, hash) SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], "
        "%s::text[], %s::text[], %s::bigint[], %s::bytea[], %s::bytea[])) "
        "INSERT INTO ledger_postings (seq, idx, account_code, currency, amount_minor) "
        "SELECT * FROM unnest(%s::bigint[], %s::smallint[], %s::text[], %s::text[], %s::bigint[])")
    _balances = ("UPDATE ledger_balances AS b SET balance_minor = b.balance_minor + d.delta "
                 "FROM unnest(%s::text[], %s::bigint[]) AS d(code, delta) WHERE b.account_code = d.code")

    @staticmethod
    def many(values: Sequence[str]) -> Any:
        return list(values)

    def insert_journal(self, conn: Connection, entries: list[tuple[Any, ...]],
                       postings: list[tuple[Any, ...]]) -> None:
        columns = [list(c) for c in zip(*entries, strict=True)] + [list(c) for c in zip(*postings, strict=True)]
        conn.exec_driver_sql(self._journal, tuple(columns))

    def add_to_balances(self, conn: Connection, deltas: dict[str, int]) -> int:
        return int(conn.exec_driver_sql(self._balances, (list(deltas), list(deltas.values()))).rowcount)


_SQLITE, _PG = _Sql(), _PgSql()


def _check_currencies(legs: Sequence[list[tuple[str, int, str]]], accounts: dict[str, Account]) -> None:
    """Raises: LEDGER_CURRENCY_MISMATCH for the first posting in another currency than its account."""
    for rows in legs:
        for account, _, currency in rows:
            if accounts[account].currency != currency:
                accounts[account].check_currency(currency)


def _apply(fresh: Sequence[JournalEntry], legs: Sequence[list[tuple[str, int, str]]], balances: dict[str, int],
           guarded: dict[str, Account]) -> dict[str, int]:
    """Run the entries in order over the locked balances of the guarded accounts (raising
    INSUFFICIENT_FUNDS at the first entry that overdraws one); returns the delta per account."""
    sign = {c: a.kind.sign for c, a in guarded.items()}  # sign * balance >= 0 when healthy
    deltas: dict[str, int] = {}
    for e, rows in zip(fresh, legs, strict=True):
        for account, minor, _ in rows:
            deltas[account] = deltas.get(account, 0) + minor
            if account in sign:
                balances[account] += minor
        for account, _, _ in rows:
            if account in sign and sign[account] * balances[account] < 0:
                guarded[account].check_balance(balances[account], entry_key=e.idempotency_key)
    return {c: d for c, d in deltas.items() if d}


def _chain_rows(key: bytes, fresh: Sequence[JournalEntry], legs: Sequence[list[tuple[str, int, str]]],
                seq: int, prev: bytes) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Hash each entry onto the chain; the rows to write. Re-checks the per-currency sum on the
    exact rows being written (the storage boundary, STYLE rule 7)."""
    entry_rows: list[tuple[Any, ...]] = []
    posting_rows: list[tuple[Any, ...]] = []
    for e, rows in zip(fresh, legs, strict=True):
        seq += 1
        check_balanced(rows, where=e.idempotency_key)
        content = canonical_content(idempotency_key=e.idempotency_key, postings=rows, memo=e.memo,
                                    metadata_json=e.metadata_json, reverses_seq=e.reverses_seq, at_utc=e.at_utc)
        h = entry_hash(key, prev_hash=prev, seq=seq, content=content, actor=e.actor)
        entry_rows.append((seq, e.idempotency_key, e.memo, e.metadata_json, e.actor, e.at_utc, e.reverses_seq,
                           prev, h))
        posting_rows.extend((seq, i, a, c, m) for i, (a, m, c) in enumerate(rows))
        prev = h
    return entry_rows, posting_rows


class SqlLedger:
    """The `Ledger` port on one SQLAlchemy connection. See the module docstring for the protocol."""

    def __init__(self, conn: Connection, *, hash_key: bytes,
                 account_cache: dict[str, Account] | None = None) -> None:
        """`account_cache` may be shared by ledgers on the same database across transactions:
        an account's currency, kind and overdraft rule never change once created."""
        if len(hash_key) < 32:
            raise ValueError("the ledger hash key must be at least 32 bytes")
        self._conn = conn
        self._key = hash_key
        self._accounts: dict[str, Account] = {} if account_cache is None else account_cache
        self._pg = conn.dialect.name == "postgresql"
        self._sql: _Sql = _PG if self._pg else _SQLITE

    # --- accounts --------------------------------------------------------------------------
    def ensure_account(self, *, code: str, currency: str, kind: str, allow_overdraft: bool = True,
                       name: str = "") -> None:
        """Create the account (balance 0) unless it exists with the same shape.

        Raises: LEDGER_ACCOUNT_INVALID, UNKNOWN_CURRENCY, LEDGER_ACCOUNT_CONFLICT (exists with
        another currency, kind or overdraft rule).
        """
        wanted = Account(code=code, currency=currency, kind=account_kind(kind),
                         allow_overdraft=allow_overdraft, name=name)
        self._insert_ignore(ledger_accounts, {"code": wanted.code, "currency": wanted.currency,
                                              "kind": wanted.kind.value,
                                              "allow_overdraft": wanted.allow_overdraft, "name": name})
        self._insert_ignore(ledger_balances, {"account_code": wanted.code, "currency": wanted.currency,
                                              "balance_minor": 0})
        self._accounts.pop(code, None)
        existing = self._load_accounts([code])[code]
        if not existing.same_shape(wanted):
            raise AccountConflict(f"account {code} exists as {existing.kind} {existing.currency} "
                                  f"(overdraft {'allowed' if existing.allow_overdraft else 'refused'})",
                                  where=code, rule="account_shape", value=code)

    def _insert_ignore(self, table: Any, row: dict[str, Any]) -> None:
        if self._pg:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        self._conn.execute(dialect_insert(table).values(**row).on_conflict_do_nothing())

    def _load_accounts(self, codes: Iterable[str]) -> dict[str, Account]:
        missing = sorted({c for c in codes if c not in self._accounts})
        q = "%s" if self._pg else "?"
        for chunk in _chunks(missing):
            rows = self._conn.exec_driver_sql(
                "SELECT code, currency, kind, allow_overdraft, name FROM ledger_accounts "
                f"WHERE code IN ({', '.join([q] * len(chunk))})", tuple(chunk)).all()
            for code, currency, kind, overdraft, name in rows:
                self._accounts[code] = Account(code=code, currency=currency, kind=AccountKind(kind),
                                               allow_overdraft=bool(overdraft), name=name)
        unknown = [c for c in missing if c not in self._accounts]
        if unknown:
            raise AccountUnknown(f"unknown account {unknown[0]}", where=unknown[0], rule="account_exists",
                                 value=unknown[0], details={"accounts": unknown})
        return {c: self._accounts[c] for c in codes}

    # --- posting ---------------------------------------------------------------------------
    def post(self, *, idempotency_key: str, postings: Sequence[tuple[str, Money]], memo: str, actor: str,
             at: datetime, metadata: dict[str, Any] | None = None) -> int:
        """Append one balanced entry; returns its sequence number (the original one on a replay).

        Raises: LEDGER_UNBALANCED, LEDGER_ENTRY_INVALID, LEDGER_ACCOUNT_UNKNOWN,
        LEDGER_CURRENCY_MISMATCH, INSUFFICIENT_FUNDS, LEDGER_IDEMPOTENCY_CONFLICT.
        """
        entry = JournalEntry.build(idempotency_key=idempotency_key, postings=postings, memo=memo,
                                   actor=actor, at=at, metadata=metadata)
        return self.post_many([entry])[0]

    def reverse(self, *, seq: int, idempotency_key: str, actor: str, at: datetime, reason: str) -> int:
        """Post the negation of entry `seq`, linked by `reverses_seq`.

        Raises: LEDGER_ENTRY_UNKNOWN, ALREADY_REVERSED, LEDGER_IDEMPOTENCY_CONFLICT, INSUFFICIENT_FUNDS.
        """
        self._lock_head()  # read the original and any earlier reversal under the append lock
        original = self.get(seq)
        entry = original.entry.reversal(seq=seq, idempotency_key=idempotency_key, actor=actor, at=at,
                                        reason=reason)
        return self.post_many([entry])[0]

    def post_many(self, entries: Sequence[JournalEntry]) -> list[int]:
        """Append a batch in one transaction (group commit); returns one sequence number per entry.

        All or nothing: the first failing entry raises before anything is written, and the caller
        rolls back. Duplicated keys inside the batch behave like replays. Raises: as `post`, plus
        ALREADY_REVERSED.
        """
        if not entries:
            return []
        if len(entries) > MAX_BATCH:
            raise LedgerEntryInvalid(f"a batch holds at most {MAX_BATCH} entries", rule="batch_size",
                                     value=len(entries))
        head_seq, head_hash = self._lock_head()
        seqs, fresh = self._resolve_keys(entries)
        if not fresh:
            return [s for s in seqs if s is not None]
        legs = [e.rows() for e in fresh]
        accounts = self._load_accounts({a for rows in legs for a, _, _ in rows})
        _check_currencies(legs, accounts)
        self._check_reversals(fresh)
        guarded = {c: a for c, a in accounts.items() if not a.allow_overdraft}
        deltas = _apply(fresh, legs, self._lock_balances(sorted(guarded)), guarded)
        new_seqs = self._write(fresh, legs, head_seq, head_hash, deltas)
        by_key = dict(zip((e.idempotency_key for e in fresh), new_seqs, strict=True))
        return [s if s is not None else by_key[e.idempotency_key] for s, e in zip(seqs, entries, strict=True)]

    def _lock_head(self) -> tuple[int, bytes]:
        row = self._conn.exec_driver_sql(self._sql.lock_head).first()
        if row is None:
            self._insert_ignore(ledger_chain_head, {"id": 1, "seq": 0, "hash": GENESIS_HASH})
            row = self._conn.exec_driver_sql(self._sql.lock_head).one()
        return int(row[0]), bytes(row[1])

    def _resolve_keys(self, entries: Sequence[JournalEntry]) -> tuple[list[int | None], list[JournalEntry]]:
        """Known keys map to their stored seq (after the same-content check); the rest are fresh."""
        stored = self._find_many(self._known_keys([e.idempotency_key for e in entries]))
        seqs: list[int | None] = []
        fresh: dict[str, JournalEntry] = {}
        for e in entries:
            key = e.idempotency_key
            if key in stored:
                e.check_replay_of(stored[key].entry, seq=stored[key].seq)
                seqs.append(stored[key].seq)
                continue
            if key in fresh:
                e.check_replay_of(fresh[key], seq=0)
            else:
                fresh[key] = e
            seqs.append(None)
        return seqs, list(fresh.values())

    def _known_keys(self, keys: Sequence[str]) -> list[str]:
        """The keys already in the journal: one indexed probe for the whole batch."""
        return [r[0] for r in self._conn.exec_driver_sql(self._sql.known_keys, (self._sql.many(keys),)).all()]

    def _check_reversals(self, fresh: Sequence[JournalEntry]) -> None:
        targets = [e.reverses_seq for e in fresh if e.reverses_seq is not None]
        if not targets:
            return
        if len(set(targets)) != len(targets):
            raise AlreadyReversed("one batch reverses the same entry twice", rule="reverse_once")
        en = ledger_entries.c
        found = {r[0] for r in self._conn.execute(select(en.seq).where(en.seq.in_(targets)))}
        missing = [t for t in targets if t not in found]
        if missing:
            raise EntryUnknown(f"no ledger entry {missing[0]}", where="seq", value=missing[0])
        done = self._conn.execute(select(en.reverses_seq, en.seq).where(en.reverses_seq.in_(targets))).first()
        if done is not None:
            raise AlreadyReversed(f"entry {done[0]} was already reversed by entry {done[1]}", where="seq",
                                  rule="reverse_once", value=done[0], details={"reversed_by": done[1]})

    def _lock_balances(self, codes: Sequence[str]) -> dict[str, int]:
        """Read and lock (in code order: no deadlocks) the balances the overdraft check needs."""
        if not codes:
            return {}
        rows = self._conn.exec_driver_sql(self._sql.lock_balances, (self._sql.many(codes),)).all()
        return {c: int(v) for c, v in rows}

    def _write(self, fresh: Sequence[JournalEntry], legs: Sequence[list[tuple[str, int, str]]], head_seq: int,
               head_hash: bytes, deltas: dict[str, int]) -> list[int]:
        entry_rows, posting_rows = _chain_rows(self._key, fresh, legs, head_seq, head_hash)
        try:
            self._sql.insert_journal(self._conn, entry_rows, posting_rows)
        except IntegrityError as exc:
            if "reverses_seq" in str(exc.orig):
                raise AlreadyReversed("entry already reversed (concurrent reversal)",
                                      rule="reverse_once") from None
            raise
        if self._sql.add_to_balances(self._conn, deltas) != len(deltas):
            raise AccountUnknown("an account has no balance row", rule="balance_row_exists")
        seq, prev = entry_rows[-1][0], entry_rows[-1][8]
        self._conn.exec_driver_sql(self._sql.move_head, (seq, prev))
        return list(range(head_seq + 1, seq + 1))

    # --- reading ---------------------------------------------------------------------------
    def balance(self, code: str) -> Money:
        """Raises: LEDGER_ACCOUNT_UNKNOWN."""
        b = ledger_balances.c
        row = self._conn.execute(select(b.balance_minor, b.currency).where(b.account_code == code)).first()
        if row is None:
            raise AccountUnknown(f"unknown account {code}", where=code, rule="account_exists", value=code)
        return Money(int(row[0]), row[1])

    def balances(self) -> dict[str, Money]:
        b = ledger_balances.c
        rows = self._conn.execute(select(b.account_code, b.balance_minor, b.currency).order_by(b.account_code))
        return {code: Money(int(v), cur) for code, v, cur in rows}

    def trial_balance(self) -> dict[str, int]:
        """Sum of every posting per currency: 0 everywhere, or money was created or destroyed."""
        p = ledger_postings.c
        rows = self._conn.execute(select(p.currency, func.sum(p.amount_minor)).group_by(p.currency))
        return {cur: int(total) for cur, total in rows}

    def get(self, seq: int) -> RecordedEntry:
        """Raises: LEDGER_ENTRY_UNKNOWN; LEDGER_TAMPERED if the stored hash does not match."""
        found = self._load(ledger_entries.c.seq.in_([seq]))
        if seq not in found:
            raise EntryUnknown(f"no ledger entry {seq}", where="seq", value=seq)
        return found[seq]

    def find_by_key(self, key: str) -> RecordedEntry | None:
        return self._find_many([key]).get(key)

    def _find_many(self, keys: Sequence[str]) -> dict[str, RecordedEntry]:
        out: dict[str, RecordedEntry] = {}
        for chunk in _chunks(list(dict.fromkeys(keys))):
            found = self._load(ledger_entries.c.idempotency_key.in_(chunk))
            out.update((r.entry.idempotency_key, r) for r in found.values())
        return out

    def _load(self, where: Any) -> dict[int, RecordedEntry]:
        en, p = ledger_entries.c, ledger_postings.c
        heads = self._conn.execute(select(en.seq, en.idempotency_key, en.memo, en.metadata_json, en.actor,
                                          en.at_utc, en.reverses_seq, en.prev_hash, en.hash)
                                   .where(where)).all()
        if not heads:
            return {}
        legs: dict[int, list[Posting]] = {}
        seqs = [int(h[0]) for h in heads]
        for seq, account, amount, currency in self._conn.execute(
                select(p.seq, p.account_code, p.amount_minor, p.currency)
                .where(p.seq.in_(seqs)).order_by(p.seq, p.idx)):
            legs.setdefault(int(seq), []).append(Posting(account, Money(int(amount), currency)))
        return {int(h[0]): self._recorded(h, legs.get(int(h[0]), [])) for h in heads}

    def _recorded(self, head: Any, legs: list[Posting]) -> RecordedEntry:
        seq, key, memo, meta, actor, at_utc, rev, prev, stored = head
        entry = JournalEntry(idempotency_key=key, postings=tuple(legs), memo=memo, actor=actor,
                             at_utc=at_utc, metadata_json=meta, reverses_seq=rev)
        if entry_hash(self._key, prev_hash=bytes(prev), seq=int(seq), content=entry.content(),
                      actor=actor) != bytes(stored):
            raise LedgerTampered(f"ledger entry {seq} does not match its hash", where="seq", value=seq)
        return RecordedEntry(seq=int(seq), entry=entry, prev_hash=bytes(prev), hash=bytes(stored))


def post_batch_durably(engine: Engine, entries: Sequence[JournalEntry], *, hash_key: bytes,
                       account_cache: dict[str, Account] | None = None) -> list[int]:
    """Append a batch in its own transaction and commit it (one disk sync for the whole batch).

    Failpoints: `ledger.post.before_commit` (everything written, nothing committed) and
    `ledger.post.after_commit` (committed, the caller not yet told).
    """
    with engine.connect() as conn, conn.begin() as tx:
        seqs = SqlLedger(conn, hash_key=hash_key, account_cache=account_cache).post_many(entries)
        failpoint("ledger.post.before_commit")
        tx.commit()
    failpoint("ledger.post.after_commit")
    return seqs
