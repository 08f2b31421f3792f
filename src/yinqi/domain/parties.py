"""The parties of a payment: who pays (payer), who is paid (payee), and their bank accounts.

An `AccountRef` is either an IBAN or a Chinese domestic account (number + CNAPS code). Its
`ledger_account_key` is the stable, opaque name under which the hub books that account's funds:
derived from the account's blind index (a keyed hash the caller supplies), never the number
itself, so ledger codes, balances and exports carry no account number (R19). `normalised` (alias
`ledger_key`, its older name) is the account's identity in clear: compare with it, never store or
print it. Values here are already valid:
they are built from identifiers that validated themselves. `masked` views exist for logs and
low-privilege readers; encryption at rest is the storage layer's job.

>>> ref = AccountRef(iban=Iban("DE89370400440532013000"))
>>> ref.ledger_account_key(lambda normalised: "0123456789abcdef" * 2)
'acct_0123456789abcdef'
>>> ref.masked
'DE89**************3000'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from yinqi.domain.identifiers import Bic, CnDomesticAccount, CountryCode, Iban

AccountScheme = Literal["IBAN", "CN"]


@dataclass(frozen=True, slots=True)
class AccountRef:
    """A bank account: `iban` set for IBAN accounts, `domestic` set for CN domestic accounts."""

    iban: Iban | None = None
    domestic: CnDomesticAccount | None = None

    def __post_init__(self) -> None:
        assert (self.iban is None) != (self.domestic is None), "exactly one of iban / domestic"

    @property
    def scheme(self) -> AccountScheme:
        return "IBAN" if self.iban is not None else "CN"

    @property
    def number(self) -> str:
        """The account identifier as a bank prints it: compact IBAN or domestic digits."""
        if self.iban is not None:
            return self.iban.compact
        assert self.domestic is not None
        return self.domestic.number

    @property
    def bank_code(self) -> str | None:
        """The CNAPS code of a domestic account; IBAN accounts carry their bank inside the IBAN."""
        return self.domestic.cnaps.value if self.domestic is not None else None

    @property
    def normalised(self) -> str:
        """One string per account, what the blind index is computed over: the compact IBAN, or
        `CN<cnaps>-<number>` (a domestic number is unique only at its bank)."""
        if self.iban is not None:
            return self.iban.compact
        assert self.domestic is not None
        return self.domestic.ledger_key

    @property
    def ledger_key(self) -> str:
        """The older name of `normalised` (the identity in clear); ledger codes use
        `ledger_account_key` since R19."""
        return self.normalised

    def ledger_account_key(self, blind_index: Callable[[str], str]) -> str:
        """`acct_<first 16 hex of the blind index>`: stable for the account, opaque without the
        blind-index key. The chain of the ledger covers codes, so this format is fixed."""
        return f"acct_{blind_index(self.normalised)[:16]}"

    @property
    def masked(self) -> str:
        if self.iban is not None:
            return self.iban.masked
        assert self.domestic is not None
        return self.domestic.masked


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address in the ISO 20022 structured form (all parts optional, each ≤ 70 chars)."""

    street: str | None = None
    building_number: str | None = None
    postcode: str | None = None
    town: str | None = None


@dataclass(frozen=True, slots=True)
class Payer:
    """The ordering company's side: its account (in `currency`) at the bank that sends the payment."""

    name: str
    account: AccountRef
    currency: str
    bic: Bic | None = None


@dataclass(frozen=True, slots=True)
class Payee:
    """The beneficiary: name, account, bank (BIC, or the CNAPS code of a domestic account),
    country of residence and address."""

    name: str
    account: AccountRef
    country: CountryCode
    bic: Bic | None = None
    address: Address | None = None
