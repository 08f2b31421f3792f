"""Onboarding the company's own bank accounts into the ledger.

An account the hub pays from needs two ledger accounts (available and held funds, both refusing
overdraft) and its opening balance, booked against `equity:opening:<CCY>`. The opening posting has
a stable idempotency key per account, so onboarding twice books once; a different opening balance
under the same account is a conflict, not a silent correction (corrections are postings).
"""

from __future__ import annotations

from yinqi.application.ports import Clock, Ledger
from yinqi.domain.money import Money
from yinqi.domain.parties import AccountRef


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
    key = account.ledger_key
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
