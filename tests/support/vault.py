"""A field-encryption keyring for tests that build `SqlUnitOfWork` directly (the hub builds its
own from YINQI_HOME), and the ledger codes of an account under a vault: codes are opaque
(`funds:available:acct_<blind index>`), so tests derive them rather than spell them."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import Engine

from yinqi.adapters.crypto.field_encryption import FieldKeyring
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application import accounts
from yinqi.application.ports import AccountVault
from yinqi.domain.identifiers import Iban
from yinqi.domain.parties import AccountRef

TEST_VAULT = FieldKeyring(Path(tempfile.mkdtemp(prefix="yinqi-test-vault-")))


def sql_uow(engine: Engine, *, ledger_key: bytes, vault: AccountVault = TEST_VAULT) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, ledger_key=ledger_key, vault=vault)


def funds_codes(iban: str, vault: AccountVault = TEST_VAULT) -> tuple[str, str]:
    """(available, held) ledger codes of the IBAN's account."""
    key = accounts.ledger_key(vault, AccountRef(iban=Iban.parse(iban)))
    return accounts.available_account(key), accounts.held_account(key)
