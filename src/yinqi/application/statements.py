"""Statements in, orders settled: import a bank statement and settle the orders it proves paid.

Import is idempotent twice over: the same file bytes store nothing new, and entries already seen
on the account (by bank reference) are skipped when a bank re-sends a grown statement. Matching
runs the reconciliation engine (application/reconciliation.py, ADR 0007): only automatic 1:1
matches with the exact amount settle orders; suggestions, fee drifts and discrepancies are
returned for a person, never settled silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from yinqi.application import reconciliation, statement_checks
from yinqi.application.bank_connector import BankTransportError, BankUnavailable
from yinqi.application.ports import Clock, MessageCodec
from yinqi.domain.problems import DomainError
from yinqi.domain.reconciliation.matching import Discrepancy

MATCHER = reconciliation.MATCHER


@dataclass
class ImportSummary:
    format: str
    statements: int = 0
    duplicate_statements: int = 0
    entries_added: int = 0
    entries_skipped: int = 0
    settled: list[str] = field(default_factory=list)
    discrepancies: list[Discrepancy] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)  # statement checks per new version (ADR 0007)

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "statements": self.statements,
                "duplicate_statements": self.duplicate_statements, "entries_added": self.entries_added,
                "entries_skipped": self.entries_skipped, "settled_orders": self.settled,
                "discrepancies": [{"entry_id": d.entry_id, "order_id": d.order_id, "reason": d.reason}
                                  for d in self.discrepancies],
                "warnings": self.warnings, "checks": self.checks}


# MT940 :25: is 35x; camt Acct/Id/Othr/Id is Max34Text: a longer "account" is a misread field.
MAX_ACCOUNT_ID_CHARS = 35


class StatementAccountInvalid(DomainError):
    """A statement whose account identifier cannot be an account (too long): refused as a whole, with
    the statement and the length named, rather than stored under a garbage account or crashing on
    a column length (the two backends enforce lengths differently)."""

    code = "STATEMENT_ACCOUNT_INVALID"


def _check_accounts(parsed: Any, source: str) -> None:
    for statement in parsed.statements:
        account = statement.account.iban or statement.account.other_id or ""
        if len(account) > MAX_ACCOUNT_ID_CHARS:
            raise StatementAccountInvalid(
                f"{source}: statement {statement.id}: account identifier {account[:20]!r}… is {len(account)} "
                f"characters; an account identifier has at most {MAX_ACCOUNT_ID_CHARS} (a misplaced field?)",
                where=f"{source}: statement {statement.id}: account", rule="max_length_35", value=len(account))


def import_statement_file(*, uow_factory: Callable[[], Any], clock: Clock, codec: MessageCodec, data: bytes,
                          source: str) -> ImportSummary:
    """Read, store and reconcile one statement file in one transaction (all or nothing).

    Raises:
        XmlRejected (XML_REJECTED) / CamtInvalid (CAMT_INVALID): the file cannot be read.
        StatementAccountInvalid (STATEMENT_ACCOUNT_INVALID): an account identifier longer than 35
            characters (nothing stored).
    """
    parsed = codec.read_statements(data, source=source)
    _check_accounts(parsed, source)
    digest = hashlib.sha256(data).hexdigest()
    summary = ImportSummary(format=parsed.format)
    with uow_factory() as uow:
        with uow.atomic():
            _store_and_reconcile(uow, parsed, digest=digest, summary=summary, clock=clock)
        uow.commit()
    return summary


def _store_and_reconcile(uow: Any, parsed: Any, *, digest: str, summary: ImportSummary, clock: Clock) -> None:
    now = clock.now()
    stored = []
    for statement in parsed.statements:
        result = uow.statements.import_statement(statement, fmt=parsed.format, source_sha256=digest, at=now)
        summary.statements += 1
        summary.duplicate_statements += int(result.duplicate)
        summary.entries_added += len(result.entries)
        summary.entries_skipped += result.skipped
        summary.warnings.extend(f"{statement.id}: {w}" for w in statement.warnings)
        if not result.duplicate:
            stored.append((statement, result.statement_pk))
    summary.settled, summary.discrepancies = reconcile(uow, clock=clock)
    # after reconciliation, so the ledger comparison sees the settlements this statement proves
    summary.checks = [statement_checks.check_imported(uow, statement=st, statement_pk=pk, at=now) for st, pk in stored]


def reconcile(uow: Any, *, clock: Clock) -> tuple[list[str], list[Discrepancy]]:
    """Run the matching engine over unmatched entries and open orders; settle what it may book.

    Returns the settled order ids, and the discrepancies and suggestions (each as a `Discrepancy`
    whose reason starts with its code or "suggestion"), which are not stored in this slice.
    """
    run = reconciliation.reconcile_in(uow, clock=clock)
    problems = [Discrepancy(line_id, item_id, f"{d.code.value}: {d.detail}")
                for d in run.discrepancies for line_id in d.line_ids for item_id in d.item_ids[:1]]
    problems += [Discrepancy(line_id, m.item_ids[0],
                             f"suggestion {m.confidence:.2f} {m.strategy.value}: " + "; ".join(map(str, m.reasons)))
                 for m in run.suggestions for line_id in m.line_ids]
    return run.settled, problems


def fetch_statements(*, uow_factory: Callable[[], Any], clock: Clock, codec: MessageCodec,
                     connector_for: Callable[[str], Any]) -> list[ImportSummary]:
    """Ask each bank for today's statement of every account we pay from, and import it."""
    with uow_factory() as uow:
        accounts = uow.bank_messages.debtor_accounts()
    summaries = []
    today = clock.now().date()
    for bank_id, account in accounts:
        try:
            raw = connector_for(bank_id).fetch_statement(account=account, on=today)
        except (BankUnavailable, BankTransportError):
            continue
        if raw:
            summaries.append(import_statement_file(uow_factory=uow_factory, clock=clock, codec=codec, data=raw,
                                                   source=f"{bank_id} statement {account} {today}"))
    return summaries
