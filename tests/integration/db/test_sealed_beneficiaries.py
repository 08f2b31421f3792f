"""Beneficiary account numbers at rest (R19, revision 0010) on SQLite and PostgreSQL: sealed in the
master record and in the append-only change history, found by blind index, re-sealed by a key
rotation although the history refuses every other UPDATE, and clear pre-0010 rows still read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from yinqi.adapters.crypto.field_encryption import FieldKeyring, blob_key_id
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application import beneficiaries as cases
from yinqi.domain.identifiers import Iban
from yinqi.domain.identity.principal import Channel, Principal, Role
from yinqi.domain.orders.commands import AccountInput, AddressInput
from yinqi.domain.parties import AccountRef

AT = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
KEY = b"k" * 32
IBAN = "FR1420041010050500013M02606"
NEW_IBAN = "FR7630006000011234567890189"
MAKER = Principal("u-maker", "maker", frozenset({Role.OPERATOR}), frozenset({"ACME"}), Channel.API,
                  source_address="127.0.0.1")
CHECKER = Principal("u-checker", "checker", frozenset({Role.APPROVER}), frozenset({"ACME"}), Channel.API,
                    source_address="127.0.0.1")


class Clock:
    def now(self) -> datetime:
        return AT


@pytest.fixture
def vault(tmp_path: Path) -> FieldKeyring:
    return FieldKeyring.at_home(tmp_path)


def uow(engine: Engine, vault: FieldKeyring) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, ledger_key=KEY, vault=vault)


def a_beneficiary_with_a_changed_account(engine: Engine, vault: FieldKeyring) -> str:
    with uow(engine, vault) as u:
        created = cases.propose_beneficiary(uow=u, clock=Clock(), principal=MAKER, company_id="ACME",
                                            name="Fournisseur SARL", account=AccountInput(iban=IBAN), country="FR",
                                            bic="BNPAFRPPXXX", address=AddressInput(town="Paris"), reason="new")
    with uow(engine, vault) as u:
        beneficiary = cases.approve_change(uow=u, clock=Clock(), principal=CHECKER, change_id=created.id,
                                           cooling_off=timedelta(hours=1))
    with uow(engine, vault) as u:
        change = cases.propose_change(uow=u, clock=Clock(), principal=MAKER, beneficiary_id=beneficiary.id,
                                      account=AccountInput(iban=NEW_IBAN), reason="letter")
    with uow(engine, vault) as u:
        cases.approve_change(uow=u, clock=Clock(), principal=CHECKER, change_id=change.id,
                             cooling_off=timedelta(hours=1))
    return beneficiary.id


def dump(engine: Engine, table: str) -> str:
    with engine.connect() as conn:
        return "\n".join(str(tuple(r)) for r in conn.execute(text(f"SELECT * FROM {table}")))


def test_no_beneficiary_account_number_is_stored_in_clear(engine: Engine, vault: FieldKeyring) -> None:
    beneficiary_id = a_beneficiary_with_a_changed_account(engine, vault)
    for table in ("beneficiaries", "beneficiary_changes"):
        text_of_table = dump(engine, table)
        assert IBAN not in text_of_table and NEW_IBAN not in text_of_table, table
    assert "FR76*******************0189" in dump(engine, "beneficiaries")
    with uow(engine, vault) as u:
        assert u.beneficiaries.get(beneficiary_id).account.number == NEW_IBAN
        old, new = sorted(u.beneficiaries.changes(beneficiary_id), key=lambda c: c.old_account is not None)
        assert old.proposed.account.number == IBAN and old.old_account is None
        assert new.proposed.account.number == NEW_IBAN and new.old_account is not None
        assert new.old_account.number == IBAN


def test_a_payee_is_found_by_the_blind_index_of_its_account(engine: Engine, vault: FieldKeyring) -> None:
    beneficiary_id = a_beneficiary_with_a_changed_account(engine, vault)
    spaced = AccountRef(iban=Iban.parse("FR76 3000 6000 0112 3456 7890 189"))
    with uow(engine, vault) as u:
        found = u.beneficiaries.find_for_payee("ACME", name="Another name entirely", account=spaced)
        assert [b.id for b in found] == [beneficiary_id]
        assert u.beneficiaries.find_for_payee("OTHER", name="x", account=spaced) == []


def test_a_rotation_reseals_the_history_which_still_refuses_every_other_update(engine: Engine,
                                                                                vault: FieldKeyring) -> None:
    beneficiary_id = a_beneficiary_with_a_changed_account(engine, vault)
    new_key = vault.new_key_id()
    vault.ensure_key(new_key)
    vault.activate(new_key)
    with uow(engine, vault) as u:
        assert u.field_keys.count_not_under(new_key) == 1 + 2 + 1  # record; two proposals; one old account
        assert u.field_keys.reseal_batch(to_key_id=new_key, limit=100) == 4
        u.commit()
    with engine.connect() as conn:
        blobs = conn.execute(text("SELECT new_account_enc, old_account_enc FROM beneficiary_changes")).all()
    assert {blob_key_id(b) for row in blobs for b in row if b} == {new_key}
    with uow(engine, vault) as u:
        assert u.beneficiaries.get(beneficiary_id).account.number == NEW_IBAN
    for statement in ("UPDATE beneficiary_changes SET actor = 'mallory'",
                      "UPDATE beneficiary_changes SET new_account_enc = old_account_enc, reason = 'x'",
                      "DELETE FROM beneficiary_changes"):
        with engine.connect() as conn, pytest.raises(DBAPIError):
            conn.execute(text(statement))


def test_a_beneficiary_stored_in_clear_before_0010_is_still_read_and_found(engine: Engine,
                                                                           vault: FieldKeyring) -> None:
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO beneficiaries (id, company_id, name, name_key, account_scheme, account_number, country, "
            "status, created_by, created_at, updated_at, version) VALUES ('b-old', 'ACME', 'Old Supplier', "
            "'OLD SUPPLIER', 'IBAN', :iban, 'FR', 'ACTIVE', 'maker', :at, :at, 1)"), {"iban": IBAN, "at": AT})
    account = AccountRef(iban=Iban(IBAN))
    with uow(engine, vault) as u:
        assert u.beneficiaries.get("b-old").account == account
        assert [b.id for b in u.beneficiaries.find_for_payee("ACME", name="Someone", account=account)] == ["b-old"]
