"""The double-entry ledger's domain: accounts, journal entries, the hash chain, Merkle proofs and
checkpoints. Pure Python: no I/O, no clock (callers pass `at`), no framework.

Map: `accounts` (kinds, normal side, overdraft rule) · `entry` (JournalEntry, Posting, the
balance invariant, reversal, idempotency comparison) · `chain` (canonical encoding, HMAC link) ·
`merkle` (RFC 6962 tree hash and proofs) · `checkpoint` (signed chain-head value object).
"""

from yinqi.domain.ledger.accounts import (
    Account,
    AccountConflict,
    AccountInvalid,
    AccountKind,
    AccountUnknown,
    InsufficientFunds,
    LedgerCurrencyMismatch,
)
from yinqi.domain.ledger.checkpoint import Checkpoint, CheckpointInvalid
from yinqi.domain.ledger.entry import (
    AlreadyReversed,
    EntryUnknown,
    IdempotencyConflict,
    JournalEntry,
    LedgerEntryInvalid,
    LedgerUnbalanced,
    Posting,
    RecordedEntry,
)

__all__ = [
    "Account", "AccountConflict", "AccountInvalid", "AccountKind", "AccountUnknown", "AlreadyReversed",
    "Checkpoint", "CheckpointInvalid", "EntryUnknown", "IdempotencyConflict", "InsufficientFunds",
    "JournalEntry", "LedgerCurrencyMismatch", "LedgerEntryInvalid", "LedgerUnbalanced", "Posting",
    "RecordedEntry",
]
