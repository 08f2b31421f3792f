"""Every shared test file in camt/, mt940/ and pain002/ reads with the results its expected files
state (issue 4, "done when"), through the same entry point the hub uses (`Iso20022Codec`).

* mt940/*/expected/*.json: `statements_by_tag` (one item per :20: block) is checked field by
  field; a file with no :20: block (a fragment) must be refused as a file, and its fields still
  read as the mt-940 library read them (`mt940_lib`).
* camt: expected/camt_summaries.json (statements, accounts, entries, balance check).
* pain002: expected/pain002_summaries.json; the pain.001 beside the apiome report is the order it
  answers, and is refused as a status report.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from yinqi.adapters.iso20022.codec import Iso20022Codec
from yinqi.adapters.iso20022.pain001_reader import read_pain001
from yinqi.adapters.iso20022.pain002_reader import Pain002Invalid
from yinqi.adapters.swift.mt940_details import parse_details
from yinqi.adapters.swift.mt940_fields import Balance, parse_balance, parse_statement_line, split_fields
from yinqi.adapters.swift.mt940_reader import Mt940Invalid, Mt940Message, read_mt940_messages, to_statement

_DATA = Path(os.environ.get("YINQI_TESTDATA", Path(__file__).resolve().parents[4] / "shared" / "testdata"))
MT940 = sorted(str(p.relative_to(_DATA)) for p in _DATA.glob("mt940/*/*.sta")) if _DATA.is_dir() else []
CAMT = sorted(str(p.relative_to(_DATA)) for p in _DATA.glob("camt/*/*.xml")) if _DATA.is_dir() else []
PAIN002 = sorted(str(p.relative_to(_DATA)) for p in _DATA.glob("pain002/*/*.xml")) if _DATA.is_dir() else []
CODEC = Iso20022Codec()


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _expected_mt940(testdata: Path, name: str) -> dict[str, Any]:
    path = testdata / name
    return _json(path.parent / "expected" / (path.stem + ".json"))


# --- MT940 ---------------------------------------------------------------------------------------
def _balance_view(b: Balance | None) -> dict[str, Any] | None:
    return None if b is None else {"mark": b.mark, "date_yymmdd": b.date_text, "currency": b.currency,
                                   "amount": b.amount}


def _message_view(m: Mt940Message) -> dict[str, Any]:
    break_flagged = any(w.startswith("balance_break") for w in m.warnings) or None
    has_both = m.opening is not None and m.closing is not None
    return {"ref": m.reference, "account": m.account, "stmt_no": m.statement_number,
            "opening": _balance_view(m.opening), "closing": _balance_view(m.closing),
            "closing_available": _balance_view(m.closing_available), "entries": len(m.lines),
            "entries_sum": m.lines_sum, "unparsed_61": 0,
            "opening_plus_entries_equals_closing": (not break_flagged) if has_both else None}


def _decimals(value: Any) -> Any:
    """Expected amounts are strings as written ('1125250.4'); compare them as numbers."""
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    if isinstance(value, str) and value.lstrip("-").replace(".", "", 1).isdigit():
        return Decimal(value)
    return value


@pytest.mark.parametrize("name", MT940)
def test_every_mt940_file_reads_as_its_expected_statements_by_tag(testdata: Path, name: str) -> None:
    want = _expected_mt940(testdata, name)["statements_by_tag"]
    data = (testdata / name).read_bytes()
    if not want:
        with pytest.raises(Mt940Invalid) as refused:
            CODEC.read_statements(data, source=name)
        assert refused.value.code == "MT940_INVALID" and refused.value.rule in ("has_statement", "has_field")
        return
    messages = read_mt940_messages(data, source=name)
    for m in messages:  # the balance check is the reader's, not recomputed here
        if m.opening and m.closing:
            m.warnings = list(to_statement(m).warnings)
    assert [_decimals(_message_view(m)) for m in messages] == _decimals(want)
    statement_file = CODEC.read_statements(data, source=name)
    assert statement_file.format == "mt940" and len(statement_file.statements) == len(want)


_LIB_FIELDS = ("status", "funds_code", "id", "bank_reference", "extra_details", "date", "entry_date")


def _lib_view(line_value: str, details_value: str | None, lib: dict[str, Any]) -> dict[str, Any]:
    """Our reading of one :61: (+ :86:) in the mt-940 library's vocabulary, for the keys it set."""
    line = parse_statement_line(line_value)
    assert line is not None, line_value
    ours: dict[str, Any] = {
        "status": line.mark, "funds_code": line.funds_code, "id": line.type_code,
        "bank_reference": line.bank_reference, "extra_details": line.supplementary,
        "date": line.value_date.isoformat() if line.value_date else None,
        "entry_date": line.entry_date.isoformat() if line.entry_date else None,
        "amount": line.amount,
    }
    picked = {k: lib.get(k) for k in _LIB_FIELDS}
    picked["amount"] = Decimal(lib["amount"]["amount"])
    if line.mark.startswith("R"):  # the library signs RC positive; statements_by_tag (and the balance) say debit
        ours["amount"], picked["amount"] = abs(line.amount), abs(picked["amount"])
    ref = lib.get("customer_reference")
    if ref is not None and not ref.startswith("KREF+"):  # the library nulls or clobbers it for SEPA lines
        ours["customer_reference"], picked["customer_reference"] = line.customer_reference, ref
    if details_value is not None and lib.get("transaction_code"):
        d = parse_details(details_value)
        ours |= {"transaction_code": d.transaction_code, "posting_text": d.posting_text}
        picked |= {"transaction_code": lib["transaction_code"], "posting_text": lib.get("posting_text")}
        if lib.get("end_to_end_reference"):
            ours["e2e"], picked["e2e"] = d.end_to_end_id, lib["end_to_end_reference"]
    if "entry_date" not in lib:
        picked["entry_date"] = ours["entry_date"]
    return {"ours": ours, "lib": picked}


