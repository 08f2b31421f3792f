"""`verify`: recompute the whole ledger from its journal and compare with everything stored.

One streaming pass over entries joined to postings, in sequence order, recomputes every HMAC link,
the per-entry balance invariant, every account balance and the RFC 6962 root at each checkpointed
size. It then compares with the balances table, the chain-head row, the posting count (orphans) and
the signed checkpoint log kept outside the database. It never stops at the first problem: it
reports them all (up to a cap) and the first bad sequence number.

What each attack looks like here: an edited amount, account, memo or key changes the content, so
the HMAC of that entry fails (first bad seq = that entry); a deleted entry leaves a gap; an inserted
row has no valid HMAC without the key; swapped rows fail both their HMACs; a truncated tail and a
consistent rewrite by someone holding the HMAC key disagree with the signed checkpoints.

Speed: the journal is read through the DBAPI cursor (a server-side cursor on PostgreSQL) in one
snapshot (REPEATABLE READ on PostgreSQL, a deferred read transaction in SQLite WAL, so writers are
not blocked), with plain tuples and one HMAC call per entry.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, Engine

from yinqi.adapters.crypto.checkpoint_signing import SignedCheckpoint, append_checkpoint, read_checkpoints
from yinqi.domain.ledger.chain import GENESIS_HASH, canonical_text, format_at
from yinqi.domain.ledger.checkpoint import Checkpoint
from yinqi.domain.ledger.merkle import MerkleAccumulator, leaf_hash
from yinqi.domain.problems import DomainError

__all__ = ["CheckpointMismatch", "VerifyProblem", "VerifyReport", "verify", "write_checkpoint"]

_JOURNAL_SQL = (
    "SELECT e.seq, e.idempotency_key, e.memo, e.metadata_json, e.actor, e.at_utc, e.reverses_seq,"
    " e.prev_hash, e.hash, p.account_code, p.amount_minor, p.currency, p.idx"
    " FROM ledger_entries e LEFT JOIN ledger_postings p ON p.seq = e.seq ORDER BY e.seq, p.idx")
_FETCH = 5000


class CheckpointMismatch(DomainError):
    code = "LEDGER_CHECKPOINT_MISMATCH"


@dataclass(frozen=True, slots=True)
class VerifyProblem:
    kind: str
    message: str
    seq: int | None = None


@dataclass
class VerifyReport:
    ok: bool = True
    first_bad_seq: int | None = None
    problems: list[VerifyProblem] = field(default_factory=list)
    problem_count: int = 0
    entries: int = 0
    postings: int = 0
    accounts: int = 0
    checkpoints_checked: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH.hex()

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "first_bad_seq": self.first_bad_seq, "problem_count": self.problem_count,
                "problems": [{"kind": p.kind, "seq": p.seq, "message": p.message} for p in self.problems],
                "entries": self.entries, "postings": self.postings, "accounts": self.accounts,
                "checkpoints_checked": self.checkpoints_checked, "head_seq": self.head_seq,
                "head_hash": self.head_hash}


class _Report:
    def __init__(self, max_problems: int) -> None:
        self.r = VerifyReport()
        self._max = max_problems

    def add(self, kind: str, message: str, seq: int | None = None) -> None:
        r = self.r
        r.ok = False
        r.problem_count += 1
        if len(r.problems) < self._max:
            r.problems.append(VerifyProblem(kind, message, seq))
        if seq is not None and (r.first_bad_seq is None or seq < r.first_bad_seq):
            r.first_bad_seq = seq


# --- database access: DBAPI cursors in one read snapshot -------------------------------------
class _Snapshot:
    """A DBAPI connection reading one consistent snapshot, on an Engine (own read-only transaction)
    or on a caller's Connection (its transaction, e.g. a unit of work or a test)."""

    def __init__(self, bind: Engine | Connection) -> None:
        self.pg = bind.dialect.name == "postgresql"
        self._own = isinstance(bind, Engine)
        if isinstance(bind, Engine):
            self._fairy: Any = bind.raw_connection()
            self.dbapi: Any = self._fairy.driver_connection
            cur = self.dbapi.cursor()
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY" if self.pg else "BEGIN")
            cur.close()
        else:
            self._fairy = None
            self.dbapi = bind.connection.driver_connection

    def close(self) -> None:
        if self._own:
            self.dbapi.rollback() if self.pg else self.dbapi.execute("ROLLBACK")
            self._fairy.close()

    def all(self, sql: str) -> list[tuple[Any, ...]]:
        cur = self.dbapi.cursor()
        try:
            cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()]
        finally:
            cur.close()

    def stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        cur = self.dbapi.cursor(name="ledger_verify") if self.pg else self.dbapi.cursor()
        if self.pg:
            cur.itersize = _FETCH
        try:
            cur.execute(sql)
            while rows := cur.fetchmany(_FETCH):
                yield from rows
        finally:
            cur.close()


