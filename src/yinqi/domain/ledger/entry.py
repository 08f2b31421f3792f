"""Journal entries: the only way money moves, and the invariants each one carries.

A `JournalEntry` is a balanced set of signed postings (positive debit, negative credit) under an
idempotency key. Construction refuses anything invalid: fewer than two postings, a zero amount, more
than `MAX_POSTINGS`, or postings that do not sum to zero in every currency. The store checks the
same sum again at its boundary (STYLE rule 7: invariants asserted twice). Timestamps and metadata
are held in their canonical text form, so what is hashed is exactly what is stored.

>>> from datetime import UTC
>>> e = JournalEntry.build(idempotency_key="t-1", memo="top-up", actor="ops",
...                        at=datetime(2024, 1, 2, tzinfo=UTC),
...                        postings=[("bank:CN-ICBC-001", Money(500, "CNY")),
...                                  ("customer:42", Money(-500, "CNY"))])
>>> e.reversal(seq=7, idempotency_key="t-1-rev", actor="ops", at=e.at, reason="typo").postings[0].amount
Money(minor=-500, currency='CNY')
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from yinqi.domain.ledger.accounts import check_account_code, is_account_code
from yinqi.domain.ledger.chain import canonical_content, canonical_json, format_at, is_canonical_at, parse_at
from yinqi.domain.money import Money
from yinqi.domain.problems import Conflict, DomainError, NotFound

__all__ = ["MAX_KEY_LENGTH", "MAX_POSTINGS", "AlreadyReversed", "EntryUnknown", "IdempotencyConflict",
           "JournalEntry", "LedgerEntryInvalid", "LedgerUnbalanced", "Posting", "RecordedEntry",
           "check_balanced"]

MAX_POSTINGS = 100
MAX_KEY_LENGTH = 200
MAX_MEMO_LENGTH = 2000


class LedgerUnbalanced(DomainError):
    code = "LEDGER_UNBALANCED"


class LedgerEntryInvalid(DomainError):
    code = "LEDGER_ENTRY_INVALID"


class IdempotencyConflict(Conflict):
    code = "LEDGER_IDEMPOTENCY_CONFLICT"


class AlreadyReversed(Conflict):
    code = "ALREADY_REVERSED"


class EntryUnknown(NotFound):
    code = "LEDGER_ENTRY_UNKNOWN"


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    amount: Money

    def __post_init__(self) -> None:
        check_account_code(self.account)
        if not isinstance(self.amount, Money):
            raise LedgerEntryInvalid("posting amount must be Money", where=self.account, rule="money")
        if self.amount.minor == 0:
            raise LedgerEntryInvalid(f"zero posting to {self.account}", where=self.account,
                                     rule="nonzero_amount", value=0)

    def as_row(self) -> tuple[str, int, str]:
        return (self.account, self.amount.minor, self.amount.currency)


def check_balanced(rows: Iterable[tuple[str, int, str]], *, where: str = "") -> None:
    """Every currency sums to zero over (account, amount_minor, currency) rows.

    Raises:
        LedgerUnbalanced (LEDGER_UNBALANCED): names the currencies and their non-zero sums.
    """
    sums: dict[str, int] = {}
    for _, amount, currency in rows:
        sums[currency] = sums.get(currency, 0) + amount
    off = {c: s for c, s in sums.items() if s}
    if off:
        raise LedgerUnbalanced(f"postings do not sum to zero: {off}", where=where,
                               rule="sum_zero_per_currency", value=off, details={"sums": off})


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One balanced transaction as it will be hashed and stored (see `chain` for the encoding)."""

    idempotency_key: str
    postings: tuple[Posting, ...]
    memo: str
    actor: str
    at_utc: str
    metadata_json: str = "{}"
    reverses_seq: int | None = None

    def __post_init__(self) -> None:
        self._check_fields()
        if not 2 <= len(self.postings) <= MAX_POSTINGS:
            raise LedgerEntryInvalid(f"an entry needs 2..{MAX_POSTINGS} postings, got {len(self.postings)}",
                                     where=self.idempotency_key, rule="posting_count",
                                     value=len(self.postings))
        if not all(isinstance(p, Posting) for p in self.postings):
            raise LedgerEntryInvalid("postings must be Posting values", where=self.idempotency_key,
                                     rule="posting_type")
        check_balanced(self.rows(), where=self.idempotency_key)

    def _check_fields(self) -> None:
        key = self.idempotency_key
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH:
            raise LedgerEntryInvalid(f"idempotency key must be 1..{MAX_KEY_LENGTH} characters",
                                     where="idempotency_key", rule="key_length", value=key)
        if not isinstance(self.memo, str) or len(self.memo) > MAX_MEMO_LENGTH:
            raise LedgerEntryInvalid("memo must be a string of at most 2000 characters", where=key,
                                     rule="memo_length")
        if not isinstance(self.actor, str) or not 0 < len(self.actor) <= 200:
            raise LedgerEntryInvalid("actor must be 1..200 characters", where=key, rule="actor")
        if not is_canonical_at(self.at_utc):  # the canonical shape, and a real date
            raise LedgerEntryInvalid(f"timestamp {self.at_utc!r} is not canonical UTC", where=key,
                                     rule="timestamp_format", value=self.at_utc)
        rev = self.reverses_seq
        if rev is not None and (isinstance(rev, bool) or not isinstance(rev, int) or rev < 1):
            raise LedgerEntryInvalid("reverses_seq must be a positive sequence number", where=key,
                                     rule="reverses_seq", value=self.reverses_seq)

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def build(cls, *, idempotency_key: str, postings: Sequence[tuple[str, Money] | Posting], memo: str,
              actor: str, at: datetime, metadata: Mapping[str, Any] | None = None,
              reverses_seq: int | None = None) -> JournalEntry:
        """Raises: LEDGER_ENTRY_INVALID, LEDGER_UNBALANCED, LEDGER_ACCOUNT_INVALID, AMOUNT_INVALID."""
        legs = tuple(p if isinstance(p, Posting) else Posting(p[0], p[1]) for p in postings)
        at_utc, metadata_json = _canonical_at_and_metadata(idempotency_key, at, metadata)
        return cls(idempotency_key=idempotency_key, postings=legs, memo=memo, actor=actor, at_utc=at_utc,
                   metadata_json=metadata_json, reverses_seq=reverses_seq)

    @classmethod
    def from_rows(cls, *, idempotency_key: str, rows: Sequence[tuple[str, int, str]], memo: str, actor: str,
                  at: datetime, metadata: Mapping[str, Any] | None = None,
                  reverses_seq: int | None = None) -> JournalEntry:
        """`build` from plain (account, amount_minor, currency) rows, the shape bulk callers hold.

        Every check `build` makes is made, each once: a value that is not plainly valid goes
        through the `Money` and `Posting` constructors (which raise their own errors), and the
        entry's checks run on the finished value. Raises: as `build`, plus UNKNOWN_CURRENCY.
        """
        at_utc, metadata_json = _canonical_at_and_metadata(idempotency_key, at, metadata)
        entry = object.__new__(cls)
        for name, value in (("idempotency_key", idempotency_key), ("memo", memo), ("actor", actor),
                            ("postings", tuple([_posting(a, m, c) for a, m, c in rows])),
                            ("at_utc", at_utc), ("metadata_json", metadata_json), ("reverses_seq", reverses_seq)):
            object.__setattr__(entry, name, value)
        entry.__post_init__()
        return entry

    def reversal(self, *, seq: int, idempotency_key: str, actor: str, at: datetime,
                 reason: str) -> JournalEntry:
        """The entry that undoes this one (entry `seq`): the same postings, negated."""
        return JournalEntry.build(
            idempotency_key=idempotency_key, memo=f"reversal of {seq}: {reason}"[:MAX_MEMO_LENGTH],
            postings=[Posting(p.account, -p.amount) for p in self.postings], actor=actor, at=at,
            metadata={"reason": reason}, reverses_seq=seq)

    # --- views -----------------------------------------------------------------------------
    @property
    def at(self) -> datetime:
        return parse_at(self.at_utc)

    @property
    def metadata(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.metadata_json)
        return value

    def rows(self) -> list[tuple[str, int, str]]:
        return [(p.account, p.amount.minor, p.amount.currency) for p in self.postings]

    def content(self) -> bytes:
        return canonical_content(idempotency_key=self.idempotency_key, postings=self.rows(), memo=self.memo,
                                 metadata_json=self.metadata_json, reverses_seq=self.reverses_seq,
                                 at_utc=self.at_utc)

    def accounts(self) -> set[str]:
        return {p.account for p in self.postings}

    # --- idempotency -----------------------------------------------------------------------
    def same_request(self, other: JournalEntry) -> bool:
        """Same key and same business content. Time and actor may differ: a retry is later, and
        may come from another worker."""
        return (self.idempotency_key, self.postings, self.memo, self.metadata_json, self.reverses_seq) == (
            other.idempotency_key, other.postings, other.memo, other.metadata_json, other.reverses_seq)

    def check_replay_of(self, original: JournalEntry, *, seq: int) -> None:
        """Raises:
            IdempotencyConflict (LEDGER_IDEMPOTENCY_CONFLICT): the key was used for other content.
        """
        if not self.same_request(original):
            raise IdempotencyConflict(
                f"idempotency key {self.idempotency_key!r} was used for entry {seq} with other content",
                where="idempotency_key", rule="same_key_same_content", value=self.idempotency_key,
                details={"seq": seq})


