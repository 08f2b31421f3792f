"""SqlLedger on real SQLite and PostgreSQL: posting, idempotency, overdraft, reversal, reads."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from yinqi.adapters.db.ledger_store import LedgerTampered, SqlLedger, post_batch_durably
from yinqi.adapters.db.tables.ledger import ledger_postings
from yinqi.domain.ledger import (
    AccountConflict,
    AccountUnknown,
    AlreadyReversed,
    EntryUnknown,
    IdempotencyConflict,
    InsufficientFunds,
    JournalEntry,
    LedgerCurrencyMismatch,
    LedgerUnbalanced,
)
from yinqi.domain.money import Money

KEY = b"\x07" * 32
AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def setup_accounts(ledger: SqlLedger) -> None:
    ledger.ensure_account(code="bank:CN-ICBC-001", currency="CNY", kind="asset")
    ledger.ensure_account(code="customer:1", currency="CNY", kind="liability", allow_overdraft=False)
    ledger.ensure_account(code="customer:2", currency="CNY", kind="liability", allow_overdraft=False)
    ledger.ensure_account(code="bank:EUR", currency="EUR", kind="asset")


def cny(n: int) -> Money:
    return Money(n, "CNY")


def deposit(ledger: SqlLedger, key: str, customer: str, amount: int) -> int:
    return ledger.post(idempotency_key=key, postings=[("bank:CN-ICBC-001", cny(amount)), (customer, cny(-amount))],
                       memo="deposit", actor="ops", at=AT)


@pytest.fixture
def ledger(engine: Engine):  # type: ignore[no-untyped-def]
    with engine.connect() as conn, conn.begin():
        led = SqlLedger(conn, hash_key=KEY)
        setup_accounts(led)
        yield led


def test_posting_moves_balances_and_keeps_trial_balance_zero(ledger: SqlLedger) -> None:
    assert deposit(ledger, "d1", "customer:1", 1000) == 1
    assert ledger.balance("customer:1") == cny(-1000)
    assert ledger.balance("bank:CN-ICBC-001") == cny(1000)
    assert ledger.trial_balance() == {"CNY": 0}
    recorded = ledger.get(1)
    assert recorded.entry.memo == "deposit" and recorded.seq == 1
    assert ledger.find_by_key("d1") == recorded and ledger.find_by_key("nope") is None


def test_same_key_same_content_returns_the_original_sequence_number(ledger: SqlLedger) -> None:
    first = deposit(ledger, "d1", "customer:1", 1000)
    assert deposit(ledger, "d1", "customer:1", 1000) == first
    assert ledger.balance("customer:1") == cny(-1000)


def test_same_key_other_content_is_a_conflict_not_a_crash(ledger: SqlLedger) -> None:
    deposit(ledger, "d1", "customer:1", 1000)
    with pytest.raises(IdempotencyConflict):
        deposit(ledger, "d1", "customer:1", 999)


def test_guarded_account_cannot_be_overdrawn(ledger: SqlLedger) -> None:
    deposit(ledger, "d1", "customer:1", 100)
    with pytest.raises(InsufficientFunds) as err:
        ledger.post(idempotency_key="t1", postings=[("customer:1", cny(101)), ("customer:2", cny(-101))],
                    memo="transfer", actor="ops", at=AT)
    assert err.value.details["account"] == "customer:1"
    ledger.post(idempotency_key="t2", postings=[("customer:1", cny(100)), ("customer:2", cny(-100))],
                memo="transfer", actor="ops", at=AT)
    assert ledger.balance("customer:1") == cny(0)


def test_unknown_account_and_wrong_currency_are_typed_errors(ledger: SqlLedger) -> None:
    with pytest.raises(AccountUnknown):
        ledger.post(idempotency_key="x", postings=[("nope", cny(1)), ("customer:1", cny(-1))], memo="",
                    actor="ops", at=AT)
    with pytest.raises(LedgerCurrencyMismatch):
        ledger.post(idempotency_key="y", postings=[("bank:EUR", cny(1)), ("customer:1", cny(-1))], memo="",
                    actor="ops", at=AT)
    with pytest.raises(LedgerUnbalanced):
        ledger.post(idempotency_key="z", postings=[("bank:CN-ICBC-001", cny(2)), ("customer:1", cny(-1))],
                    memo="", actor="ops", at=AT)


def test_account_shape_cannot_change(ledger: SqlLedger) -> None:
    ledger.ensure_account(code="customer:1", currency="CNY", kind="liability", allow_overdraft=False)
    with pytest.raises(AccountConflict):
        ledger.ensure_account(code="customer:1", currency="EUR", kind="liability", allow_overdraft=False)


def test_reversal_restores_balances_and_a_second_reversal_fails(ledger: SqlLedger) -> None:
    seq = deposit(ledger, "d1", "customer:1", 700)
    rev = ledger.reverse(seq=seq, idempotency_key="r1", actor="ops", at=AT, reason="duplicate")
    assert ledger.get(rev).entry.reverses_seq == seq
    assert ledger.balance("customer:1") == cny(0)
    assert ledger.reverse(seq=seq, idempotency_key="r1", actor="ops", at=AT, reason="duplicate") == rev
    with pytest.raises(AlreadyReversed):
        ledger.reverse(seq=seq, idempotency_key="r2", actor="ops", at=AT, reason="again")
    with pytest.raises(EntryUnknown):
        ledger.reverse(seq=999, idempotency_key="r3", actor="ops", at=AT, reason="none")


def test_post_many_appends_a_batch_with_in_batch_replays(ledger: SqlLedger) -> None:
    entries = [JournalEntry.build(idempotency_key=f"b{i % 3}", memo="", actor="ops", at=AT,
                                  postings=[("bank:CN-ICBC-001", cny(10)), ("customer:1", cny(-10))])
               for i in range(5)]
    assert ledger.post_many(entries) == [1, 2, 3, 1, 2]
    assert ledger.balance("customer:1") == cny(-30)


def test_a_failing_entry_rolls_back_the_whole_batch(engine: Engine) -> None:
    with engine.connect() as conn, conn.begin():
        setup_accounts(SqlLedger(conn, hash_key=KEY))
    good = JournalEntry.build(idempotency_key="g", memo="", actor="ops", at=AT,
                              postings=[("bank:CN-ICBC-001", cny(10)), ("customer:1", cny(-10))])
    bad = JournalEntry.build(idempotency_key="b", memo="", actor="ops", at=AT,
                             postings=[("customer:2", cny(10)), ("bank:CN-ICBC-001", cny(-10))])
    with pytest.raises(InsufficientFunds):
        post_batch_durably(engine, [good, bad], hash_key=KEY)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ledger_postings)).scalar() == 0
    assert post_batch_durably(engine, [good], hash_key=KEY) == [1]


def test_reading_a_tampered_entry_raises(engine: Engine) -> None:
    with engine.connect() as conn, conn.begin():
        led = SqlLedger(conn, hash_key=KEY)
        setup_accounts(led)
        deposit(led, "d1", "customer:1", 5)
    with engine.connect() as conn, conn.begin(), pytest.raises(DBAPIError):  # the append-only trigger
        conn.execute(text("UPDATE ledger_entries SET memo = 'x' WHERE seq = 1"))
    with engine.connect() as conn, conn.begin():
        _disable_guards(conn)
        conn.execute(text("UPDATE ledger_entries SET memo = 'x' WHERE seq = 1"))
        with pytest.raises(LedgerTampered):
            SqlLedger(conn, hash_key=KEY).get(1)


def _disable_guards(conn) -> None:  # type: ignore[no-untyped-def]
    if conn.dialect.name == "sqlite":
        for t in ("entries", "postings"):
            for op in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER ledger_{t}_no_{op}"))
    else:
        conn.execute(text("SET LOCAL session_replication_role = replica"))


_FORGE = ("WITH e AS (INSERT INTO ledger_entries (seq, idempotency_key, memo, metadata_json, actor, at_utc, "
          "prev_hash, hash) VALUES (2, 'forged', '', '{}', 'x', '2024-03-01T12:00:00.000000Z', :h, :h)) ")


@pytest.mark.parametrize(("sql", "ok"), [
    (_FORGE + "INSERT INTO ledger_postings VALUES (2, 0, 'customer:1', 'CNY', 5), (2, 1, 'customer:2', 'CNY', -5)",
     True),
    (_FORGE + "INSERT INTO ledger_postings VALUES (2, 0, 'customer:1', 'CNY', 5), (2, 1, 'customer:2', 'CNY', -4)",
     False),
    (_FORGE + "INSERT INTO ledger_postings VALUES (2, 0, 'customer:1', 'CNY', 5), (2, 1, 'bank:EUR', 'EUR', -5)",
     False),
    (_FORGE + "INSERT INTO ledger_postings VALUES (2, 0, 'customer:1', 'CNY', 5)", False),
    (_FORGE + "SELECT 1", False),
    ("INSERT INTO ledger_postings VALUES (1, 2, 'customer:1', 'CNY', 7)", False),
])
def test_postgres_refuses_an_unbalanced_entry_at_the_storage_boundary(engine: Engine, sql: str, ok: bool) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no statement-level triggers: the store and verify carry this check")
    with engine.connect() as conn, conn.begin():
        setup_accounts(SqlLedger(conn, hash_key=KEY))
        deposit(SqlLedger(conn, hash_key=KEY), "d1", "customer:1", 5)
    with engine.connect() as conn, conn.begin():
        if ok:
            conn.execute(text(sql), {"h": b"\0" * 32})
        else:
            with pytest.raises(DBAPIError, match="does not balance"):
                conn.execute(text(sql), {"h": b"\0" * 32})


TRANSFER = st.tuples(st.sampled_from(["a1", "a2", "a3", "e1", "e2"]), st.sampled_from(["a1", "a2", "a3", "e1", "e2"]),
                     st.integers(1, 10**9))


_RUNS = itertools.count()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(TRANSFER, min_size=1, max_size=12), st.uuids())
def test_any_sequence_of_valid_transactions_keeps_trial_balance_zero(engine: Engine, transfers, run) -> None:  # type: ignore[no-untyped-def]
    cur = {"a": "USD", "e": "EUR"}
    run = f"{run}-{next(_RUNS)}"  # hypothesis may draw the same uuid twice against one engine
    with engine.connect() as conn, conn.begin():
        led = SqlLedger(conn, hash_key=KEY)
        for code in ("a1", "a2", "a3", "e1", "e2"):
            led.ensure_account(code=f"{run}:{code}", currency=cur[code[0]], kind="asset")
        for i, (src, dst, amount) in enumerate(transfers):
            if src == dst or src[0] != dst[0]:
                continue
            m = Money(amount, cur[src[0]])
            led.post(idempotency_key=f"{run}:{i}", postings=[(f"{run}:{dst}", m), (f"{run}:{src}", -m)],
                     memo="", actor="prop", at=AT)
        assert all(v == 0 for v in led.trial_balance().values())
        assert sum(m.minor for m in led.balances().values() if m.currency == "USD") == 0
