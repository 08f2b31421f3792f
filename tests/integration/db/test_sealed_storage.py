"""Account numbers at rest (R19) on SQLite and PostgreSQL: every store seals them, looks them up
by blind index, reads them back; a database migrated from before 0007 still reads its clear rows;
a rotation batch re-seals every column under the new key."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, MetaData, Table, insert, select, text

from yinqi.adapters.crypto.field_encryption import FieldKeyring, blob_key_id
from yinqi.adapters.db.engine import make_engine
from yinqi.adapters.db.field_key_store import SEALED_COLUMNS
from yinqi.adapters.db.migrate import upgrade
from yinqi.adapters.db.tables.orders import payment_order_events, payment_orders
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.adapters.iso20022.model import AccountId, Statement, StatementEntry
from yinqi.application.idempotency import StoredResponse
from yinqi.domain.identifiers import Iban
from yinqi.domain.orders.checks import build_order
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.parties import AccountRef

KEY = b"k" * 32
AT = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
PAYER, PAYEE = "DE89370400440532013000", "FR1420041010050500013M02606"
CN_PAYER = "6222021234567890"


@pytest.fixture
def vault(tmp_path: Path) -> FieldKeyring:
    return FieldKeyring.at_home(tmp_path)


def uow(engine: Engine, vault: FieldKeyring) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, ledger_key=KEY, vault=vault)


def new_order(serial: str, *, payee: str = PAYEE, domestic_payer: bool = False) -> tuple[PaymentOrder, list]:
    currency, country = ("CNY", "CN") if domestic_payer else ("EUR", "FR")
    payer = AccountInput(number=CN_PAYER, cnaps="102100099996") if domestic_payer else AccountInput(iban=PAYER)
    to = AccountInput(number="955880001234", cnaps="102290012345") if domestic_payer else AccountInput(iban=payee)
    cmd = CreateOrder(company_id="ACME", serial=serial, amount="12.50", currency=currency,
                      requested_execution_date=date(2030, 1, 10),
                      payer=PayerInput(name="Acme", account=payer, currency=currency),
                      payee=PayeeInput(name="Fournisseur", account=to, country=country))
    order = build_order(cmd, order_id=f"00000000-0000-4000-8000-{serial.rjust(12, '0')}", today=date(2030, 1, 10),
                        actor="maker", at=AT)
    order, created = order.created(actor="maker", at=AT)
    return order, [created]


def raw_text(engine: Engine, table: str) -> str:
    with engine.connect() as conn:
        return "\n".join(str(tuple(r)) for r in conn.execute(text(f"SELECT * FROM {table}")))


def test_an_order_is_stored_sealed_and_found_by_the_blind_index_of_its_payee(engine: Engine,
                                                                              vault: FieldKeyring) -> None:
    order, events = new_order("1")
    other, other_events = new_order("2", payee="DE02120300000000202051")
    with uow(engine, vault) as u:
        u.orders.add(order, events)
        u.orders.add(other, other_events)
        u.commit()
    dump = raw_text(engine, "payment_orders")
    assert PAYER not in dump and PAYEE not in dump and "DE89**************3000" in dump
    with uow(engine, vault) as u:
        assert u.orders.get(order.id) == order
        spaced = AccountRef(iban=Iban.parse("FR14 2004 1010 0505 0001 3M02 606"))
        assert [o.id for o in u.orders.find_by_account(spaced)] == [order.id]
        assert {o.id for o in u.orders.find_by_account(order.payer.account, side="payer")} == {order.id, other.id}


def test_a_sealed_account_cannot_be_swapped_into_the_other_column(engine: Engine, vault: FieldKeyring) -> None:
    order, events = new_order("3")
    with uow(engine, vault) as u:
        u.orders.add(order, events)
        u.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE payment_orders SET payee_account_enc = payer_account_enc"))
    with uow(engine, vault) as u, pytest.raises(Exception) as refused:
        u.orders.get(order.id)
    assert getattr(refused.value, "code", None) == "FIELD_CIPHERTEXT_INVALID"


def test_a_domestic_account_round_trips_with_its_bank_code(engine: Engine, vault: FieldKeyring) -> None:
    order, events = new_order("4", domestic_payer=True)
    with uow(engine, vault) as u:
        u.orders.add(order, events)
        u.commit()
    assert CN_PAYER not in raw_text(engine, "payment_orders")
    with uow(engine, vault) as u:
        assert u.orders.get(order.id).payer.account == order.payer.account


def test_a_bank_message_keeps_its_bytes_and_debtor_sealed_and_its_hash_of_the_clear_bytes(
        engine: Engine, vault: FieldKeyring) -> None:
    order, events = new_order("5")
    payload = f"<Document><IBAN>{PAYER}</IBAN><IBAN>{PAYEE}</IBAN></Document>".encode()
    with uow(engine, vault) as u:
        u.orders.add(order, events)
        u.bank_messages.add(message_id="MSG-1", bank_id="SANDBOX", message_type="pain.001.001.09",
                            debtor_account=PAYER, payload=payload, at=AT, items=[(order.id, "PMT-1", "E2E-1")])
        u.bank_messages.record_report("MSG-1", group_status="ACCP", report=payload)
        u.commit()
    dump = raw_text(engine, "bank_messages")
    assert PAYER not in dump and PAYEE not in dump
    with uow(engine, vault) as u:
        message = u.bank_messages.get("MSG-1")
        assert message is not None and message.payload == payload and message.debtor_account == PAYER
        assert u.bank_messages.debtor_accounts() == [("SANDBOX", PAYER)]
        assert u.bank_messages.routed_minor_since(bank_id="SANDBOX", since=AT, debtor_account=PAYER) == 1250
        assert u.bank_messages.routed_minor_since(bank_id="SANDBOX", since=AT, debtor_account=PAYEE) == 0
    import hashlib
    with engine.connect() as conn:
        digest = conn.execute(text("SELECT payload_sha256 FROM bank_messages")).scalar_one()
    assert digest == hashlib.sha256(payload).hexdigest()


def test_idempotent_request_and_response_bodies_are_sealed_and_replay_exactly(engine: Engine,
                                                                              vault: FieldKeyring) -> None:
    body = json.dumps({"payee": {"account": {"iban": PAYEE}}}, separators=(",", ":"))
    response = StoredResponse(201, json.dumps({"iban": PAYEE}).encode(), "o1")
    with uow(engine, vault) as u:
        assert u.idempotency.claim(scope="user:a", key="k1", fingerprint="f1", method="POST", path="/x",
                                   request_body=body, now=AT, lease_until=AT).kind == "claimed"
        u.idempotency.complete(scope="user:a", key="k1", response=response, now=AT)
        u.commit()
    assert PAYEE not in raw_text(engine, "idempotency_keys")
    with uow(engine, vault) as u:
        replay = u.idempotency.claim(scope="user:a", key="k1", fingerprint="f1", method="POST", path="/x",
                                     request_body=body, now=AT, lease_until=AT)
        reused = u.idempotency.claim(scope="user:a", key="k1", fingerprint="f2", method="POST", path="/x",
                                     request_body="{}", now=AT, lease_until=AT)
    assert replay.kind == "completed" and replay.response == response
    assert reused.kind == "mismatch" and reused.stored_body == body


def test_a_statement_account_is_a_blind_index_and_its_number_sealed(engine: Engine, vault: FieldKeyring) -> None:
    entry = StatementEntry(amount=Decimal("-12.50"), currency="EUR", status="BOOK", booking_date=date(2030, 1, 10),
                           value_date=date(2030, 1, 10), bank_reference="REF-1", end_to_end_ids=("E2E-1",))
    statement = Statement("STMT-1", AccountId(iban=PAYER, currency="EUR"), None, None, (entry,))
    with uow(engine, vault) as u:
        first = u.statements.import_statement(statement, fmt="camt.053.001.08", source_sha256="a" * 64, at=AT)
        again = u.statements.import_statement(statement, fmt="camt.053.001.08", source_sha256="b" * 64, at=AT)
        u.commit()
    assert not first.duplicate and again.duplicate
    assert PAYER not in raw_text(engine, "bank_statements") + raw_text(engine, "bank_statement_entries")
    with uow(engine, vault) as u:
        [found] = u.statements.list_statements(account=PAYER)
        assert u.statements.list_statements(account=PAYEE) == []
    assert (found["account"], found["account_number"]) == ("DE89**************3000", PAYER)


def test_a_rotation_batch_reseals_every_column_under_the_new_key(engine: Engine, vault: FieldKeyring) -> None:
    test_a_bank_message_keeps_its_bytes_and_debtor_sealed_and_its_hash_of_the_clear_bytes(engine, vault)
    test_idempotent_request_and_response_bodies_are_sealed_and_replay_exactly(engine, vault)
    test_a_statement_account_is_a_blind_index_and_its_number_sealed(engine, vault)
    old = vault.active_key_id
    new = vault.new_key_id()
    vault.ensure_key(new)
    vault.activate(new)
    with uow(engine, vault) as u:
        before = u.field_keys.count_by_key()
        assert set(before) == {old} and before[old] == u.field_keys.count_not_under(new) == 8
        assert u.field_keys.reseal_batch(to_key_id=new, limit=3) == 3
        assert u.field_keys.reseal_batch(to_key_id=new, limit=100) == 5
        assert u.field_keys.reseal_batch(to_key_id=new, limit=100) == 0
        u.commit()
    with uow(engine, vault) as u:
        assert u.field_keys.count_by_key() == {new: 8}
        message = u.bank_messages.get("MSG-1")
        assert message is not None and PAYER.encode() in message.payload
    with engine.connect() as conn:
        for sealed in SEALED_COLUMNS:
            for (blob,) in conn.execute(select(sealed.column).where(sealed.column.is_not(None))):
                assert blob_key_id(blob) == new, sealed.field


def test_orders_stored_before_0007_still_read_after_the_upgrade(db_url: str, tmp_path: Path) -> None:
    """A database at 0001 with a clear order and its event, upgraded to every head: the row reads
    back as it was, and its event still links to it (SQLite rebuilt the parent table)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the SQLite table rebuild is the risky path; PostgreSQL alters the columns in place")
    engine = make_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
    upgrade(engine, "0001")
    order, events = new_order("9")
    row = {c.name: None for c in payment_orders.c if not c.name.endswith(("_enc", "_bidx", "_masked"))}
    row.update(id=order.id, company_id="ACME", serial="9", state="DRAFT", version=1, event_hash=order.event_hash,
               payer_name="Acme", payer_account_scheme="IBAN", payer_account_number=PAYER, payer_currency="EUR",
               payee_name="Fournisseur", payee_account_scheme="IBAN", payee_account_number=PAYEE,
               payee_country="FR", amount_minor=1250, currency="EUR", requested_execution_date=date(2030, 1, 10),
               urgency="normal", end_to_end_id=order.end_to_end_id.value, source="api", created_by="maker",
               created_at=AT, updated_at=AT)
    with engine.begin() as conn:
        legacy_shape = Table("payment_orders", MetaData(), *[Column(c.name, c.type) for c in payment_orders.c
                                                             if c.name in row])
        conn.execute(insert(legacy_shape).values(**row))
        conn.execute(insert(payment_order_events).values(
            order_id=order.id, seq=1, kind=events[0].kind, from_state=None, to_state="DRAFT", actor="maker", at=AT,
            reason="", data=json.dumps(events[0].data), prev_hash=events[0].prev_hash, hash=events[0].hash))
    upgrade(engine)
    vault = FieldKeyring.at_home(tmp_path)
    with uow(engine, vault) as u:
        legacy = u.orders.get(order.id)
        assert (legacy.payer.account.number, legacy.payee.account.number) == (PAYER, PAYEE)
        assert len(u.orders.events(order.id)) == 1  # the foreign key survived the table rebuild
    engine.dispose()