def _canonical_at_and_metadata(key: str, at: datetime, metadata: Mapping[str, Any] | None) -> tuple[str, str]:
    try:
        return format_at(at), canonical_json(dict(metadata)) if metadata else "{}"
    except (ValueError, TypeError) as exc:
        raise LedgerEntryInvalid(str(exc), where=key, rule="timestamp_or_metadata") from None


# Money's range (money._MAX_DIGITS); a test pins the two together.
_MINOR_LIMIT = 10**18
# Currency spelling -> the code Money stores, learnt from Money itself; bounded.
_CURRENCY_CODES: dict[str, str] = {}


def _posting(account: str, minor: int, currency: str) -> Posting:
    """A Posting from a row: plainly valid values skip the constructors' re-checks; anything else
    goes through them, so they raise exactly as `build` would."""
    code = _CURRENCY_CODES.get(currency) if type(currency) is str else None
    if (code is None or type(minor) is not int or not 0 < abs(minor) < _MINOR_LIMIT
            or type(account) is not str or not is_account_code(account)):
        posting = Posting(account, Money(minor, currency))
        if len(_CURRENCY_CODES) < 1024:
            _CURRENCY_CODES[currency] = posting.amount.currency
        return posting
    amount = object.__new__(Money)
    object.__setattr__(amount, "minor", minor)
    object.__setattr__(amount, "currency", code)
    posting = object.__new__(Posting)
    object.__setattr__(posting, "account", account)
    object.__setattr__(posting, "amount", amount)
    return posting


@dataclass(frozen=True, slots=True)
class RecordedEntry:
    """An entry as stored: its place in the chain and its link hashes."""

    seq: int
    entry: JournalEntry
    prev_hash: bytes
    hash: bytes