# --- the pass ----------------------------------------------------------------------------------
def verify(bind: Engine | Connection, *, hash_key: bytes, checkpoints_path: str | Path | None = None,
           checkpoint_key: Ed25519PublicKey | None = None, max_problems: int = 200) -> VerifyReport:
    """Recompute and compare everything; see the module docstring. Never raises on tampering."""
    snap = _Snapshot(bind)
    try:
        out = _Report(max_problems)
        cps = read_checkpoints(checkpoints_path, checkpoint_key) if checkpoints_path else []
        accounts = {r[0]: (r[1], r[2], bool(r[3])) for r in snap.all(
            "SELECT code, currency, kind, allow_overdraft FROM ledger_accounts")}
        walk = _Walk(hash_key, accounts, out, cps)
        walk.run(snap.stream(_JOURNAL_SQL))
        _compare_tables(snap, walk, out)
        _compare_checkpoints(walk, cps, out, checked=checkpoint_key is not None)
        r = out.r
        r.entries, r.postings, r.accounts = walk.count, walk.postings, len(accounts)
        r.head_seq, r.head_hash = walk.last_seq, walk.prev.hex()
        return r
    finally:
        snap.close()


class _Walk:
    def __init__(self, key: bytes, accounts: dict[str, tuple[str, str, bool]], out: _Report,
                 cps: list[SignedCheckpoint]) -> None:
        self.key, self.accounts, self.out = key, accounts, out
        self.balances: dict[str, int] = {}
        self.count = self.postings = self.last_seq = 0
        self.prev = GENESIS_HASH
        sizes = {c.checkpoint.size for c in cps if c.checkpoint is not None}
        self.want_roots = sizes
        self.merkle_upto = max(sizes, default=0)
        self.acc = MerkleAccumulator()
        self.roots: dict[int, tuple[bytes, bytes]] = {0: (GENESIS_HASH, self.acc.root())}

    def run(self, rows: Iterator[tuple[Any, ...]]) -> None:
        """Group the joined rows (one per posting, entry columns repeated) into entries."""
        head: tuple[Any, ...] | None = None
        legs: list[tuple[str, int, str]] = []
        idxs: list[int] = []
        bal = self.balances
        for row in rows:
            if head is None or row[0] != head[0]:
                if head is not None:
                    self.entry(head, legs, idxs)
                head, legs, idxs = row, [], []
            if row[9] is not None:
                legs.append(row[9:12])
                idxs.append(row[12])
                bal[row[9]] = bal.get(row[9], 0) + row[10]
        if head is not None:
            self.entry(head, legs, idxs)

    def entry(self, head: tuple[Any, ...], legs: list[tuple[str, int, str]], idxs: list[int]) -> None:
        seq, prev_hash, stored = head[0], head[7], bytes(head[8])
        if seq != self.last_seq + 1:
            self.out.add("sequence_gap", f"expected entry {self.last_seq + 1}, found {seq}", self.last_seq + 1)
        if bytes(prev_hash) != self.prev:
            self.out.add("broken_link", f"entry {seq} does not link to the entry before it", seq)
        if _hmac(self.key, _message(head, legs, self.prev), "sha256") != stored:
            self.out.add("hash_mismatch", f"entry {seq} does not match its hash (content or order changed)", seq)
        self._legs(seq, legs, idxs)
        self.count += 1
        self.last_seq, self.prev = seq, stored  # carry the stored hash: one edit reports one entry
        if self.count <= self.merkle_upto:
            self.acc.append(leaf_hash(stored))
            if self.count in self.want_roots:
                self.roots[self.count] = (stored, self.acc.root())

    def _legs(self, seq: int, legs: list[tuple[str, int, str]], idxs: list[int]) -> None:
        """Per entry: at least two postings, numbered 0..n-1, summing to zero per currency, each in
        its account's currency. (Balances per account were summed while grouping.)"""
        sums: dict[str, int] = {}
        accounts = self.accounts
        for account, amount, currency in legs:
            sums[currency] = sums.get(currency, 0) + amount
            shape = accounts.get(account)
            if shape is None or shape[0] != currency:
                self.out.add("posting_account", f"entry {seq} posts {currency} to {account}, "
                             f"which is {'unknown' if shape is None else shape[0]}", seq)
        self.postings += len(legs)
        if len(legs) < 2 or any(sums.values()):
            self.out.add("unbalanced", f"entry {seq} has {len(legs)} postings summing to {sums}", seq)
        if idxs != list(range(len(idxs))):  # the order is hashed, the numbers are not: keep them honest
            self.out.add("posting_index", f"entry {seq} numbers its postings {idxs}", seq)


def _message(head: tuple[Any, ...], legs: list[tuple[str, int, str]], prev: bytes) -> bytes:
    """What the entry's HMAC covers, rebuilt from the stored columns; a value no writer could have
    stored (a number where text belongs, non-ASCII metadata) yields bytes that cannot match."""
    seq, key, memo, meta, actor, at, rev = head[:7]
    if rev is not None and type(rev) is not int:  # canonical_text would round it
        return b"\x00unencodable"
    try:
        content = canonical_text(idempotency_key=key, postings=legs, memo=memo, metadata_json=meta,
                                 reverses_seq=rev, at_utc=at).encode("utf-8", "surrogatepass")
        return b"".join((b"\x01", prev, seq.to_bytes(8, "big"), content, actor.encode("utf-8", "surrogatepass")))
    except (TypeError, ValueError, AttributeError, OverflowError):
        return b"\x00unencodable"


