"""Read a pain.001 (customer credit transfer initiation), versions .03 and .09.

What it guarantees: a returned `CreditTransferMessage` came from a well-formed document without a
DTD, valid against the official XSD of its version, whose declared `NbOfTxs` and `CtrlSum` (group
and PmtInf level) equal what it actually carries, and whose amounts are in known ISO 4217
currencies with no more decimals than the currency has. Anything else is refused with a typed
error; nothing is half-read.

The root namespace decides the version. Fields the hub does not model (ultimate parties, cheque
instructions, structured remittance ...) are ignored, not refused. Text is kept exactly as written
(no stripping), so `read_pain001(write_pain001(x)) == x`. Absent optional texts the model types as
`str` (instruction id, party names) read as "".

Raises (all `DomainError`): XmlRejected (XML_REJECTED), SchemaInvalid (SCHEMA_INVALID),
Pain001Invalid (PAIN001_INVALID).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from yinqi.adapters.iso20022 import safexml
from yinqi.adapters.iso20022.model import (
    AccountId,
    CreditTransfer,
    CreditTransferMessage,
    PaymentInfo,
    PostalAddress,
)
from yinqi.adapters.iso20022.schema import NS_PREFIX, message_type
from yinqi.adapters.iso20022.xmlpath import Doc, assert_schema_valid, local, path_of
from yinqi.domain.currency import Currency
from yinqi.domain.money import Money
from yinqi.domain.problems import DomainError, Problem

SUPPORTED = ("pain.001.001.03", "pain.001.001.09")


class Pain001Invalid(DomainError):
    """A pain.001 that is schema-valid but breaks a rule the XSD cannot state."""

    code = "PAIN001_INVALID"

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{first.where}: {first.message}{more}", where=first.where,
                         rule=first.rule, value=first.value)
        self.problems = problems


def read_pain001(data: bytes, *, source: str = "<input>",
                 max_bytes: int = safexml.MAX_BYTES_DEFAULT) -> CreditTransferMessage:
    """Parse, validate and check one pain.001 document.

    Raises:
        XmlRejected (XML_REJECTED): too large, not well-formed, or carries a DTD/entities.
        SchemaInvalid (SCHEMA_INVALID): breaks the official XSD; names each element path.
        Pain001Invalid (PAIN001_INVALID): unsupported version, counts/sums that disagree with the
            content, unknown currency, too many decimals, unreadable dates.
    """
    root = safexml.parse_bytes(data, source=source, max_bytes=max_bytes)
    _check_version(root, source)
    assert_schema_valid(root)
    reader = _Reader(root)
    message = reader.message()
    if reader.problems:
        raise Pain001Invalid(reader.problems)
    return message


def _check_version(root: etree._Element, source: str) -> None:
    ns = etree.QName(root).namespace or ""
    msg_type = message_type(ns)
    if local(root) != "Document" or not ns.startswith(NS_PREFIX) or msg_type not in SUPPORTED:
        raise Pain001Invalid([Problem(
            code=Pain001Invalid.code, where=source, rule="supported_version", value=ns or local(root),
            message=f"not a supported pain.001 document (namespace {ns or 'none'!r}); "
                    f"expected one of {', '.join(SUPPORTED)}")])


class _Reader:
    """Walks one schema-valid document; collects every rule problem instead of stopping."""

    def __init__(self, root: etree._Element) -> None:
        self.doc = Doc(root)
        self.root = root
        self.problems: list[Problem] = []

    def problem(self, el: etree._Element, rule: str, message: str, value: object = None) -> None:
        self.problems.append(Problem(code=Pain001Invalid.code, message=message, where=path_of(el),
                                     rule=rule, value=None if value is None else str(value)))

    # --- message and group checks -------------------------------------------------------------
    def message(self) -> CreditTransferMessage:
        d = self.doc
        body = d.find(self.root, "CstmrCdtTrfInitn")
        hdr = d.find(body, "GrpHdr")
        assert body is not None and hdr is not None  # guaranteed by the XSD
        infos = tuple(self.payment_info(p) for p in d.findall(body, "PmtInf"))
        amounts = [a for p in d.findall(body, "PmtInf") for a in self.amount_texts(p)]
        self.check_totals(hdr, len(amounts), amounts, "message")
        return CreditTransferMessage(
            message_id=d.text(hdr, "MsgId") or "",
            created_at=self.datetime_of(d.find(hdr, "CreDtTm")),
            initiating_party=d.text(hdr, "InitgPty/Nm") or "",
            payment_infos=infos,
        )

    def check_totals(self, el: etree._Element, count: int, amounts: list[Decimal], what: str) -> None:
        d = self.doc
        declared_nb = d.text(el, "NbOfTxs")
        if declared_nb is not None and int(declared_nb) != count:
            self.problem(d.find(el, "NbOfTxs"), "nb_of_txs",
                         f"NbOfTxs declares {int(declared_nb)} but the {what} contains {count} "
                         f"transactions", declared_nb)
        declared_sum = d.text(el, "CtrlSum")
        if declared_sum is not None:
            actual = sum(amounts, Decimal(0))
            if Decimal(declared_sum) != actual:
                self.problem(d.find(el, "CtrlSum"), "ctrl_sum",
                             f"CtrlSum declares {declared_sum} but the {what}'s amounts sum to "
                             f"{actual:f}", declared_sum)

    def amount_texts(self, pmt: etree._Element) -> list[Decimal]:
        return [Decimal(a.text or "0") for a in (self.amount_el(tx) for tx in
                                                self.doc.findall(pmt, "CdtTrfTxInf"))]

    def amount_el(self, tx: etree._Element) -> etree._Element:
        found = self.doc.find(tx, "Amt/InstdAmt")
        if found is None:
            found = self.doc.find(tx, "Amt/EqvtAmt/Amt")
        assert found is not None  # AmountType choice is mandatory in the XSD
        return found

    # --- PmtInf --------------------------------------------------------------------------------
    def payment_info(self, pmt: etree._Element) -> PaymentInfo:
        d = self.doc
        transfers = tuple(self.transfer(tx) for tx in d.findall(pmt, "CdtTrfTxInf"))
        self.check_totals(pmt, len(transfers), self.amount_texts(pmt), "PmtInf")
        return PaymentInfo(
            payment_info_id=d.text(pmt, "PmtInfId") or "",
            debtor_name=d.text(pmt, "Dbtr/Nm") or "",
            debtor_account=self.account(d.find(pmt, "DbtrAcct")),
            debtor_bic=self.bic(d.find(pmt, "DbtrAgt/FinInstnId")),
            requested_execution_date=self.execution_date(d.find(pmt, "ReqdExctnDt")),
            transfers=transfers,
            batch_booking=d.text(pmt, "BtchBookg") in ("true", "1"),
            instruction_priority=d.text(pmt, "PmtTpInf/InstrPrty"),
            service_level=d.text(pmt, "PmtTpInf/SvcLvl/Cd"),
            debtor_address=self.address(d.find(pmt, "Dbtr/PstlAdr")),
        )

    def execution_date(self, el: etree._Element | None) -> date:
        assert el is not None  # mandatory in the XSD
        if len(el):  # .09: a Dt / DtTm choice
            inner = el[0]
            return self.datetime_of(inner).date() if local(inner) == "DtTm" else self.date_of(inner)
        return self.date_of(el)

    # --- CdtTrfTxInf ---------------------------------------------------------------------------
    def transfer(self, tx: etree._Element) -> CreditTransfer:
        d = self.doc
        return CreditTransfer(
            instruction_id=d.text(tx, "PmtId/InstrId") or "",
            end_to_end_id=d.text(tx, "PmtId/EndToEndId") or "",
            amount=self.money(self.amount_el(tx)),
            creditor_name=d.text(tx, "Cdtr/Nm") or "",
            creditor_account=self.account(d.find(tx, "CdtrAcct")),
            creditor_bic=self.bic(d.find(tx, "CdtrAgt/FinInstnId")),
            creditor_bank_code=d.text(tx, "CdtrAgt/FinInstnId/ClrSysMmbId/MmbId"),
            creditor_address=self.address(d.find(tx, "Cdtr/PstlAdr")),
            remittance=" ".join(d.texts(tx, "RmtInf/Ustrd")) or None,
            purpose_code=d.text(tx, "Purp/Cd"),
            uetr=d.text(tx, "PmtId/UETR"),
        )

    def money(self, el: etree._Element) -> Money:
        text = (el.text or "").strip()
        ccy = el.get("Ccy") or ""
        try:
            exponent = Currency.of(ccy).exponent
        except DomainError:
            self.problem(el, "known_currency", f"currency {ccy!r} is not an active ISO 4217 code", ccy)
            return Money(0, "EUR")  # placeholder: a problem was recorded, the message is refused
        places = len(text.partition(".")[2])
        if places > exponent:
            self.problem(el, "currency_exponent",
                         f"amount {text} has {places} decimals but {ccy} allows {exponent}", text)
            return Money(0, ccy)
        try:
            return Money.parse(text, ccy)
        except DomainError as exc:
            self.problem(el, exc.rule or "amount", exc.message, text)
            return Money(0, ccy)

    # --- shared parts --------------------------------------------------------------------------
    def account(self, el: etree._Element | None) -> AccountId:
        d = self.doc
        if el is None:
            return AccountId()
        return AccountId(iban=d.text(el, "Id/IBAN"), other_id=d.text(el, "Id/Othr/Id"),
                         currency=d.text(el, "Ccy"))

    def bic(self, fin: etree._Element | None) -> str | None:
        value = self.doc.first_text(fin, ("BICFI", "BIC"))
        return None if value == "NOTPROVIDED" else value

    def address(self, el: etree._Element | None) -> PostalAddress | None:
        d = self.doc
        if el is None:
            return None
        return PostalAddress(country=d.text(el, "Ctry"), street=d.text(el, "StrtNm"),
                             building_number=d.text(el, "BldgNb"), postcode=d.text(el, "PstCd"),
                             town=d.text(el, "TwnNm"), lines=tuple(d.texts(el, "AdrLine")))

    def datetime_of(self, el: etree._Element | None) -> datetime:
        assert el is not None
        text = (el.text or "").strip()
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            self.problem(el, "iso_datetime", f"{text!r} is not a date-time this hub can read", text)
            return datetime(1970, 1, 1)

    def date_of(self, el: etree._Element) -> date:
        text = (el.text or "").strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.problem(el, "iso_date", f"{text!r} is not a date this hub can read", text)
            return date(1970, 1, 1)


__all__ = ["SUPPORTED", "Pain001Invalid", "read_pain001"]
