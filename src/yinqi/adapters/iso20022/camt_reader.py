"""Read bank statements: camt.053 (`Stmt`), camt.052 (`Rpt`) and camt.054 (`Ntfctn`), .01 to .08.

Tolerant by design: real bank files break their schemas, anonymise IBANs and carry more decimals
than the currency has. What is readable is read; what is odd becomes a warning on the statement
(`Statement.warnings`), never a silent fix:

* schema problems (or no shipped XSD for the version) -> warnings `schema: ...`;
* IBANs and other ids are kept exactly as written (no checksum test);
* amounts keep every decimal as written (`Decimal`); more decimals than the currency's exponent
  -> warning `amount_precision: ...`; an unknown currency code -> `unknown_currency: ...`;
* a statement whose opening balance + booked entries is not its closing balance is still read,
  with `balance_break: opening X + booked Y = Z but closing is W`.

What is refused (CamtInvalid, CAMT_INVALID; nothing is returned, no partial state): a document
that is not camt.052/053/054, one with no statement/report/notification at all (genkgo's
`camt053.v2.wrong.xml`), and an entry without a readable amount, currency or credit/debit sign -
money whose value or direction is unknown cannot be read tolerantly.

Field rules:
* sign: `CdtDbtInd` CRDT -> +, DBIT -> -. `RvslInd` true is kept on the entry (`reversal`) and
  noted in a `reversal: ...` warning; the sign still follows `CdtDbtInd` (ISO: the indicator
  already states the booking direction of the reversal).
* balances: opening = first OPBD, else first PRCD (previous closing). Closing = first CLBD, else the
  last ITBD (an intraday camt.052 carries only interim booked balances; its latest ITBD is the
  booked balance at report time). The balance check runs only against a real CLBD.
* dates: `Dt` or `DtTm`, the date part as written (no time-zone shift).
* end-to-end ids: `NtryDtls/TxDtls/Refs/EndToEndId` of every transaction, in order, "NOTPROVIDED"
  skipped. Bank reference: `AcctSvcrRef`. Counterparty: the creditor's name for a debit, the
  debtor's for a credit (reversed for a reversal), `Nm` or `Pty/Nm`, first transaction that has
  one. Remittance: every `RmtInf/Ustrd`, joined with a space.

Raises (all `DomainError`): XmlRejected (XML_REJECTED), CamtInvalid (CAMT_INVALID).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, localcontext

from lxml import etree

from yinqi.adapters.iso20022 import safexml
from yinqi.adapters.iso20022.model import (
    AccountId,
    BalanceAmount,
    Statement,
    StatementEntry,
    StatementFile,
)
from yinqi.adapters.iso20022.schema import NS_PREFIX, SchemaUnknown, message_type
from yinqi.adapters.iso20022.xmlpath import Doc, local, path_of, schema_problems
from yinqi.domain.currency import EXPONENTS
from yinqi.domain.problems import DomainError

# family -> (body element name prefix, record element name)
KINDS = {"camt.053": ("BkToCstmrStmt", "Stmt"), "camt.052": ("BkToCstmrAcctRpt", "Rpt"),
         "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}
MAX_SCHEMA_WARNINGS = 20
_AMOUNT = re.compile(r"\+?(?:\d{1,18}(?:\.\d{0,17})?|\.\d{1,17})")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_NS = re.compile(r"\{[^}]*\}")


class CamtInvalid(DomainError):
    code = "CAMT_INVALID"


def read_statements(data: bytes, *, source: str = "<input>",
                    max_bytes: int = safexml.MAX_BYTES_DEFAULT) -> StatementFile:
    """Read every statement, report or notification in one camt document.

    Raises:
        XmlRejected (XML_REJECTED): too large, not well-formed, or carries a DTD/entities.
        CamtInvalid (CAMT_INVALID): not camt.052/053/054, no statement in it, or an entry whose
            amount, currency or credit/debit indicator cannot be read. Names the element path.
    """
    root = safexml.parse_bytes(data, source=source, max_bytes=max_bytes)
    fmt, record_name = _kind(root, source)
    doc = Doc(root)
    body = next((c for c in root if local(c).startswith(KINDS[fmt[:8]][0])), None)
    records = [] if body is None else [c for c in body if local(c) == record_name]
    schema_notes = _schema_warnings(root, fmt)
    if not records:
        where = path_of(body) if body is not None else path_of(root)
        detail = f" ({schema_notes[0][1]})" if schema_notes else ""
        raise CamtInvalid(f"{source}: {where} has no {record_name}: a {fmt} must carry at least one"
                          f"{detail}", where=where, rule="has_statement", value=fmt)
    group_id = doc.text(body, "GrpHdr/MsgId", strip=True)
    statements = tuple(_Record(doc, rec, source).read(_notes_for(rec, schema_notes)) for rec in records)
    return StatementFile(format=fmt, message_id=group_id, statements=statements)


def _kind(root: etree._Element, source: str) -> tuple[str, str]:
    ns = etree.QName(root).namespace or ""
    fmt = message_type(ns)
    if local(root) != "Document" or not ns.startswith(NS_PREFIX) or fmt[:8] not in KINDS:
        raise CamtInvalid(f"{source}: not a camt.052/053/054 document (namespace {ns or 'none'!r})",
                          where=source, rule="message_type", value=ns or local(root))
    return fmt, KINDS[fmt[:8]][1]


def _schema_warnings(root: etree._Element, fmt: str) -> list[tuple[str, str]]:
    """(element path, warning) pairs; the path lets each warning go to its own statement."""
    try:
        problems = schema_problems(root)
    except SchemaUnknown:
        return [("", f"schema: no official XSD shipped for {fmt}; read without a schema check")]
    return [(p.where.partition(" (line")[0], f"schema: {p.where}: {_NS.sub('', p.message)}")
            for p in problems]


def _notes_for(record: etree._Element, notes: list[tuple[str, str]]) -> list[str]:
    """Warnings inside this record, plus those outside every record (they concern the file)."""
    mine = path_of(record)
    picked = [text for where, text in notes
              if where == mine or where.startswith(mine + "/") or not _in_a_record(where)]
    if len(picked) > MAX_SCHEMA_WARNINGS:
        picked = [*picked[:MAX_SCHEMA_WARNINGS], f"schema: ... and {len(picked) - MAX_SCHEMA_WARNINGS} more"]
    return picked


def _in_a_record(where: str) -> bool:
    parts = where.split("/")
    return len(parts) > 3 and parts[3].split("[")[0] in ("Stmt", "Rpt", "Ntfctn")


class _Record:
    """Reads one Stmt / Rpt / Ntfctn; collects warnings as it goes."""

    def __init__(self, doc: Doc, rec: etree._Element, source: str) -> None:
        self.d = doc
        self.rec = rec
        self.source = source
        self.warnings: list[str] = []

    def read(self, schema_notes: list[str]) -> Statement:
        d, rec = self.d, self.rec
        self.warnings.extend(schema_notes)
        balances = [b for b in (self.balance(el) for el in d.findall(rec, "Bal")) if b is not None]
        entries = tuple(self.entry(el, i) for i, el in enumerate(d.findall(rec, "Ntry"), 1))
        opening = _first(balances, "OPBD") or _first(balances, "PRCD")
        closing = _first(balances, "CLBD") or _last(balances, "ITBD")
        if opening is not None and closing is not None and closing.type_code == "CLBD":
            self.check_balance(opening, closing, entries)
        return Statement(
            id=d.text(rec, "Id", strip=True) or "",
            account=self.account(),
            opening_balance=opening,
            closing_balance=closing,
            entries=entries,
            sequence_number=d.text(rec, "ElctrncSeqNb", strip=True),
            created_at=_datetime(d.text(rec, "CreDtTm", strip=True)),
            warnings=tuple(self.warnings),
        )

    def account(self) -> AccountId:
        d, acct = self.d, self.d.find(self.rec, "Acct")
        other = d.first_text(acct, ("Id/Othr/Id", "Id/PrtryAcct/Id", "Id/BBAN", "Id/UPIC"), strip=True)
        return AccountId(iban=d.text(acct, "Id/IBAN", strip=True), other_id=other,
                         currency=d.text(acct, "Ccy", strip=True))

    # --- balances ------------------------------------------------------------------------------
    def balance(self, el: etree._Element) -> BalanceAmount | None:
        d = self.d
        code = d.first_text(el, ("Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry", "Tp/Cd", "Tp/Prtry"), strip=True)
        amt = d.find(el, "Amt")
        value = self.amount_of(amt)
        indicator = d.text(el, "CdtDbtInd", strip=True)
        if value is None or amt is None or indicator not in ("CRDT", "DBIT"):
            self.warnings.append(f"balance_unreadable: {path_of(el)} ({code or 'no type'}) has no "
                                 f"readable amount and CRDT/DBIT indicator; skipped")
            return None
        ccy = (amt.get("Ccy") or "").strip()
        self.check_currency(value, ccy, f"balance {code}")
        return BalanceAmount(amount=_signed(value, indicator), currency=ccy,
                             date=self.date_of(d.find(el, "Dt"), f"balance {code}"), type_code=code or "")

    def check_balance(self, opening: BalanceAmount, closing: BalanceAmount,
                      entries: tuple[StatementEntry, ...]) -> None:
        booked = [e for e in entries if e.status == "BOOK"]
        currencies = {opening.currency, closing.currency} | {e.currency for e in booked}
        with localcontext() as ctx:
            ctx.prec = 80  # exact for any amount _AMOUNT admits, summed over any file size
            booked_sum = sum((e.amount for e in booked), Decimal(0))
            expected = opening.amount + booked_sum
        if len(currencies) == 1 and expected == closing.amount:
            return
        ccy = opening.currency
        booked_text = " + ".join(f"{_signed_sum(booked, c)} {c}" for c in sorted({e.currency for e in booked})) \
            or f"0 {ccy}"
        self.warnings.append(f"balance_break: opening {opening.amount:f} {ccy} + booked {booked_text} = "
                             f"{expected:f} {ccy} but closing is {closing.amount:f} {closing.currency}")

    # --- entries -------------------------------------------------------------------------------
    def entry(self, el: etree._Element, index: int) -> StatementEntry:
        d = self.d
        amt = d.find(el, "Amt")
        value = self.amount_of(amt)
        ccy = "" if amt is None else (amt.get("Ccy") or "").strip()
        indicator = d.text(el, "CdtDbtInd", strip=True)
        if value is None or amt is None:
            self.refuse(amt if amt is not None else el, "entry_amount", "entry has no readable amount")
        if not ccy:
            self.refuse(amt, "entry_currency", "entry amount has no currency (Ccy)")
        if indicator not in ("CRDT", "DBIT") and value != 0:
            self.refuse(el, "credit_debit", f"entry has no CRDT/DBIT indicator (got {indicator!r})")
        assert value is not None
        self.check_currency(value, ccy, f"entry {index}")
        reversal = d.text(el, "RvslInd", strip=True) in ("true", "1")
        if reversal:
            self.warnings.append(f"reversal: entry {index} is a reversal (RvslInd=true); "
                                 f"its sign follows CdtDbtInd {indicator}")
        details = d.findall(el, "NtryDtls/TxDtls")
        # The counterparty of a debit is the creditor; a reversal turns the direction around.
        party_role = "Cdtr" if (indicator == "DBIT") != reversal else "Dbtr"
        return StatementEntry(
            amount=_signed(value, indicator),
            currency=ccy,
            status=d.first_text(el, ("Sts/Cd", "Sts/Prtry", "Sts"), strip=True) or "",
            booking_date=self.date_of(d.find(el, "BookgDt"), f"entry {index} booking"),
            value_date=self.date_of(d.find(el, "ValDt"), f"entry {index} value"),
            bank_reference=d.text(el, "AcctSvcrRef", strip=True),
            end_to_end_ids=tuple(i for t in details for i in d.texts(t, "Refs/EndToEndId", strip=True)
                                 if i != "NOTPROVIDED"),
            counterparty_name=_first_of(self.party_name(t, party_role) for t in details),
            remittance=" ".join(u for t in details for u in d.texts(t, "RmtInf/Ustrd", strip=True))
            or None,
            reversal=reversal,
            entry_reference=d.text(el, "NtryRef", strip=True),
            return_reason=_first_of(d.text(t, "RtrInf/Rsn/Cd", strip=True) for t in details),
        )

    def party_name(self, tx: etree._Element, role: str) -> str | None:
        return self.d.first_text(tx, (f"RltdPties/{role}/Nm", f"RltdPties/{role}/Pty/Nm"), strip=True)

    # --- values --------------------------------------------------------------------------------
    def amount_of(self, el: etree._Element | None) -> Decimal | None:
        text = (el.text or "").strip() if el is not None else ""
        return Decimal(text) if _AMOUNT.fullmatch(text) else None

    def check_currency(self, value: Decimal, ccy: str, what: str) -> None:
        exponent = EXPONENTS.get(ccy)
        if exponent is None:
            self.warnings.append(f"unknown_currency: {what} is in {ccy!r}, not an active ISO 4217 code")
            return
        places = -value.as_tuple().exponent  # type: ignore[operator]
        if places > exponent:
            self.warnings.append(f"amount_precision: {what} amount {value:f} {ccy} has {places} "
                                 f"decimals, {ccy} allows {exponent} (kept as written)")

    def date_of(self, el: etree._Element | None, what: str) -> date | None:
        text = self.d.first_text(el, ("Dt", "DtTm"), strip=True) if el is not None else None
        if text is None:
            return None
        m = _DATE.match(text)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                pass
        self.warnings.append(f"date_unreadable: {what} date {text[:40]!r} is not a date; left empty")
        return None

    def refuse(self, el: etree._Element | None, rule: str, message: str) -> None:
        where = path_of(el if el is not None else self.rec)
        raise CamtInvalid(f"{self.source}: {where}: {message}", where=where, rule=rule)


def _signed(value: Decimal, indicator: str | None) -> Decimal:
    """Debits negative; a zero stays '0', never '-0'."""
    return -value if indicator == "DBIT" and value != 0 else value


def _first_of(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


def _first(balances: list[BalanceAmount], code: str) -> BalanceAmount | None:
    return next((b for b in balances if b.type_code == code), None)


def _last(balances: list[BalanceAmount], code: str) -> BalanceAmount | None:
    return next((b for b in reversed(balances) if b.type_code == code), None)


def _signed_sum(entries: list[StatementEntry], ccy: str) -> str:
    with localcontext() as ctx:
        ctx.prec = 80
        return f"{sum((e.amount for e in entries if e.currency == ccy), Decimal(0)):f}"


def _datetime(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


__all__ = ["KINDS", "CamtInvalid", "read_statements"]