_hmac = hmac.digest


def _compare_tables(snap: _Snapshot, walk: _Walk, out: _Report) -> None:
    stored = {r[0]: int(r[1]) for r in snap.all("SELECT account_code, balance_minor FROM ledger_balances")}
    for code in sorted(set(stored) | set(walk.balances)):
        mine, theirs = walk.balances.get(code, 0), stored.get(code)
        if theirs != mine:
            out.add("balance_mismatch", f"account {code}: balances table {theirs}, journal sums to {mine}")
    for code, (_, kind, overdraft) in walk.accounts.items():
        sign = 1 if kind in ("asset", "expense") else -1
        if not overdraft and sign * walk.balances.get(code, 0) < 0:
            out.add("overdraft", f"guarded account {code} ends at {walk.balances.get(code, 0)}")
    total = int(snap.all("SELECT count(*) FROM ledger_postings")[0][0])
    if total != walk.postings:
        orphans = [int(r[0]) for r in snap.all(
            "SELECT DISTINCT p.seq FROM ledger_postings p LEFT JOIN ledger_entries e ON e.seq = p.seq "
            "WHERE e.seq IS NULL ORDER BY p.seq")]
        out.add("orphan_postings", f"{total - walk.postings} postings belong to no entry: seqs {orphans[:10]}",
                orphans[0] if orphans else None)
    head = snap.all("SELECT seq, hash FROM ledger_chain_head WHERE id = 1")
    head_seq, head_hash = (int(head[0][0]), bytes(head[0][1])) if head else (0, GENESIS_HASH)
    if (head_seq, head_hash) != (walk.last_seq, walk.prev):
        out.add("chain_head", f"chain head says entry {head_seq}, journal ends at {walk.last_seq}",
                walk.last_seq + 1 if head_seq > walk.last_seq else None)


def _compare_checkpoints(walk: _Walk, cps: list[SignedCheckpoint], out: _Report, *, checked: bool) -> None:
    last_good = 0
    for item in sorted(cps, key=lambda c: c.checkpoint.size if c.checkpoint else -1):
        cp = item.checkpoint
        if cp is None:
            out.add("checkpoint_unreadable", item.problem)
            continue
        if checked and not item.signature_ok:
            out.add("checkpoint_signature", f"checkpoint at size {cp.size} (line {item.line_no}) "
                    "has no valid signature")
            continue
        out.r.checkpoints_checked += 1
        if cp.size > walk.count:
            out.add("checkpoint_truncated", f"checkpoint at size {cp.size} but the journal holds "
                    f"{walk.count} entries: the tail was removed", walk.count + 1)
        elif walk.roots.get(cp.size) != (cp.head_hash, cp.merkle_root):
            out.add("checkpoint_mismatch", f"journal differs from the checkpoint at size {cp.size}: "
                    f"rewritten somewhere in entries {last_good + 1}..{cp.size}", last_good + 1)
        else:
            last_good = cp.size


def write_checkpoint(bind: Engine | Connection, *, checkpoints_path: str | Path,
                     signing_key: Ed25519PrivateKey, at: datetime) -> Checkpoint:
    """Sign (size, head hash, Merkle root) of the journal now and append it to the log.

    Before signing, checks that the journal still links up and still matches every earlier
    checkpoint (a checkpoint must never bless a rewritten history). Callers that can, run `verify`
    first (the CLI does).

    Raises:
        CheckpointMismatch (LEDGER_CHECKPOINT_MISMATCH): broken links or an earlier checkpoint differs.
    """
    snap = _Snapshot(bind)
    try:
        earlier = {c.checkpoint.size: c.checkpoint for c in
                   read_checkpoints(checkpoints_path, signing_key.public_key())
                   if c.checkpoint is not None and c.signature_ok}
        acc, prev, n = MerkleAccumulator(), GENESIS_HASH, 0
        for seq, prev_hash, stored in snap.stream("SELECT seq, prev_hash, hash FROM ledger_entries ORDER BY seq"):
            n += 1
            if seq != n or bytes(prev_hash) != prev:
                raise CheckpointMismatch(f"journal broken at entry {n}: run `yinqi ledger verify`", value=n)
            prev = bytes(stored)
            acc.append(leaf_hash(prev))
            old = earlier.get(n)
            if old is not None and (old.head_hash, old.merkle_root) != (prev, acc.root()):
                raise CheckpointMismatch(f"journal no longer matches the checkpoint at size {n}", value=n)
        if any(size > n for size in earlier):
            raise CheckpointMismatch(f"journal has {n} entries, fewer than an earlier checkpoint", value=n)
        cp = Checkpoint(size=n, head_hash=prev, merkle_root=acc.root(), at_utc=format_at(at))
    finally:
        snap.close()
    append_checkpoint(checkpoints_path, cp, signing_key)
    return cp
