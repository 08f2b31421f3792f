"""Accounts: kinds, normal side, the no-overdraft rule, currency and code checks."""

import pytest

from yinqi.domain.ledger.accounts import (
    Account,
    AccountInvalid,
    AccountKind,
    InsufficientFunds,
    LedgerCurrencyMismatch,
)
from yinqi.domain.problems import DomainError


@pytest.mark.parametrize(("kind", "side"), [("asset", "debit"), ("expense", "debit"), ("liability", "credit"),
                                            ("equity", "credit"), ("income", "credit")])
def test_each_kind_has_its_normal_balance_side(kind: str, side: str) -> None:
    assert AccountKind(kind).normal_side == side


def test_guarded_debit_normal_account_may_reach_zero_but_not_below() -> None:
    acct = Account(code="funds:available:CN-ICBC-001", currency="CNY", kind=AccountKind.ASSET,
                   allow_overdraft=False)
    acct.check_balance(0)
    with pytest.raises(InsufficientFunds) as err:
        acct.check_balance(-1)
    assert err.value.code == "INSUFFICIENT_FUNDS" and isinstance(err.value, DomainError)


def test_guarded_credit_normal_account_may_not_go_above_zero() -> None:
    acct = Account(code="customer:42", currency="EUR", kind=AccountKind.LIABILITY, allow_overdraft=False)
    acct.check_balance(-500)
    with pytest.raises(InsufficientFunds):
        acct.check_balance(1)


def test_overdraft_allowed_accounts_accept_any_balance() -> None:
    acct = Account(code="equity:capital", currency="EUR", kind=AccountKind.EQUITY)
    acct.check_balance(10**12)
    acct.check_balance(-(10**12))


def test_posting_in_another_currency_is_a_currency_mismatch() -> None:
    acct = Account(code="bank", currency="eur", kind=AccountKind.ASSET)
    assert acct.currency == "EUR"
    with pytest.raises(LedgerCurrencyMismatch) as err:
        acct.check_currency("USD")
    assert err.value.code == "LEDGER_CURRENCY_MISMATCH"


@pytest.mark.parametrize("code", ["", " bank", "bank account", "a" * 201, ":leading-colon", "bank\n"])
def test_malformed_account_codes_are_refused(code: str) -> None:
    with pytest.raises(AccountInvalid):
        Account(code=code, currency="EUR", kind=AccountKind.ASSET)


def test_unknown_account_kind_is_a_typed_error() -> None:
    with pytest.raises(AccountInvalid) as err:
        Account(code="x", currency="EUR", kind="revenue")  # type: ignore[arg-type]
    assert err.value.rule == "account_kind"
