"""Statement-level checks at import, and the alerts they raise (issue 6 item 4, ADR 0007).

Each new statement version is checked in the import's transaction, after reconciliation has
settled what it proves paid: against the statement before it (opening = previous closing, next
sequence number), against itself (opening + booked entries = closing) and against the ledger.

Which ledger balance mirrors the bank's booked balance: `funds:available:<acct>` + `funds:held:
<acct>`. Onboarding books the bank balance into available funds; approval moves an order's amount
from available to held (the money is still at the bank); settlement takes it out of held when the
statement shows the debit; bank fees and write-offs come out of available. So available + held is
the money the ledger believes is at the bank. The comparison is made only for the newest statement
of the account (the ledger keeps current balances, and settlements are booked when matched, not
on the bank's booking date, so a balance "as of" an older closing date would not mean the same).
Unmatched debits and receipts the ledger does not know yet show up as a LEDGER_MISMATCH: that is
the alert doing its job, not noise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from yinqi.application import accounts
from yinqi.application.recon_booking import funds_account
from yinqi.application.recon_queue import sees_line
from yinqi.domain.bank_messages import Statement
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Principal
from yinqi.domain.ledger.accounts import AccountUnknown
from yinqi.domain.money import Money
from yinqi.domain.reconciliation.continuity import check_statement, facts_of


def check_imported(uow: Any, *, statement: Statement, statement_pk: int, at: datetime) -> dict[str, Any]:
    """Check one stored statement version and record its alerts (once per statement and check).

    Returns {statement_pk, statement_id, breaks: [{code, amount, currency, expected, actual, new}],
    skipped: ["<CODE>: why"]}.
    """
    store = uow.statement_checks
    stored = store.stored(statement_pk)
    facts = facts_of(statement)
    if stored is None or store.is_checked(statement_pk):
        return {"statement_pk": statement_pk, "statement_id": statement.id, "breaks": [], "skipped": []}
    account, _ = stored
    closing_on = facts.closing.on if facts.closing else None
    previous = store.previous(account, statement.id, closing_on)
    ledger = ledger_balance(uow, account) if store.is_newest(account, statement_pk, closing_on) else None
    checks = check_statement(facts, previous=previous, ledger=ledger)
    breaks = store.record(statement_pk=statement_pk, account=account, facts=facts,
                          sequence_text=statement.sequence_number, checks=checks, ledger=ledger, at=at)
    return {"statement_pk": statement_pk, "statement_id": statement.id, "breaks": [_json(b) for b in breaks],
            "skipped": list(checks.skipped)}


def ledger_balance(uow: Any, account: str) -> Money | None:
    """available + held funds of the ledger account mirroring `account` (a blind index); None when
    the account was never onboarded into the ledger."""
    available = funds_account(uow, account)
    held = accounts.held_account(available.removeprefix("funds:available:"))
    try:
        total: Money = uow.ledger.balance(available)
    except AccountUnknown:
        return None
    try:
        held_funds: Money = uow.ledger.balance(held)
    except AccountUnknown:
        return total
    return total + held_funds


def list_breaks(*, uow: Any, principal: Principal | None, home_company: str, account: str | None = None,
                limit: int = 500) -> list[dict[str, Any]]:
    """The alerts, newest first (`principal` None: the hub's own view, every company).

    A break belongs to the companies whose orders pay from its account (the hub's company when none
    does yet), as statement lines do in the exceptions queue.

    Raises:
        Forbidden (FORBIDDEN): no `recon.read`.
    """
    if principal is not None:
        require(principal, Permission.RECON_READ)
    rows = uow.statement_checks.breaks(account=account, limit=limit)
    companies = uow.recon.account_companies({r["account_bidx"] for r in rows})
    out = []
    for r in rows:
        owners = tuple(sorted(companies.get(r["account_bidx"]) or {home_company}))
        if principal is None or sees_line(principal, owners):
            out.append({**_json({k: v for k, v in r.items() if k != "account_bidx"}), "company_ids": list(owners)})
    return out


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
