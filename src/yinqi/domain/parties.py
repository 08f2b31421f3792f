"""The parties of a payment: who pays (payer), who is paid (payee), and their bank accounts.

An `AccountRef` is either an IBAN or a Chinese domestic account (number + CNAPS code); both give a
`ledger_key`, the stable name under which the hub books that account's funds. Values here are
already valid: they are built from identifiers that validated themselves. `masked` views exist for
logs and low-privilege readers; encryption at rest is the storage layer's job (R19, later issue).
"""

from __future__ import annotations

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
    def ledger_key(self) -> str:
        if self.iban is not None:
            return self.iban.compact
        assert self.domestic is not None
        return self.domestic.ledger_key

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
