"""pain.002 reading: statuses at group, payment and transaction level, tolerant of gaps."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from yinqi.adapters.iso20022.pain002_reader import Pain002Invalid, read_pain002

_REPO = Path(__file__).resolve().parents[4]
_DATA = Path(os.environ.get("YINQI_TESTDATA", _REPO.parent / "shared" / "testdata"))
_SUMMARIES = _DATA / "expected" / "pain002_summaries.json"
PAIN002 = json.loads(_SUMMARIES.read_text())["files"] if _SUMMARIES.is_file() else {}
NS = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.12"


@pytest.mark.parametrize("name", sorted(PAIN002))
def test_every_shared_pain002_reads_as_its_summary_says(testdata: Path, name: str) -> None:
    want = PAIN002[name]
    report = read_pain002((testdata / name).read_bytes(), source=name)
    assert report.message_id == want["msg_id"]
    assert report.original_message_id == want["orgnl_msg_id"]
    assert report.original_message_type == want["orgnl_msg_nm_id"]
    assert report.group_status == want["group_status"]
    assert [r for r in [report.group_reason_code] if r] == want["group_reasons"]
    got = [{"orgnl_pmt_inf_id": p.payment_info_id, "status": p.status,
            "transactions": [{"orgnl_end_to_end_id": t.end_to_end_id, "status": t.status,
                              "reason": t.reason_code} for t in p.transactions]}
           for p in report.payments]
    assert got == want["payment_infos"]


def test_reason_code_and_additional_info_are_read_at_every_level() -> None:
    doc = f"""<Document xmlns="{NS}"><CstmrPmtStsRpt>
      <GrpHdr><MsgId>S1</MsgId><CreDtTm>2026-01-02T10:00:00Z</CreDtTm></GrpHdr>
      <OrgnlGrpInfAndSts><OrgnlMsgId>M1</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>
        <GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf></OrgnlGrpInfAndSts>
      <OrgnlPmtInfAndSts><OrgnlPmtInfId>P1</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts>
        <StsRsnInf><Rsn><Prtry>BANK42</Prtry></Rsn></StsRsnInf>
        <TxInfAndSts><OrgnlInstrId>I1</OrgnlInstrId><OrgnlEndToEndId>E1</OrgnlEndToEndId>
          <TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>Account closed</AddtlInf>
          <AddtlInf>since May</AddtlInf></StsRsnInf></TxInfAndSts>
      </OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>""".encode()
    report = read_pain002(doc)
    assert (report.group_status, report.group_reason_code) == ("RJCT", "FF01")
    payment = report.payments[0]
    assert (payment.status, payment.reason_code) == ("RJCT", "BANK42")
    tx = payment.transactions[0]
    assert (tx.end_to_end_id, tx.original_instruction_id, tx.reason_code, tx.additional_info) == (
        "E1", "I1", "AC04", "Account closed since May")


def test_missing_optional_parts_read_as_none() -> None:
    doc = f"""<Document xmlns="{NS}"><CstmrPmtStsRpt><GrpHdr><MsgId>S1</MsgId></GrpHdr>
      <OrgnlGrpInfAndSts><OrgnlMsgId>M1</OrgnlMsgId></OrgnlGrpInfAndSts>
      <OrgnlPmtInfAndSts><TxInfAndSts><TxSts>ACSC</TxSts></TxInfAndSts></OrgnlPmtInfAndSts>
      </CstmrPmtStsRpt></Document>""".encode()
    report = read_pain002(doc)
    assert report.created_at is None and report.group_status is None
    assert report.payments[0].payment_info_id is None
    assert report.payments[0].transactions[0].status == "ACSC"


def test_report_without_original_message_id_is_refused() -> None:
    doc = f'<Document xmlns="{NS}"><CstmrPmtStsRpt><GrpHdr><MsgId>S</MsgId></GrpHdr>' \
          f"</CstmrPmtStsRpt></Document>".encode()
    with pytest.raises(Pain002Invalid) as err:
        read_pain002(doc)
    assert err.value.code == "PAIN002_INVALID" and "OrgnlMsgId" in err.value.where