def _lines_with_details(text: str) -> list[tuple[str, str | None]]:
    fields, _ = split_fields(text.replace("\r\n", "\n"))
    pairs: list[tuple[str, str | None]] = []
    for i, f in enumerate(fields):
        if f.tag == "61":
            following = fields[i + 1] if i + 1 < len(fields) else None
            pairs.append((f.value, following.value if following and following.tag == "86" else None))
    return pairs


@pytest.mark.parametrize("name", MT940)
def test_every_mt940_statement_line_reads_as_the_mt940_library_read_it(testdata: Path, name: str) -> None:
    expected = _expected_mt940(testdata, name)
    lib_lines = expected["mt940_lib"]["transactions"]
    pairs = _lines_with_details((testdata / name).read_text(encoding="utf-8"))
    assert len(pairs) == expected["mt940_lib_transaction_count"] == len(lib_lines)
    for (line_value, details_value), lib in zip(pairs, lib_lines, strict=True):
        view = _lib_view(line_value, details_value, lib)
        assert view["ours"] == view["lib"], line_value


_LIB_BALANCES = {"60F": "final_opening_balance", "62F": "final_closing_balance", "64": "available_balance"}


@pytest.mark.parametrize("name", [n for n in MT940 if "/cmxl/" in n or "amount_formats" in n])
def test_mt940_fragment_fields_read_as_the_library_read_them(testdata: Path, name: str) -> None:
    lib = _expected_mt940(testdata, name)["mt940_lib"]
    fields, _ = split_fields((testdata / name).read_text(encoding="utf-8"))
    last = {f.tag: f.value for f in fields}
    for tag, key in _LIB_BALANCES.items():
        if tag in last and key in lib and "20" not in last:
            bal = parse_balance(last[tag])
            assert bal is not None and bal.date is not None
            assert (bal.mark, bal.amount, bal.currency, bal.date.isoformat()) == (
                lib[key]["status"], Decimal(lib[key]["amount"]["amount"]), lib[key]["amount"]["currency"],
                lib[key]["date"])
    if "25" in last and "account_identification" in lib:
        assert last["25"] == lib["account_identification"] or "20" in last
    if "28C" in last and "statement_number" in lib:
        assert last["28C"] == f"{lib['statement_number']}/{lib['sequence_number']}"


