"""Statements in, orders settled: import a bank statement and settle the orders it proves paid.

Import is idempotent twice over: the same file bytes store nothing new, and entries already seen
on the account (by bank reference) are skipped when a bank re-sends a grown statement. Matching
is stage 1 of reconciliation (exact end-to-end id, amount and currency); an entry that names an
order but disagrees on amount is reported as a discrepancy for a person, never settled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from yinqi.application import orders as order_cases
from yinqi.application.bank_connector import BankTransportError, BankUnavailable
from yinqi.application.ports import Clock, MessageCodec
from yinqi.domain.orders.lifecycle import OrderState
from yinqi.domain.reconciliation.matching import Discrepancy, EntryView, OrderView, match_exact

MATCHER = "reconciliation"
SETTLEABLE = frozenset({OrderState.SENT, OrderState.ACCEPTED})


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

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "statements": self.statements,
                "duplicate_statements": self.duplicate_statements, "entries_added": self.entries_added,
                "entries_skipped": self.entries_skipped, "settled_orders": self.settled,
                "discrepancies": [{"entry_id": d.entry_id, "order_id": d.order_id, "reason": d.reason}
                                  for d in self.discrepancies],
                "warnings": self.warnings}


def import_statement_file(*, uow_factory: Callable[[], Any], clock: Clock, codec: MessageCodec, data: bytes,
                          source: str) -> ImportSummary:
    """Read, store and reconcile one statement file in one transaction (all or nothing).

    Raises:
        XmlRejected (XML_REJECTED) / CamtInvalid (CAMT_INVALID): the file cannot be read.
    """
    parsed = codec.read_statements(data, source=source)
    digest = hashlib.sha256(data).hexdigest()
    summary = ImportSummary(format=parsed.format)
    with uow_factory() as uow:
        with uow.atomic():
            _store_and_reconcile(uow, parsed, digest=digest, summary=summary, clock=clock)
        uow.commit()
    return summary


def _store_and_reconcile(uow: Any, parsed: Any, *, digest: str, summary: ImportSummary, clock: Clock) -> None:
    now = clock.now()
    for statement in parsed.statements:
        result = uow.statements.import_statement(statement, fmt=parsed.format, source_sha256=digest, at=now)
        summary.statements += 1
        summary.duplicate_statements += int(result.duplicate)
        summary.entries_added += len(result.entries)
        summary.entries_skipped += result.skipped
        summary.warnings.extend(f"{statement.id}: {w}" for w in statement.warnings)
    summary.settled, summary.discrepancies = reconcile(uow, clock=clock)


def reconcile(uow: Any, *, clock: Clock) -> tuple[list[str], list[Discrepancy]]:
    """Match unmatched booked entries to sent orders by end-to-end id and settle the matches."""
    entries = [e for e in uow.statements.unmatched_entries() if e.end_to_end_ids]
    by_e2e = uow.bank_messages.orders_by_end_to_end_id(sorted({i for e in entries for i in e.end_to_end_ids}))
    orders = [uow.orders.get(order_id) for order_id in by_e2e.values()]
    views = [OrderView(o.id, o.end_to_end_id.value, o.amount.minor, o.amount.currency)
             for o in orders if o.state in SETTLEABLE]
    entry_views = [EntryView(e.id, e.amount_minor, e.currency, e.status, e.end_to_end_ids) for e in entries]
    matches, problems = match_exact(entry_views, views)
    now = clock.now()
    for match in matches:
        uow.statements.record_match(entry_id=match.entry_id, order_id=match.order_id, rule=match.rule.value,
                                    confidence=match.confidence, at=now, actor=MATCHER)
        order_cases.settle_order(uow=uow, order_id=match.order_id, actor=MATCHER, clock=clock)
    return [m.order_id for m in matches], problems


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
