"""Onboarding the company's own bank accounts into the ledger.

An account the hub pays from needs two ledger accounts (available and held funds, both refusing
overdraft) and its opening balance, booked against `equity:opening:<CCY>`. The opening posting has
a stable idempotency key per account, so onboarding twice books once; a different opening balance
under the same account is a conflict, not a silent correction (corrections are postings).

Ledger codes name an account by `ledger_key` (`acct_<16 hex of its blind index>`), never by its
number, and ledger account names show it masked: the ledger, its exports and its balances carry
no account number (R19). The blind index comes from the unit of work's vault.
"""

from __future__ import annotations

from yinqi.application.ports import AccountVault, Clock, Ledger
from yinqi.domain.money import Money
from yinqi.domain.parties import AccountRef


def ledger_key(vault: AccountVault, account: AccountRef) -> str:
    """The opaque, stable key of `account` in ledger codes."""
    return account.ledger_account_key(vault.blind_index)


def available_account(key: str) -> str:
    return f"funds:available:{key}"


def held_account(key: str) -> str:
    return f"funds:held:{key}"


def onboard_account(*, uow: object, clock: Clock, actor: str, account: AccountRef, currency: str,
                    opening_balance: Money, name: str) -> int | None:
    """Create the account's ledger accounts and book its opening balance. Returns the ledger
    sequence number of the opening entry (None for a zero balance).

    Raises:
        CurrencyMismatch (CURRENCY_MISMATCH): the balance is not in the account's currency.
        LEDGER_IDEMPOTENCY_CONFLICT: the account was onboarded before with another balance.
    """
    ledger: Ledger = uow.ledger  # type: ignore[attr-defined]
    key = ledger_key(uow.vault, account)  # type: ignore[attr-defined]
    Money.zero(currency) + opening_balance  # same currency, or a typed error
    for code, label in ((available_account(key), "Available funds"), (held_account(key), "Funds held for payments")):
        ledger.ensure_account(code=code, currency=currency, kind="asset", allow_overdraft=False,
                              name=f"{label} {name} {account.masked}")
    equity = f"equity:opening:{currency}"
    ledger.ensure_account(code=equity, currency=currency, kind="equity", name=f"Opening balances {currency}")
    seq = None
    if not opening_balance.is_zero():
        seq = ledger.post(idempotency_key=f"onboard:{key}:opening",
                          postings=[(available_account(key), opening_balance), (equity, -opening_balance)],
                          memo=f"opening balance of {name} {account.masked}", actor=actor, at=clock.now())
    uow.commit()  # type: ignore[attr-defined]
    return seq
