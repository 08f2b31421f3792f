"""Order intake against a real database (SQLite and PostgreSQL): the shared pain.001 files, modes,
dry runs, duplicate files and serials, resuming an interrupted import, batches."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.support.auth import principal
from tests.support.orders import FixedClock
from tests.support.vault import sql_uow
from yinqi.adapters.files import read_order_file
from yinqi.application.import_report import ImportMode, ImportRefused, OrderFile
from yinqi.application.intake import create_batch, import_orders, start_job
from yinqi.domain.identity.principal import Forbidden, Role
from yinqi.domain.orders.commands import CreateOrder

CLOCK = FixedClock(datetime(2026, 1, 1, 9, 0, tzinfo=UTC))  # before every date in the shared files
OPERATOR = principal("olga", Role.OPERATOR)
HEADER = ("serial,amount,currency,requested_execution_date,payer_name,payer_iban,payee_name,payee_iban,"
          "payee_country\n")
PAYER, PAYEE = "DE89370400440532013000", "FR1420041010050500013M02606"


def csv_file(*rows: str, name: str = "orders.csv") -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def good(serial: str, amount: str = "10.00") -> str:
    return f"{serial},{amount},EUR,2026-01-15,Acme,{PAYER},Fournisseur,{PAYEE},FR"


def bad_iban(serial: str) -> str:
    return f"{serial},10.00,EUR,2026-01-15,Acme,{PAYER},Fournisseur,FR0020041010050500013M02606,FR"


@pytest.fixture
def new_uow(engine: Engine) -> Any:
    return lambda: sql_uow(engine, ledger_key=b"k" * 32)


def run(new_uow: Any, data: bytes, *, name: str = "orders.csv", mode: ImportMode = ImportMode.ALL_OR_NOTHING,
        dry_run: bool = False, company: str = "ACME", **kw: Any) -> Any:
    parsed = read_order_file(data, file_name=name, company_id=company)
    return import_orders(new_uow=new_uow, clock=CLOCK, principal=OPERATOR, file=parsed, company_id=company,
                         mode=mode, dry_run=dry_run, **kw)


def stored(new_uow: Any) -> list[Any]:
    with new_uow() as uow:
        return list(uow.orders.list(company_id="ACME", limit=500))


def jobs(new_uow: Any) -> list[Any]:
    with new_uow() as uow:
        return list(uow.imports.list(limit=50))


# --- the shared pain.001 files ------------------------------------------------------------------
def _summaries() -> dict[str, Any]:
    from tests.conftest import TESTDATA

    path = TESTDATA / "expected" / "pain001_summaries.json"
    return json.loads(path.read_text())["files"] if path.is_file() else {}


SUMMARIES = _summaries()


@pytest.mark.parametrize("name", sorted(n for n in SUMMARIES if n.startswith("pain001/")))
def test_every_shared_pain001_file_imports_or_is_refused_with_its_expected_counts(
        name: str, testdata: Path, new_uow: Any) -> None:
    expected = SUMMARIES[name]
    data = (testdata / name).read_bytes()
    parsed = read_order_file(data, file_name=Path(name).name, company_id="ACME")
    assert parsed.problems == () and parsed.message_id == expected["msg_id"]
    assert parsed.total == expected["counted_txs"] == int(expected["declared_nb_of_txs"])
    rows = list(parsed.rows())
    amounts: Counter[str] = Counter()
    for _, cmd in rows:
        if isinstance(cmd, CreateOrder):
            amounts[cmd.currency] += Decimal(cmd.amount)
    declared = Counter({c: Decimal(v) for c, v in expected["instructed_sum_by_currency"].items()})
    declared.update({c: Decimal(v) for c, v in expected["equivalent_amount_sum_by_currency"].items()})
    parsed_ok = [cmd for _, cmd in rows if isinstance(cmd, CreateOrder)]
    if len(parsed_ok) == len(rows):  # every transaction mapped: the amounts are the file's
        assert amounts == declared
        assert [c.serial for c in parsed_ok] == expected["end_to_end_ids"]

    dry = run(new_uow, data, name=Path(name).name, mode=ImportMode.ACCEPT_VALID, dry_run=True)
    assert len(dry.accepted) + dry.rejected == expected["counted_txs"]
    result = run(new_uow, data, name=Path(name).name)
    orders = stored(new_uow)
    if result.status == "completed":
        assert len(result.accepted) == len(orders) == expected["counted_txs"]
        assert sorted(o.end_to_end_id.value for o in orders) == sorted(expected["end_to_end_ids"])
        assert Counter({c: sum((o.amount.amount for o in orders if o.amount.currency == c), Decimal(0))
                        for c in declared}) == declared
    else:  # refused: nothing stored, every rejected row named by its XML path
        assert result.status == "refused" and orders == [] and result.accepted == []
        assert result.rejected == dry.rejected >= 1
        assert all(e.where.startswith("/Document/CstmrCdtTrfInitn/PmtInf") for e in result.errors)


def test_the_apiome_sample_batch_imports_every_transaction(testdata: Path, new_uow: Any) -> None:
    name = "pain001/samples/apiome-02-typical-pain001-batch.xml"
    result = run(new_uow, (testdata / name).read_bytes(), name="batch.xml")
    assert result.status == "completed" and result.errors == []
    assert [a.serial for a in result.accepted] == SUMMARIES[name]["end_to_end_ids"]
    assert {o.source.value for o in stored(new_uow)} == {"import"}


def test_a_cheque_transaction_is_flagged_not_imported(testdata: Path, new_uow: Any) -> None:
    name = "pain001/coverage-pain.001.001.03/10-cheque-no-agent-ChqInstr-DlvryMtd.xml"
    result = run(new_uow, (testdata / name).read_bytes(), name="cheque.xml")
    assert result.status == "refused"
    assert [(e.where, e.field, e.code) for e in result.errors] == [
        ("/Document/CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf", "CdtrAcct/Id", "CREDITOR_ACCOUNT_MISSING")]


def test_reimporting_the_same_pain001_is_a_duplicate_file_no_op(testdata: Path, new_uow: Any) -> None:
    data = (testdata / "pain001/samples/apiome-01-minimal-pain001.xml").read_bytes()
    first = run(new_uow, data, name="a.xml")
    again = run(new_uow, data, name="renamed.xml")
    assert first.status == "completed" and again.status == "refused"
    assert again.duplicate_of_job == first.job_id and again.accepted == [] and again.rejected == 0
    assert [(e.code, e.rule) for e in again.errors] == [("DUPLICATE_FILE", "duplicate_file")]
    assert len(stored(new_uow)) == 1


def test_the_same_msg_id_in_other_bytes_is_a_duplicate_file_too(testdata: Path, new_uow: Any) -> None:
    data = (testdata / "pain001/samples/apiome-01-minimal-pain001.xml").read_bytes()
    first = run(new_uow, data, name="a.xml")
    again = run(new_uow, data.replace(b"<CreDtTm>", b"<CreDtTm>", 1) + b"\n", name="a.xml")
    assert again.duplicate_of_job == first.job_id and "MsgId MSG-20260819-0001" in again.errors[0].message


# --- modes -------------------------------------------------------------------------------------
def test_all_or_nothing_stores_nothing_and_reports_every_problem(new_uow: Any) -> None:
    result = run(new_uow, csv_file(good("A-1"), bad_iban("A-2"), good("A-3"), bad_iban("A-4")))
    assert result.status == "refused" and result.accepted == [] and stored(new_uow) == []
    assert [(e.where, e.field, e.rule, e.code) for e in result.errors] == [
        ("row 3", "payee_iban", "checksum", "IBAN_INVALID"), ("row 5", "payee_iban", "checksum", "IBAN_INVALID")]
    [job] = jobs(new_uow)
    assert (job.status, job.accepted, job.rejected, len(job.errors)) == ("refused", 0, 2, 2)


def test_accept_valid_stores_the_valid_rows_and_reports_the_others(new_uow: Any) -> None:
    result = run(new_uow, csv_file(good("A-1"), bad_iban("A-2"), good("A-3")), mode=ImportMode.ACCEPT_VALID)
    assert result.status == "completed"
    assert [a.serial for a in result.accepted] == ["A-1", "A-3"] and result.rejected == 1
    assert sorted(o.serial.value for o in stored(new_uow)) == ["A-1", "A-3"]
    [job] = jobs(new_uow)
    assert (job.status, job.total, job.processed, job.accepted, job.rejected) == ("completed", 3, 3, 2, 1)
    assert job.errors[0]["where"] == "row 3" and job.errors[0]["field"] == "payee_iban"


def test_dry_run_checks_serials_against_the_database_and_stores_nothing(new_uow: Any) -> None:
    run(new_uow, csv_file(good("A-1")))
    before = stored(new_uow)
    result = run(new_uow, csv_file(good("A-1"), good("A-2"), bad_iban("A-3")), dry_run=True)
    assert result.status == "refused" and result.job_id is None
    assert [(e.where, e.code, e.existing_order_id) for e in result.errors] == [
        ("row 2", "DUPLICATE_SERIAL", before[0].id), ("row 4", "IBAN_INVALID", None)]
    assert [a.serial for a in result.accepted] == ["A-2"]
    assert len(stored(new_uow)) == 1 and len(jobs(new_uow)) == 1  # no job row for the dry run


def test_a_serial_used_before_is_duplicate_serial_citing_the_existing_order(new_uow: Any) -> None:
    first = run(new_uow, csv_file(good("A-1")))
    again = run(new_uow, csv_file(good("A-1"), good("A-2")), mode=ImportMode.ACCEPT_VALID)
    assert [a.serial for a in again.accepted] == ["A-2"]
    [error] = again.errors
    assert (error.where, error.field, error.code, error.existing_order_id) == (
        "row 2", "serial", "DUPLICATE_SERIAL", first.accepted[0].order_id)
    assert error.existing_order_id in error.message


def test_a_serial_repeated_within_the_file_is_reported_on_its_second_row(new_uow: Any) -> None:
    result = run(new_uow, csv_file(good("A-1"), good("A-1", "99.00")))
    assert [(e.where, e.rule, e.message) for e in result.errors] == [
        ("row 3", "unique_in_file", "serial A-1 repeats row 2 of this file")]


def test_progress_is_reported_per_chunk(new_uow: Any) -> None:
    seen: list[tuple[str, int, int]] = []
    result = run(new_uow, csv_file(*(good(f"P-{i}") for i in range(7))), chunk_rows=3,
                 on_progress=lambda phase, done, total: seen.append((phase, done, total)))
    assert len(result.accepted) == 7
    assert seen == [("checking", 3, 7), ("checking", 6, 7), ("checking", 7, 7),
                    ("storing", 3, 7), ("storing", 6, 7), ("storing", 7, 7)]


def test_an_interrupted_import_resumes_and_skips_the_serials_already_stored(new_uow: Any) -> None:
    data = csv_file(*(good(f"R-{i}") for i in range(5)))
    parsed = read_order_file(data, file_name="r.csv", company_id="ACME")
    crash = RuntimeError("power cut")

    def dying(phase: str, done: int, _total: int) -> None:
        if phase == "storing" and done == 2:  # told after the first chunk committed
            raise crash

    with pytest.raises(RuntimeError):
        import_orders(new_uow=new_uow, clock=CLOCK, principal=OPERATOR, file=parsed, company_id="ACME",
                      chunk_rows=2, on_progress=dying)
    assert len(stored(new_uow)) == 2 and jobs(new_uow)[0].status == "failed"
    resumed = run(new_uow, data, name="r.csv")
    assert resumed.status == "completed" and resumed.skipped == 2 and resumed.errors == []
    assert sorted(o.serial.value for o in stored(new_uow)) == [f"R-{i}" for i in range(5)]


def test_a_file_that_cannot_be_read_is_refused_whole_with_a_job(new_uow: Any) -> None:
    result = run(new_uow, b"serial,amount\nA,1\n")
    assert result.status == "refused" and {e.code for e in result.errors} == {"COLUMN_MISSING"}
    assert jobs(new_uow)[0].status == "refused"


def test_importing_needs_the_order_import_permission_and_the_company(new_uow: Any) -> None:
    parsed = read_order_file(csv_file(good("A-1")), file_name="o.csv", company_id="ACME")
    for who, company in ((principal("aria", Role.APPROVER), "ACME"), (OPERATOR, "OTHER")):
        with pytest.raises(Forbidden):
            import_orders(new_uow=new_uow, clock=CLOCK, principal=who, file=parsed, company_id=company)
    assert jobs(new_uow) == [] and stored(new_uow) == []


def test_an_upload_job_exists_before_its_file_is_read(new_uow: Any) -> None:
    data = csv_file(good("U-1"))
    job_id = start_job(new_uow=new_uow, clock=CLOCK, principal=OPERATOR, company_id="ACME", format="auto",
                       file_name="u.csv", file_sha256="0" * 64, mode=ImportMode.ALL_OR_NOTHING)
    assert jobs(new_uow)[0].status == "running"
    result = run(new_uow, data, job_id=job_id)
    assert result.job_id == job_id
    [job] = jobs(new_uow)
    assert (job.status, job.format, job.accepted, job.total) == ("completed", "csv", 1, 1)


# --- batches ------------------------------------------------------------------------------------
def _commands(*rows: str) -> list[CreateOrder]:
    file: OrderFile = read_order_file(csv_file(*rows), file_name="b.csv", company_id="ACME")
    return [c for _, c in file.rows() if isinstance(c, CreateOrder)]


def test_a_batch_is_all_or_nothing_by_default(new_uow: Any) -> None:
    with new_uow() as uow, pytest.raises(ImportRefused) as refused:
        create_batch(uow=uow, clock=CLOCK, principal=OPERATOR, commands=_commands(good("B-1"), bad_iban("B-2")))
    assert [(p.where, p.code) for p in refused.value.problems] == [("orders[1] payee.account.iban", "IBAN_INVALID")]
    assert stored(new_uow) == []


def test_an_accept_valid_batch_stores_the_valid_orders_in_the_callers_transaction(new_uow: Any) -> None:
    with new_uow() as uow:
        result = create_batch(uow=uow, clock=CLOCK, principal=OPERATOR, mode=ImportMode.ACCEPT_VALID,
                              commands=_commands(good("B-1"), bad_iban("B-2")))
    assert [a.serial for a in result.accepted] == ["B-1"] and result.rejected == 1
    assert [o.serial.value for o in stored(new_uow)] == ["B-1"]
