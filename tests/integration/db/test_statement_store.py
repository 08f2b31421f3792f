from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine

from tests.support.vault import TEST_VAULT
from yinqi.adapters.db.statement_store import SqlStatementStore
from yinqi.adapters.iso20022.model import AccountId, BalanceAmount, Statement, StatementEntry

T0 = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


def statement(entry_amounts: list[str]) -> Statement:
    entries = tuple(StatementEntry(Decimal(a), "EUR", "BOOK", date(2026, 1, 5), date(2026, 1, 5),
                                   bank_reference=f"REF{n}", end_to_end_ids=(f"E2E-{n}",))
                    for n, a in enumerate(entry_amounts))
    return Statement("STMT-1", AccountId(iban="DE89370400440532013000", currency="EUR"),
                     BalanceAmount(Decimal("100.00"), "EUR", date(2026, 1, 4), "OPBD"),
                     BalanceAmount(Decimal("90.00"), "EUR", date(2026, 1, 5), "CLBD"), entries)


def test_reimporting_the_same_statement_is_a_no_op(engine: Engine) -> None:
    with engine.begin() as conn:
        first = SqlStatementStore(conn, TEST_VAULT).import_statement(statement(["-10.00"]), fmt="camt.053.001.08",
                                                         source_sha256="a" * 64, at=T0)
    with engine.begin() as conn:
        second = SqlStatementStore(conn, TEST_VAULT).import_statement(statement(["-10.00"]), fmt="camt.053.001.08",
                                                          source_sha256="a" * 64, at=T0)
    assert not first.duplicate and len(first.entries) == 1
    assert second.duplicate and second.statement_pk == first.statement_pk and second.entries == ()


def test_a_grown_statement_adds_only_the_entries_not_seen_before(engine: Engine) -> None:
    with engine.begin() as conn:
        SqlStatementStore(conn, TEST_VAULT).import_statement(statement(["-10.00"]), fmt="camt.053.001.08",
                                                 source_sha256="a" * 64, at=T0)
    with engine.begin() as conn:
        grown = SqlStatementStore(conn, TEST_VAULT).import_statement(statement(["-10.00", "-5.00"]),
                                                         fmt="camt.053.001.08", source_sha256="d" * 64, at=T0)
    assert not grown.duplicate and grown.skipped == 1
    assert [(e.amount, e.bank_reference) for e in grown.entries] == [(Decimal("-5.00"), "REF1")]


def test_amounts_beyond_the_currency_exponent_are_kept_as_written_without_minor_units(engine: Engine) -> None:
    with engine.begin() as conn:
        result = SqlStatementStore(conn, TEST_VAULT).import_statement(statement(["-10.00", "1.23456"]),
                                                          fmt="camt.053.001.02", source_sha256="b" * 64, at=T0)
    assert [(e.amount, e.amount_minor) for e in result.entries] == [
        (Decimal("-10.00"), -1000), (Decimal("1.23456"), None)]


def test_a_bank_line_can_be_matched_only_once(engine: Engine) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    with engine.begin() as conn:
        store = SqlStatementStore(conn, TEST_VAULT)
        entry = store.import_statement(statement(["-10.00"]), fmt="camt.053.001.08",
                                       source_sha256="c" * 64, at=T0).entries[0]
        store.record_match(entry_id=entry.id, order_id="o1", rule="end_to_end_id", confidence="1.00",
                           at=T0, actor="worker")
        assert store.is_matched(entry.id) and store.unmatched_entries() == ()
    with pytest.raises(IntegrityError), engine.begin() as conn:
        SqlStatementStore(conn, TEST_VAULT).record_match(entry_id=entry.id, order_id="o2", rule="end_to_end_id",
                                             confidence="1.00", at=T0, actor="worker")


def test_a_resent_copy_with_new_bytes_but_nothing_new_is_a_duplicate(engine: Engine) -> None:
    """Banks re-issue a day's statement with a new creation time; it must not pile up copies."""
    with engine.begin() as conn:
        first = SqlStatementStore(conn, TEST_VAULT).import_statement(statement(["-10.00"]), fmt="camt.053.001.08",
                                                         source_sha256="e" * 64, at=T0)
    with engine.begin() as conn:
        again = SqlStatementStore(conn, TEST_VAULT).import_statement(statement(["-10.00"]), fmt="camt.053.001.08",
                                                         source_sha256="f" * 64, at=T0)
        assert len(SqlStatementStore(conn, TEST_VAULT).list_statements()) == 1
    assert again.duplicate and again.statement_pk == first.statement_pk and again.entries == ()