# --- camt ----------------------------------------------------------------------------------------
def _camt_summaries(testdata: Path) -> dict[str, Any]:
    return dict(_json(testdata / "expected" / "camt_summaries.json")["files"])


@pytest.mark.parametrize("name", CAMT)
def test_every_camt_file_reads_as_its_expected_summary(testdata: Path, name: str) -> None:
    data = (testdata / name).read_bytes()
    if name not in _camt_summaries(testdata):  # only genkgo's own dump covers it (camt.052.001.01)
        dump = _json((testdata / name).parent / "expected" / (Path(name).stem + ".json"))
        got = CODEC.read_statements(data, source=name)
        ours = [(e.amount * 100, e.currency) for st in got.statements for e in st.entries]
        assert ours == [(Decimal(e["getAmount"]["getAmount"]), e["getAmount"]["getCurrency"]["getCode"])
                        for e in dump["getEntries"]]
        return
    want = _camt_summaries(testdata)[name]
    if not want:
        with pytest.raises(Exception) as refused:
            CODEC.read_statements(data, source=name)
        assert getattr(refused.value, "code", None) == "CAMT_INVALID"
        return
    got = CODEC.read_statements(data, source=name)
    assert len(got.statements) == len(want)
    for st, exp in zip(got.statements, want, strict=True):
        assert st.id == exp["id"]
        assert exp["account"] in (st.account.iban, st.account.other_id)
        sign = {"CRDT": 1, "DBIT": -1}
        assert [(e.amount, e.currency, list(e.end_to_end_ids)) for e in st.entries] == [
            (Decimal(x["amount"]) * sign.get(x["cdt_dbt"], 1), x["currency"],
             [i for i in x["end_to_end_ids"] if i != "NOTPROVIDED"]) for x in exp["entries"]]
        flagged = any(w.startswith("balance_break") for w in st.warnings)
        if exp["opening_plus_booked_entries_equals_CLBD"] is not None:
            assert flagged is (not exp["opening_plus_booked_entries_equals_CLBD"])


# --- pain.002 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", PAIN002)
def test_every_pain002_file_reads_as_its_expected_statuses(testdata: Path, name: str) -> None:
    data = (testdata / name).read_bytes()
    summaries = _json(testdata / "expected" / "pain002_summaries.json")["files"]
    if name not in summaries:  # the order file the report beside it answers
        with pytest.raises(Pain002Invalid):
            CODEC.read_status_report(data, source=name)
        order = read_pain001(data)
        report = CODEC.read_status_report((testdata / name).with_name("pain002.xml").read_bytes(), source=name)
        assert report.original_message_id == order.message_id
        answered = {t.end_to_end_id for p in report.payments for t in p.transactions}
        assert answered <= {t.end_to_end_id for p in order.payment_infos for t in p.transfers}
        return
    want = summaries[name]
    got = CODEC.read_status_report(data, source=name)
    assert (got.message_id, got.original_message_id, got.original_message_type, got.group_status) == (
        want["msg_id"], want["orgnl_msg_id"], want["orgnl_msg_nm_id"], want["group_status"])
    assert [(p.payment_info_id, p.status, [(t.end_to_end_id, t.status, t.reason_code) for t in p.transactions])
            for p in got.payments] == [
        (p["orgnl_pmt_inf_id"], p["status"], [(t["orgnl_end_to_end_id"], t["status"], t["reason"])
                                              for t in p["transactions"]]) for p in want["payment_infos"]]
