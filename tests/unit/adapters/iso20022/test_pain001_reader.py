"""pain.001 reading: the shared test files, and the rules the XSD cannot state."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from yinqi.adapters.iso20022.pain001_reader import Pain001Invalid, read_pain001
from yinqi.adapters.iso20022.safexml import XmlRejected
from yinqi.adapters.iso20022.schema import SchemaInvalid

_REPO = Path(__file__).resolve().parents[4]
_DATA = Path(os.environ.get("YINQI_TESTDATA", _REPO.parent / "shared" / "testdata"))


def _expected(name: str) -> dict:
    path = _DATA / "expected" / name
    return json.loads(path.read_text())["files"] if path.is_file() else {}


PAIN001 = _expected("pain001_summaries.json")
SAMPLE = "pain001/samples/apiome-03-multi-pmtinf-pain001.xml"


@pytest.mark.parametrize("name", sorted(PAIN001))
def test_every_shared_pain001_reads_as_its_summary_says(testdata: Path, name: str) -> None:
    want = PAIN001[name]
    msg = read_pain001((testdata / name).read_bytes(), source=name)
    transfers = [t for p in msg.payment_infos for t in p.transfers]
    assert msg.message_id == want["msg_id"]
    assert len(msg.payment_infos) == want["payment_infos"]
    assert len(transfers) == want["counted_txs"] == int(want["declared_nb_of_txs"])
    assert [t.end_to_end_id for t in transfers] == want["end_to_end_ids"]
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for t in transfers:
        sums[t.amount.currency] += t.amount.amount
    expected = {**want["instructed_sum_by_currency"], **want["equivalent_amount_sum_by_currency"]}
    assert {c: Decimal(v) for c, v in expected.items()} == dict(sums)


def _sample(testdata: Path) -> bytes:
    return (testdata / SAMPLE).read_bytes()


def test_nb_of_txs_that_disagrees_with_the_content_is_refused_stating_both_numbers(testdata: Path) -> None:
    data = _sample(testdata).replace(b"<NbOfTxs>4</NbOfTxs>", b"<NbOfTxs>5</NbOfTxs>")
    with pytest.raises(Pain001Invalid) as err:
        read_pain001(data)
    assert err.value.code == "PAIN001_INVALID"
    assert err.value.where == "/Document/CstmrCdtTrfInitn/GrpHdr/NbOfTxs"
    assert "5" in err.value.message and "4" in err.value.message


def test_pmtinf_ctrl_sum_that_disagrees_is_refused_naming_the_pmtinf(testdata: Path) -> None:
    data = _sample(testdata).replace(b"<CtrlSum>10000.00</CtrlSum>", b"<CtrlSum>10000.01</CtrlSum>")
    with pytest.raises(Pain001Invalid) as err:
        read_pain001(data)
    assert err.value.where == "/Document/CstmrCdtTrfInitn/PmtInf[2]/CtrlSum"
    assert "10000.01" in err.value.message and "10000.00" in err.value.message


def test_amount_with_more_decimals_than_the_currency_is_refused(testdata: Path) -> None:
    data = _sample(testdata).replace(b'Ccy="EUR">4000.00<', b'Ccy="JPY">4000.00<')
    with pytest.raises(Pain001Invalid) as err:
        read_pain001(data)
    assert any(p.rule == "currency_exponent" for p in err.value.problems)


def test_unknown_currency_is_refused(testdata: Path) -> None:
    data = _sample(testdata).replace(b'Ccy="EUR">4000.00<', b'Ccy="XYZ">4000.00<')
    with pytest.raises(Pain001Invalid) as err:
        read_pain001(data)
    assert err.value.problems[0].rule == "known_currency"
    assert err.value.where.endswith("PmtInf[2]/CdtTrfTxInf[2]/Amt/InstdAmt")


def test_schema_break_is_refused_naming_the_element_path(testdata: Path) -> None:
    data = _sample(testdata).replace(b"<PmtMtd>TRF</PmtMtd>", b"<PmtMtd>XXX</PmtMtd>", 1)
    with pytest.raises(SchemaInvalid) as err:
        read_pain001(data)
    assert err.value.where.startswith("/Document/CstmrCdtTrfInitn/PmtInf[1]/PmtMtd")


def test_other_message_types_are_refused(testdata: Path) -> None:
    with pytest.raises(Pain001Invalid):
        read_pain001((testdata / "pain002/pain001pkg/pain002_sample.xml").read_bytes())


def test_malformed_xml_is_refused_as_xml() -> None:
    with pytest.raises(XmlRejected):
        read_pain001(b"<Document><unclosed></Document>")
