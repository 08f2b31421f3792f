"""camt.052/053/054 reading: agrees with genkgo/camt's dumps and the derived summaries; tolerant
where real files are odd, refusing only what cannot be read."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from yinqi.adapters.iso20022.camt_reader import CamtInvalid, read_statements
from yinqi.adapters.iso20022.model import BalanceAmount, Statement, StatementFile
from yinqi.adapters.iso20022.statement_json import to_json_dict
from yinqi.domain.currency import EXPONENTS

_REPO = Path(__file__).resolve().parents[4]
_DATA = Path(os.environ.get("YINQI_TESTDATA", _REPO.parent / "shared" / "testdata"))
GENKGO = _DATA / "camt" / "genkgo"
WRONG = "camt053.v2.wrong.xml"
GENKGO_FILES = sorted(p.name for p in GENKGO.glob("*.xml")) if GENKGO.is_dir() else []
_SUMMARIES = _DATA / "expected" / "camt_summaries.json"
SUMMARIES = json.loads(_SUMMARIES.read_text())["files"] if _SUMMARIES.is_file() else {}
KIND = {"camt.053": "Stmt", "camt.052": "Rpt", "camt.054": "Ntfctn"}


def read(testdata: Path, name: str) -> StatementFile:
    return read_statements((testdata / name).read_bytes(), source=name)


# --- genkgo/camt dumps (amounts in minor units) ---------------------------------------------------
def _genkgo_objects(node: Any, cls: str) -> list[dict]:
    found: list[dict] = []
    if isinstance(node, dict):
        if str(node.get("__CLASS__", "")).endswith(cls):
            found.append(node)
        for value in node.values():
            found += _genkgo_objects(value, cls)
    elif isinstance(node, list):
        for value in node:
            found += _genkgo_objects(value, cls)
    return found


def _genkgo_record_id(dump: dict) -> str:
    records = [r for r in _genkgo_objects(dump, "DTO\\Statement") + _genkgo_objects(dump, "DTO\\Report")
               + _genkgo_objects(dump, "DTO\\Notification") if isinstance(r.get("getId"), str)]
    return records[0]["getId"]


def _minor(amount: Decimal, currency: str) -> Decimal:
    return amount.scaleb(EXPONENTS[currency])


def _same(ours: BalanceAmount | None, theirs: dict | None) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    money = theirs["getAmount"]
    return (ours.currency == money["getCurrency"]["getCode"]
            and _minor(ours.amount, ours.currency) == Decimal(money["getAmount"]))


@pytest.mark.parametrize("name", [n for n in GENKGO_FILES if n != WRONG])
def test_every_genkgo_file_agrees_with_genkgos_dump_on_balances_and_entries(testdata: Path, name: str) -> None:
    dump = json.loads((testdata / "camt/genkgo/expected" / name.replace(".xml", ".json")).read_text())
    sf = read(testdata, f"camt/genkgo/{name}")
    record_id = _genkgo_record_id(dump)
    statement = [s for s in sf.statements if s.id == record_id][-1]  # genkgo dumps the last record
    balances = _genkgo_objects(dump, "DTO\\Balance")
    opening = next((b for b in balances if b["getType"] == "opening"), None)
    closing = next((b for b in balances if b["getType"] == "closing"), None)
    if closing is None:  # our documented fallback: the last interim booked balance (ITBD)
        closing = next((b for b in reversed(balances) if b["getType"] == "interim"), None)
    assert _same(statement.opening_balance, opening)
    assert _same(statement.closing_balance, closing)
    theirs = [(e["getAmount"]["getCurrency"]["getCode"], Decimal(e["getAmount"]["getAmount"]))
              for e in _genkgo_objects(dump, "DTO\\Entry")]
    assert [(e.currency, _minor(e.amount, e.currency)) for e in statement.entries] == theirs


def test_the_deliberately_wrong_genkgo_file_is_refused_naming_the_problem(testdata: Path) -> None:
    with pytest.raises(CamtInvalid) as err:
        read(testdata, f"camt/genkgo/{WRONG}")
    assert err.value.code == "CAMT_INVALID" and err.value.rule == "has_statement"
    assert err.value.where == "/Document/BkToCstmrStmt" and "no Stmt" in err.value.message


# --- derived summaries (values as written) -----------------------------------------------------
def _balance_as_written(balances: list[dict], *codes: str, last: bool = False) -> dict | None:
    for code in codes:
        hits = [b for b in balances if b["type"] == code]
        if hits:
            return hits[-1] if last else hits[0]
    return None


def _check_balance(ours: BalanceAmount | None, want: dict | None) -> None:
    if want is None:
        assert ours is None
        return
    assert ours is not None
    sign = -1 if want["cdt_dbt"] == "DBIT" else 1
    assert (ours.amount, ours.currency) == (sign * Decimal(want["amount"]), want["currency"])
    assert ours.date is not None and ours.date.isoformat() == want["date"][:10]


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _day(written: str | None) -> str | None:
    return None if written is None else written[:10]


def _check_statement(st: Statement, want: dict) -> None:
    assert (st.id, st.sequence_number) == (want["id"], want["electronic_seq"])
    assert (st.account.iban or st.account.other_id, st.account.currency) == (
        want["account"], want["account_currency"])
    _check_balance(st.opening_balance, _balance_as_written(want["balances"], "OPBD", "PRCD"))
    closing = _balance_as_written(want["balances"], "CLBD") or \
        _balance_as_written(want["balances"], "ITBD", last=True)
    _check_balance(st.closing_balance, closing)
    assert len(st.entries) == want["entry_count"]
    for entry, w in zip(st.entries, want["entries"], strict=True):
        sign = -1 if w["cdt_dbt"] == "DBIT" else 1
        assert (entry.amount, entry.currency, entry.status) == (sign * Decimal(w["amount"]), w["currency"],
                                                                 w["status"])
        assert entry.reversal == (w["reversal"] == "true")
        assert _iso(entry.booking_date) == _day(w["booking_date"])
        assert _iso(entry.value_date) == _day(w["value_date"])
        assert entry.bank_reference == w["acct_svcr_ref"]
        assert list(entry.end_to_end_ids) == w["end_to_end_ids"]
    breaks = [x for x in st.warnings if x.startswith("balance_break:")]
    assert bool(breaks) == (want["opening_plus_booked_entries_equals_CLBD"] is False)


@pytest.mark.parametrize("name", sorted(n for n, v in SUMMARIES.items() if v))
def test_every_camt_file_agrees_with_the_derived_summary(testdata: Path, name: str) -> None:
    sf = read(testdata, name)
    want = SUMMARIES[name]
    assert len(sf.statements) == len(want)
    for st, w in zip(sf.statements, want, strict=True):
        assert KIND[sf.format[:8]] == w["kind"]
        _check_statement(st, w)


# --- tolerance ---------------------------------------------------------------------------------
def test_more_decimals_than_the_currency_are_kept_with_a_warning(testdata: Path) -> None:
    st = read(testdata, "camt/genkgo/camt053.v2.five.decimals.xml").statements[0]
    assert st.entries[0].amount == Decimal("8.850") and str(st.entries[0].amount) == "8.850"
    assert any(w.startswith("amount_precision: entry 1 amount 8.850 EUR") for w in st.warnings)


def test_balance_break_is_read_with_a_warning_naming_the_numbers(testdata: Path) -> None:
    st = read(testdata, "camt/samples/apiome-06-typical-camt053-statement.xml").statements[0]
    assert ("balance_break: opening 1250000.00 EUR + booked 86250.00 EUR = 1336250.00 EUR "
            "but closing is 1101942.75 EUR") in st.warnings


def test_schema_problems_become_warnings_not_refusals(testdata: Path) -> None:
    st = read(testdata, "camt/samples/pain001pkg-camt053_sample.xml").statements[0]
    assert st.entries[0].amount == Decimal("150.00")
    assert any(w.startswith("schema: /Document/BkToCstmrStmt/Stmt") for w in st.warnings)


def test_dates_given_as_date_times_keep_their_date_part(testdata: Path) -> None:
    st = read(testdata, "camt/genkgo/camt53.only-Dt-with-DtTm.xml").statements[0]
    assert st.opening_balance is not None and st.opening_balance.date.isoformat() == "2025-07-23"


def test_counterparty_is_the_creditor_of_a_debit_and_the_debtor_of_a_credit(testdata: Path) -> None:
    entries = read(testdata, "camt/samples/apiome-06-typical-camt053-statement.xml").statements[0].entries
    debit, credit = entries
    assert debit.amount < 0 and debit.counterparty_name == "Northern Supplies GmbH"
    assert credit.amount > 0 and credit.counterparty_name == "Pacific Imports GmbH"


def test_anonymised_iban_is_kept_as_written() -> None:
    doc = b"""<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
      <GrpHdr><MsgId>M</MsgId><CreDtTm>2024-05-01T00:00:00</CreDtTm></GrpHdr>
      <Stmt><Id>S</Id><Acct><Id><IBAN>DE00XXXXXXXXXXXXXXXX00</IBAN></Id></Acct>
      <Ntry><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd>
        <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2024-05-01</Dt></BookgDt>
        <NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>
      </Stmt></BkToCstmrStmt></Document>"""
    st = read_statements(doc).statements[0]
    assert st.account.iban == "DE00XXXXXXXXXXXXXXXX00"
    entry = st.entries[0]
    assert entry.amount == Decimal("-10.00") and entry.reversal and entry.end_to_end_ids == ()
    assert any(w.startswith("reversal: entry 1") for w in st.warnings)


def test_entry_without_a_credit_debit_indicator_is_refused_naming_its_path() -> None:
    doc = b"""<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
      <Ntfctn><Id>N</Id><Ntry><Amt Ccy="EUR">5.00</Amt><Sts><Cd>BOOK</Cd></Sts></Ntry></Ntfctn>
      </BkToCstmrDbtCdtNtfctn></Document>"""
    with pytest.raises(CamtInvalid) as err:
        read_statements(doc)
    assert err.value.rule == "credit_debit" and err.value.where == "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry"


# --- JSON contract -------------------------------------------------------------------------------
def test_json_contract_has_exactly_the_agreed_shape(testdata: Path) -> None:
    out = to_json_dict(read(testdata, "camt/genkgo/camt053.v2.multi.statement.xml"))
    assert list(out) == ["format", "statements"] and out["format"] == "camt.053.001.02"
    st = out["statements"][1]
    assert list(st) == ["id", "account", "opening_balance", "closing_balance", "entries", "warnings"]
    assert st["account"] == {"iban": "NL26VAYB8060476890", "other_id": None, "currency": "EUR"}
    assert st["opening_balance"] == {"amount": "27.00", "currency": "EUR", "date": "2014-12-30"}
    assert st["entries"] == [{
        "amount": "-7.00", "currency": "EUR", "status": "BOOK", "booking_date": "2014-12-31",
        "value_date": "2015-01-02", "bank_reference": None, "end_to_end_ids": ["000000002"],
        "counterparty_name": "Company Name 2", "remittance": "Transaction Description 2"}]
    assert st["warnings"] == []
    assert json.loads(json.dumps(out)) == out
