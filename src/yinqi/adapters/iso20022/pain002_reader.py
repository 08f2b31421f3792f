"""Read a pain.002 (customer payment status report): versions .03 and .10 to .12 (and later
ones with the same shape). Tolerant.

What it guarantees: a returned `StatusReport` came from a well-formed document without a DTD whose
root namespace is a pain.002 version, carrying at least its own `MsgId` and the `OrgnlMsgId` it
answers. Everything else is optional: a missing group status, payment status, reason or
creation time reads as None; a bank's schema slip (an unknown code, an odd date) is not a reason
to lose the status it reports, so the XSD is not enforced here (`yinqi iso20022 validate` shows
schema problems).

Statuses are read at three levels: group (`OrgnlGrpInfAndSts/GrpSts`), payment
(`OrgnlPmtInfAndSts/PmtInfSts`) and transaction (`TxInfAndSts/TxSts`). A reason is the first
`StsRsnInf/Rsn/Cd` (or `Prtry`) at that level; `AddtlInf` lines are joined with a space.

Raises (all `DomainError`): XmlRejected (XML_REJECTED), Pain002Invalid (PAIN002_INVALID).
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from yinqi.adapters.iso20022 import safexml
from yinqi.adapters.iso20022.model import PaymentStatus, StatusReport, TransactionStatus
from yinqi.adapters.iso20022.schema import NS_PREFIX, message_type
from yinqi.adapters.iso20022.xmlpath import Doc, local
from yinqi.domain.problems import DomainError

_FAMILY = "pain.002.001."


class Pain002Invalid(DomainError):
    code = "PAIN002_INVALID"


def read_pain002(data: bytes, *, source: str = "<input>",
                 max_bytes: int = safexml.MAX_BYTES_DEFAULT) -> StatusReport:
    """Read one payment status report.

    Raises:
        XmlRejected (XML_REJECTED): too large, not well-formed, or carries a DTD/entities.
        Pain002Invalid (PAIN002_INVALID): not a pain.002, or without MsgId / OrgnlMsgId.
    """
    root = safexml.parse_bytes(data, source=source, max_bytes=max_bytes)
    ns = etree.QName(root).namespace or ""
    if local(root) != "Document" or not message_type(ns).startswith(_FAMILY) or not ns.startswith(NS_PREFIX):
        raise Pain002Invalid(f"{source}: not a pain.002 document (namespace {ns or 'none'!r})",
                             where=source, rule="message_type", value=ns or local(root))
    d = Doc(root)
    body = d.find(root, "CstmrPmtStsRpt")
    group = d.find(body, "OrgnlGrpInfAndSts")
    message_id = d.text(body, "GrpHdr/MsgId", strip=True)
    original_id = d.text(group, "OrgnlMsgId", strip=True)
    if body is None or message_id is None or original_id is None:
        missing = "CstmrPmtStsRpt" if body is None else "GrpHdr/MsgId" if message_id is None \
            else "OrgnlGrpInfAndSts/OrgnlMsgId"
        raise Pain002Invalid(f"{source}: a status report needs {missing}", where=f"/Document/{missing}",
                             rule="required", value=missing)
    return StatusReport(
        message_id=message_id,
        created_at=_datetime(d.text(body, "GrpHdr/CreDtTm", strip=True)),
        original_message_id=original_id,
        original_message_type=d.text(group, "OrgnlMsgNmId", strip=True),
        group_status=d.text(group, "GrpSts", strip=True),
        group_reason_code=_reason(d, group),
        payments=tuple(_payment(d, p) for p in d.findall(body, "OrgnlPmtInfAndSts")),
    )


def _payment(d: Doc, pmt: etree._Element) -> PaymentStatus:
    tags = (d.q("OrgnlEndToEndId"), d.q("TxSts"), d.q("OrgnlInstrId"), d.q("StsRsnInf"))
    return PaymentStatus(
        payment_info_id=d.text(pmt, "OrgnlPmtInfId", strip=True),
        status=d.text(pmt, "PmtInfSts", strip=True),
        reason_code=_reason(d, pmt),
        transactions=tuple(_transaction(d, tx, tags) for tx in d.findall(pmt, "TxInfAndSts")),
    )


def _transaction(d: Doc, tx: etree._Element, tags: tuple[str, str, str, str]) -> TransactionStatus:
    """One pass over the children (status reports can carry 100k transactions)."""
    e2e_tag, status_tag, instr_tag, reason_tag = tags
    e2e = status = instr = reason = None
    infos: list[str] = []
    for child in tx:
        tag = child.tag
        if tag == e2e_tag:
            e2e = _clean(child.text)
        elif tag == status_tag:
            status = _clean(child.text)
        elif tag == instr_tag:
            instr = _clean(child.text)
        elif tag == reason_tag:
            reason = reason or d.first_text(child, ("Rsn/Cd", "Rsn/Prtry"), strip=True)
            infos += d.texts(child, "AddtlInf", strip=True)
    return TransactionStatus(end_to_end_id=e2e, status=status, reason_code=reason,
                             additional_info=" ".join(infos) or None, original_instruction_id=instr)


def _clean(text: str | None) -> str | None:
    return (text.strip() or None) if text else None


def _reason(d: Doc, el: etree._Element | None) -> str | None:
    return d.first_text(el, ("StsRsnInf/Rsn/Cd", "StsRsnInf/Rsn/Prtry"), strip=True)


def _datetime(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # tolerant: a bank's odd timestamp does not void the statuses it reports
        return None


__all__ = ["Pain002Invalid", "read_pain002"]
