"""Chart of accounts: what an account is, which side it normally sits on, when it may not go.

Amounts are signed (positive debit, negative credit) and a balance is the plain sum of an
account's postings. The account kind decides the normal side: assets and expenses are debit-normal
(their balances are >= 0 when healthy), liabilities, equity and income are credit-normal (<= 0).
An account with `allow_overdraft=False` may never cross to the wrong side of zero; the store checks
this inside the posting transaction with the balance row locked, and raises `InsufficientFunds`.

>>> Account(code="funds:available:CN-ICBC-001", currency="CNY", kind=AccountKind.ASSET,
...         allow_overdraft=False).violated_by(-1)
True
>>> AccountKind.LIABILITY.normal_side
'credit'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from yinqi.domain.currency import Currency
from yinqi.domain.problems import DomainError

__all__ = ["Account", "AccountConflict", "AccountInvalid", "AccountKind", "AccountUnknown",
           "InsufficientFunds", "LedgerCurrencyMismatch", "account_kind", "check_account_code",
           "is_account_code"]

# Letters, digits and a few separators; colons build the hierarchy ("funds:available:CN-ICBC-001").
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9:_.@/\-]{0,199}")


class InsufficientFunds(DomainError):
    code = "INSUFFICIENT_FUNDS"


class AccountUnknown(DomainError):
    code = "LEDGER_ACCOUNT_UNKNOWN"


class AccountInvalid(DomainError):
    code = "LEDGER_ACCOUNT_INVALID"


class AccountConflict(DomainError):
    """The code exists with another currency, kind or overdraft rule: accounts never change shape."""

    code = "LEDGER_ACCOUNT_CONFLICT"


class LedgerCurrencyMismatch(DomainError):
    code = "LEDGER_CURRENCY_MISMATCH"


class AccountKind(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"

    @property
    def normal_side(self) -> str:
        return "debit" if self in (AccountKind.ASSET, AccountKind.EXPENSE) else "credit"

    @property
    def sign(self) -> int:
        """+1 for debit-normal kinds, -1 for credit-normal: `sign * balance` is >= 0 when healthy."""
        return 1 if self.normal_side == "debit" else -1


def account_kind(value: str) -> AccountKind:
    """Raises:
        AccountInvalid (LEDGER_ACCOUNT_INVALID): not one of asset, liability, equity, income, expense.
    """
    try:
        return AccountKind(value)
    except ValueError:
        raise AccountInvalid(f"account kind {value!r} is not one of {[k.value for k in AccountKind]}",
                             where="kind", rule="account_kind", value=value) from None


@lru_cache(maxsize=1 << 16)  # a ledger posts to the same accounts over and over
def is_account_code(code: str) -> bool:
    return _CODE.fullmatch(code) is not None


def check_account_code(code: str) -> str:
    """Return `code` if it is a well-formed account code.

    Raises:
        AccountInvalid (LEDGER_ACCOUNT_INVALID): empty, too long, or a character outside the set.
    """
    if not isinstance(code, str) or not is_account_code(code):
        raise AccountInvalid(f"account code {code!r} must match {_CODE.pattern}", where="account",
                             rule="account_code_syntax", value=code)
    return code


@dataclass(frozen=True, slots=True)
class Account:
    code: str
    currency: str
    kind: AccountKind
    allow_overdraft: bool = True
    name: str = ""

    def __post_init__(self) -> None:
        check_account_code(self.code)
        object.__setattr__(self, "currency", Currency.of(self.currency).code)
        object.__setattr__(self, "kind", account_kind(self.kind))

    def violated_by(self, balance_minor: int) -> bool:
        """Would `balance_minor` break this account's no-overdraft rule?"""
        return not self.allow_overdraft and self.kind.sign * balance_minor < 0

    def check_balance(self, balance_minor: int, *, entry_key: str = "") -> None:
        """Raises:
            InsufficientFunds (INSUFFICIENT_FUNDS): the balance would cross zero on a guarded account.
        """
        if self.violated_by(balance_minor):
            raise InsufficientFunds(
                f"account {self.code} would go to {balance_minor} {self.currency} "
                f"({self.kind.normal_side}-normal, overdraft not allowed)",
                where=self.code, rule="no_overdraft", value=balance_minor,
                details={"account": self.code, "balance_minor": balance_minor, "idempotency_key": entry_key})

    def check_currency(self, currency: str) -> None:
        """Raises:
            LedgerCurrencyMismatch (LEDGER_CURRENCY_MISMATCH): a posting in another currency.
        """
        if currency != self.currency:
            raise LedgerCurrencyMismatch(
                f"posting in {currency} to account {self.code} held in {self.currency}",
                where=self.code, rule="posting_currency", value=currency)

    def same_shape(self, other: Account) -> bool:
        return (self.currency, self.kind, self.allow_overdraft) == (
            other.currency, other.kind, other.allow_overdraft)
