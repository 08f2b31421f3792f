"""Sample pain.001.001.09 documents for demos and tests of the sandbox bank.

The hub has its own writer; this one is deliberately separate and small (the bank must not
depend on the hub's writer to be tested), and it can also write what the hub never would: a
wrong CtrlSum, for instance, so the bank's refusal can be tested. Output is XSD-validated unless
`validate=False`.

>>> doc = sample_pain001(msg_id="M-1", debtor_iban="DE89370400440532013000", transfers=[
...     SampleTransfer("E2E-1", "10.00", "EUR", "FR1420041010050500013M02606", "Alice", "inv 1")])
>>> b"<MsgId>M-1</MsgId>" in doc
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from lxml import etree

from yinqi.adapters.iso20022 import schema

_NS = schema.NS_PREFIX + "pain.001.001.09"


@dataclass(frozen=True, slots=True)
class SampleTransfer:
    end_to_end_id: str
    amount: str  # decimal string, e.g. "10.00"
    currency: str
    creditor_account: str  # an IBAN, or another id when `creditor_is_iban` is False
    creditor_name: str = "Creditor"
    remittance: str | None = None
    creditor_is_iban: bool = True


def sample_pain001(*, msg_id: str, debtor_iban: str | None = None, debtor_other_id: str | None = None,
                   transfers: Sequence[SampleTransfer], pmt_inf_id: str | None = None,
                   debtor_name: str = "Yinqi Demo Ltd", created_at: datetime | None = None,
                   execution_date: date | None = None, ctrl_sum: str | None = None,
                   validate: bool = True) -> bytes:
    """One PmtInf of `transfers` from the debtor account. `ctrl_sum` overrides the true sum."""
    created = created_at or datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    total = ctrl_sum or str(sum((Decimal(t.amount) for t in transfers), Decimal(0)))
    doc = etree.Element(f"{{{_NS}}}Document", nsmap={None: _NS})
    body = _sub(doc, "CstmrCdtTrfInitn")
    hdr = _sub(body, "GrpHdr")
    _sub(hdr, "MsgId", msg_id)
    _sub(hdr, "CreDtTm", created.isoformat(timespec="seconds"))
    _sub(hdr, "NbOfTxs", str(len(transfers)))
    _sub(hdr, "CtrlSum", total)
    _sub(_sub(hdr, "InitgPty"), "Nm", debtor_name)
    pmt = _sub(body, "PmtInf")
    _sub(pmt, "PmtInfId", pmt_inf_id or f"{msg_id}-P1"[:35])
    _sub(pmt, "PmtMtd", "TRF")
    _sub(pmt, "NbOfTxs", str(len(transfers)))
    _sub(pmt, "CtrlSum", total)
    _sub(_sub(pmt, "ReqdExctnDt"), "Dt", (execution_date or created.date()).isoformat())
    _sub(_sub(pmt, "Dbtr"), "Nm", debtor_name)
    _account(_sub(pmt, "DbtrAcct"), debtor_iban, debtor_other_id)
    _sub(_sub(_sub(pmt, "DbtrAgt"), "FinInstnId"), "BICFI", "SNDBDEFFXXX")
    for tx in transfers:
        _transfer(pmt, tx)
    if validate:
        schema.assert_valid(doc)
    return bytes(etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _account(parent: etree._Element, iban: str | None, other_id: str | None) -> None:
    ident = _sub(parent, "Id")
    if iban:
        _sub(ident, "IBAN", iban)
    else:
        _sub(_sub(ident, "Othr"), "Id", other_id or "NOTPROVIDED")


def _transfer(pmt: etree._Element, tx: SampleTransfer) -> None:
    el = _sub(pmt, "CdtTrfTxInf")
    ids = _sub(el, "PmtId")
    _sub(ids, "InstrId", tx.end_to_end_id)
    _sub(ids, "EndToEndId", tx.end_to_end_id)
    _sub(_sub(el, "Amt"), "InstdAmt", tx.amount).set("Ccy", tx.currency)
    _sub(_sub(el, "Cdtr"), "Nm", tx.creditor_name)
    acct = _sub(el, "CdtrAcct")
    if tx.creditor_is_iban:
        _account(acct, tx.creditor_account, None)
    else:
        _account(acct, None, tx.creditor_account)
    if tx.remittance:
        _sub(_sub(el, "RmtInf"), "Ustrd", tx.remittance)
