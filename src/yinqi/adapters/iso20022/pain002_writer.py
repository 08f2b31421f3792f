"""Write a pain.002 customer payment status report (the bank's answer to a pain.001).

Used by the sandbox bank, and by tests that need a bank's answer. The input is the version-free
`StatusReport` from `model.py`; the output is validated against the official XSD before it is
returned, so a report that leaves this module is always schema-valid.

Versions: pain.002.001.03 (still the most common in bank host-to-host channels), .11 and .12. The
elements written are the same in all three; only the namespace and the code lists differ (.03
has closed enumerations, later versions external code sets), which the XSD check enforces.

>>> from datetime import datetime, UTC
>>> report = StatusReport(message_id="STS-1", created_at=datetime(2026, 1, 2, 9, 30, tzinfo=UTC),
...                       original_message_id="MSG-1", original_message_type="pain.001.001.09",
...                       group_status="RJCT", group_reason_code="FF01")
>>> b"<GrpSts>RJCT</GrpSts>" in write_pain002(report)
True
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from yinqi.adapters.iso20022 import schema
from yinqi.adapters.iso20022.model import PaymentStatus, StatusReport, TransactionStatus

VERSIONS = ("pain.002.001.03", "pain.002.001.11", "pain.002.001.12")
DEFAULT_VERSION = "pain.002.001.03"
_ADDTL_INF_MAX = 105


def write_pain002(report: StatusReport, *, version: str = DEFAULT_VERSION,
                  reporting_party: str | None = None, group_additional_info: str | None = None) -> bytes:
    """Serialise `report` as pain.002 `version` and return UTF-8 XML bytes.

    `group_additional_info` (cut to 105 characters) explains a group status, e.g. which rule a
    rejected file broke.

    Raises:
        ValueError: `version` is not one of VERSIONS.
        SchemaInvalid (SCHEMA_INVALID): the result breaks the official XSD (e.g. a status code
            the version does not know); nothing is returned.
    """
    if version not in VERSIONS:
        raise ValueError(f"pain.002 version {version!r} is not supported; use one of {VERSIONS}")
    ns = schema.NS_PREFIX + version
    doc = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})
    root = _sub(doc, ns, "CstmrPmtStsRpt")
    _group_header(root, ns, report, reporting_party)
    _original_group(root, ns, report, group_additional_info)
    for payment in report.payments:
        _payment(root, ns, payment)
    schema.assert_valid(doc)
    return bytes(etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _sub(parent: etree._Element, ns: str, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _iso_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds")


def _group_header(root: etree._Element, ns: str, report: StatusReport,
                  reporting_party: str | None) -> None:
    hdr = _sub(root, ns, "GrpHdr")
    _sub(hdr, ns, "MsgId", report.message_id)
    _sub(hdr, ns, "CreDtTm", _iso_datetime(report.created_at or datetime.now(UTC)))
    if reporting_party:
        _sub(_sub(hdr, ns, "InitgPty"), ns, "Nm", reporting_party)


def _original_group(root: etree._Element, ns: str, report: StatusReport, info: str | None) -> None:
    grp = _sub(root, ns, "OrgnlGrpInfAndSts")
    _sub(grp, ns, "OrgnlMsgId", report.original_message_id)
    _sub(grp, ns, "OrgnlMsgNmId", report.original_message_type or "pain.001")
    if report.group_status:
        _sub(grp, ns, "GrpSts", report.group_status)
    _reason(grp, ns, report.group_reason_code, info)


def _payment(root: etree._Element, ns: str, payment: PaymentStatus) -> None:
    pmt = _sub(root, ns, "OrgnlPmtInfAndSts")
    _sub(pmt, ns, "OrgnlPmtInfId", payment.payment_info_id or "NOTPROVIDED")
    if payment.status:
        _sub(pmt, ns, "PmtInfSts", payment.status)
    _reason(pmt, ns, payment.reason_code, None)
    for tx in payment.transactions:
        _transaction(pmt, ns, tx)


def _transaction(pmt: etree._Element, ns: str, tx: TransactionStatus) -> None:
    el = _sub(pmt, ns, "TxInfAndSts")
    if tx.original_instruction_id:
        _sub(el, ns, "OrgnlInstrId", tx.original_instruction_id)
    if tx.end_to_end_id:
        _sub(el, ns, "OrgnlEndToEndId", tx.end_to_end_id)
    if tx.status:
        _sub(el, ns, "TxSts", tx.status)
    _reason(el, ns, tx.reason_code, tx.additional_info)


def _reason(parent: etree._Element, ns: str, code: str | None, info: str | None) -> None:
    if not code and not info:
        return
    rsn_inf = _sub(parent, ns, "StsRsnInf")
    if code:
        _sub(_sub(rsn_inf, ns, "Rsn"), ns, "Cd", code)
    if info:
        _sub(rsn_inf, ns, "AddtlInf", info[:_ADDTL_INF_MAX])
