"""Statement checks at import, on SQLite and PostgreSQL: two consecutive statements with a sequence
gap and an opening mismatch raise alerts with their amounts in the import's transaction; the newest
statement is compared with the ledger (available + held funds); a re-import raises nothing twice.
Every shared camt and MT940 file runs through the checks without a crash."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from tests.support.orders import PAYER_IBAN, funded_uow_factory
from yinqi.adapters.db.tables.statement_checks import statement_breaks, statement_checks
from yinqi.adapters.iso20022.camt053_writer import write_camt053
from yinqi.adapters.iso20022.codec import Iso20022Codec
from yinqi.adapters.iso20022.model import AccountId, BalanceAmount, Statement, StatementEntry
from yinqi.application.statement_checks import list_breaks
from yinqi.application.statements import StatementAccountInvalid, import_statement_file
from yinqi.domain.problems import DomainError

CODEC = Iso20022Codec()
D1, D2, D3 = date(2030, 1, 10), date(2030, 1, 11), date(2030, 1, 13)


class Clock:
    def now(self) -> datetime:
        return datetime(2030, 1, 14, 8, 0, tzinfo=UTC)


CLOCK = Clock()


@pytest.fixture
def new_uow(engine: Engine):  # type: ignore[no-untyped-def]
    return funded_uow_factory(engine, opening="1000.00", clock=CLOCK)


def camt(sid: str, seq: str, opening: str, closing: str, entries: list[str], day: date) -> bytes:
    lines = tuple(StatementEntry(Decimal(a), "EUR", "BOOK", day, day, bank_reference=f"{sid}-{n}")
                  for n, a in enumerate(entries, 1))
    st = Statement(sid, AccountId(iban=PAYER_IBAN, currency="EUR"), BalanceAmount(Decimal(opening), "EUR", day, "OPBD"),
                   BalanceAmount(Decimal(closing), "EUR", day, "CLBD"), lines, sequence_number=seq)
    return write_camt053([st], message_id=f"MSG-{sid}", created_at=CLOCK.now())


def run(new_uow, data: bytes):  # type: ignore[no-untyped-def]
    return import_statement_file(uow_factory=new_uow, clock=CLOCK, codec=CODEC, data=data, source="test")


def test_a_gap_and_an_opening_mismatch_raise_alerts_with_amounts_and_a_reimport_raises_none(new_uow) -> None:  # type: ignore[no-untyped-def]
    first = run(new_uow, camt("STMT-1", "41", "1000.00", "1000.00", [], D1))
    assert [c["breaks"] for c in first.as_dict()["checks"]] == [[]]  # bank = ledger (1000.00 onboarded)
    second = run(new_uow, camt("STMT-3", "43", "990.00", "980.00", ["-10.00"], D2))
    (check,) = second.as_dict()["checks"]
    got = {b["code"]: (b["amount"], b["new"]) for b in check["breaks"]}
    assert got == {"OPENING_MISMATCH": ("-10.00", True), "SEQUENCE_GAP": (None, True),
                   "LEDGER_MISMATCH": ("-20.00", True)}
    again = run(new_uow, camt("STMT-3", "43", "990.00", "980.00", ["-10.00"], D2))
    assert again.duplicate_statements == 1 and again.checks == []
    with new_uow() as u:
        rows = list_breaks(uow=u, principal=None, home_company="ACME")
        assert sorted((r["code"], r["amount"], r["statement_id"]) for r in rows) == [
            ("LEDGER_MISMATCH", "-20.00", "STMT-3"), ("OPENING_MISMATCH", "-10.00", "STMT-3"),
            ("SEQUENCE_GAP", None, "STMT-3")]
        assert all(r["account"] != PAYER_IBAN and r["account"].endswith("3000") for r in rows)
        assert list_breaks(uow=u, principal=None, home_company="ACME", account="DE02120300000000202051") == []


def test_a_grown_copy_of_the_statement_is_checked_again_without_a_second_alert(new_uow) -> None:  # type: ignore[no-untyped-def]
    run(new_uow, camt("STMT-1", "1", "1000.00", "1000.00", [], D1))
    run(new_uow, camt("STMT-2", "2", "1000.00", "995.00", ["-4.00"], D2))  # does not add up: -1.00
    grown = run(new_uow, camt("STMT-2", "2", "1000.00", "993.00", ["-4.00", "-1.00", "-1.00"], D2))  # -1.00 again
    (check,) = grown.as_dict()["checks"]
    assert {b["code"]: b["new"] for b in check["breaks"]} == {"ENTRIES_DO_NOT_ADD_UP": False, "LEDGER_MISMATCH": False}
    with new_uow() as u:
        assert u.conn.execute(select(func.count()).select_from(statement_checks)).scalar() == 3
        b = statement_breaks.c
        rows = u.conn.execute(select(b.code, b.amount_minor).where(b.statement_id == "STMT-2")).all()
        assert sorted(rows) == [("ENTRIES_DO_NOT_ADD_UP", -100), ("LEDGER_MISMATCH", -500)]


def test_an_older_statement_imported_late_is_not_compared_with_todays_ledger(new_uow) -> None:  # type: ignore[no-untyped-def]
    run(new_uow, camt("STMT-9", "9", "1000.00", "1000.00", [], D3))
    late = run(new_uow, camt("STMT-8", "8", "1000.00", "700.00", ["-300.00"], D1))
    (check,) = late.as_dict()["checks"]
    assert check["breaks"] == [] and any(s.startswith("LEDGER_MISMATCH:") for s in check["skipped"])


def test_alerts_are_append_only(new_uow) -> None:  # type: ignore[no-untyped-def]
    run(new_uow, camt("STMT-1", "1", "1000.00", "900.00", [], D1))
    for statement in (update(statement_breaks).values(amount_minor=0), delete(statement_breaks)):
        with new_uow() as u, pytest.raises(DBAPIError):
            u.conn.execute(statement)


def test_every_shared_statement_file_runs_through_the_checks(engine: Engine, testdata: Path) -> None:
    names = sorted([*testdata.glob("camt/*/*.xml"), *testdata.glob("mt940/*/*.sta")])
    new_uow = funded_uow_factory(engine, opening="0", clock=CLOCK)
    flagged: dict[str, list[str]] = {}
    for path in names:
        try:
            summary = import_statement_file(uow_factory=new_uow, clock=CLOCK, codec=CODEC, data=path.read_bytes(),
                                            source=path.name)
        except DomainError:  # unreadable (CAMT_INVALID, MT940_INVALID): the readers' business
            continue
        except DBAPIError as exc:  # the statement store refused a row (before any check ran)
            print("store refused", path.name, str(exc.orig)[:120])
            continue
        found = [f"{c['statement_id']} {b['code']} {b['amount'] or ''}".strip()
                 for c in summary.checks for b in c["breaks"] if b["code"] != "LEDGER_MISMATCH"]
        if found:
            flagged[str(path.relative_to(testdata))] = found
    print(json.dumps(flagged, indent=1))
    assert flagged  # the shared files do contain breaks: the checks flag them rather than refuse the import


def test_a_statement_whose_account_is_a_misread_field_is_refused_by_name_and_stores_nothing(
        engine: Engine, testdata: Path) -> None:
    """betterplace's sepa_snippet_broken.sta types a :86: as :25: after its :61: line; the tag-level
    reading (its expected results) makes that 65-character text the account. Both backends refuse
    it the same way (PostgreSQL used to fail on a column length, SQLite stored it)."""
    broken = next(testdata.rglob("sepa_snippet_broken.sta"))
    new_uow = funded_uow_factory(engine, opening="0", clock=CLOCK)
    with pytest.raises(StatementAccountInvalid) as refused:
        import_statement_file(uow_factory=new_uow, clock=CLOCK, codec=CODEC, data=broken.read_bytes(),
                              source=broken.name)
    assert refused.value.code == "STATEMENT_ACCOUNT_INVALID" and refused.value.rule == "max_length_35"
    assert "T089414086000001" in refused.value.where and str(refused.value.value) == "65"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM bank_statements")).scalar_one() == 0
