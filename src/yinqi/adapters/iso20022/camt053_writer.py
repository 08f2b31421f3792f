"""Write a camt.053 bank-to-customer statement (end-of-day account statement).

Used by the sandbox bank and by tests that need a bank's statement. The input is the version-free
`Statement` from `model.py`; amounts there are signed `Decimal`s, written here as an absolute
amount plus CRDT/DBIT. An amount with more decimals than its currency allows is refused (a bank
never books a fraction of a minor unit), and every document is validated against the official
XSD before it is returned.

Versions: camt.053.001.08 (default) and camt.053.001.02 (still what most banks send). They differ
only in a few wrappers: the entry status (`<Sts>BOOK</Sts>` vs `<Sts><Cd>BOOK</Cd></Sts>`) and
the related parties (`<Cdtr><Nm>` vs `<Cdtr><Pty><Nm>`).

One entry becomes one `Ntry`; each of its end-to-end ids becomes one `TxDtls`. The counterparty
is the creditor on a debit entry and the debtor on a credit entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from lxml import etree

from yinqi.adapters.iso20022 import schema
from yinqi.adapters.iso20022.model import AccountId, BalanceAmount, Statement, StatementEntry
from yinqi.domain.money import Money

VERSIONS = ("camt.053.001.02", "camt.053.001.08")
DEFAULT_VERSION = "camt.053.001.08"
_USTRD_MAX = 140


def write_camt053(statements: Sequence[Statement], *, message_id: str, created_at: datetime,
                  version: str = DEFAULT_VERSION) -> bytes:
    """Serialise `statements` as one camt.053 `version` document and return UTF-8 XML bytes.

    Raises:
        ValueError: unsupported `version`, or no statements.
        AmountInvalid (AMOUNT_INVALID): an amount has more decimals than its currency allows.
        SchemaInvalid (SCHEMA_INVALID): the result breaks the official XSD; nothing is returned.
    """
    if version not in VERSIONS:
        raise ValueError(f"camt.053 version {version!r} is not supported; use one of {VERSIONS}")
    if not statements:
        raise ValueError("a camt.053 needs at least one statement")
    writer = _Writer(version)
    doc = writer.document(statements, message_id=message_id, created_at=created_at)
    schema.assert_valid(doc)
    return bytes(etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _iso_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds")


def _amount_text(amount: object, currency: str) -> str:
    """Exact absolute amount with the currency's decimals ('12.50', '1000' for JPY)."""
    return abs(Money.parse(str(amount), currency)).format()


def _indicator(amount: object) -> str:
    return "DBIT" if str(amount).strip().startswith("-") else "CRDT"


class _Writer:
    def __init__(self, version: str) -> None:
        self.version = version
        self.ns = schema.NS_PREFIX + version
        self.legacy = version == "camt.053.001.02"

    def sub(self, parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
        el = etree.SubElement(parent, f"{{{self.ns}}}{tag}")
        if text is not None:
            el.text = text
        return el

    def document(self, statements: Sequence[Statement], *, message_id: str,
                 created_at: datetime) -> etree._Element:
        doc = etree.Element(f"{{{self.ns}}}Document", nsmap={None: self.ns})
        body = self.sub(doc, "BkToCstmrStmt")
        hdr = self.sub(body, "GrpHdr")
        self.sub(hdr, "MsgId", message_id)
        self.sub(hdr, "CreDtTm", _iso_datetime(created_at))
        for stmt in statements:
            self.statement(body, stmt, created_at=created_at)
        return doc

    def statement(self, body: etree._Element, stmt: Statement, *, created_at: datetime) -> None:
        el = self.sub(body, "Stmt")
        self.sub(el, "Id", stmt.id)
        if stmt.sequence_number:
            self.sub(el, "ElctrncSeqNb", stmt.sequence_number)
        self.sub(el, "CreDtTm", _iso_datetime(stmt.created_at or created_at))
        self.period(el, stmt)
        self.account(self.sub(el, "Acct"), stmt.account)
        for balance in (stmt.opening_balance, stmt.closing_balance):
            if balance is not None:
                self.balance(el, balance)
        for entry in stmt.entries:
            self.entry(el, entry)

    def period(self, el: etree._Element, stmt: Statement) -> None:
        start = stmt.opening_balance.date if stmt.opening_balance else None
        end = stmt.closing_balance.date if stmt.closing_balance else None
        if start is None or end is None:
            return
        frto = self.sub(el, "FrToDt")
        self.sub(frto, "FrDtTm", _iso_datetime(datetime.combine(start, time(0, 0), UTC)))
        self.sub(frto, "ToDtTm", _iso_datetime(datetime.combine(end, time(23, 59, 59), UTC)))

    def account(self, acct: etree._Element, account: AccountId) -> None:
        ident = self.sub(acct, "Id")
        if account.iban:
            self.sub(ident, "IBAN", account.iban)
        else:
            self.sub(self.sub(ident, "Othr"), "Id", account.other_id or "NOTPROVIDED")
        if account.currency:
            self.sub(acct, "Ccy", account.currency)

    def balance(self, parent: etree._Element, balance: BalanceAmount) -> None:
        bal = self.sub(parent, "Bal")
        self.sub(self.sub(self.sub(bal, "Tp"), "CdOrPrtry"), "Cd", balance.type_code or "OPBD")
        self.sub(bal, "Amt", _amount_text(balance.amount, balance.currency)).set("Ccy", balance.currency)
        self.sub(bal, "CdtDbtInd", _indicator(balance.amount))
        self.dt(self.sub(bal, "Dt"), balance.date)

    def dt(self, parent: etree._Element, day: date | None) -> None:
        self.sub(parent, "Dt", (day or datetime.now(UTC).date()).isoformat())

    def entry(self, parent: etree._Element, entry: StatementEntry) -> None:
        ntry = self.sub(parent, "Ntry")
        if entry.entry_reference:
            self.sub(ntry, "NtryRef", entry.entry_reference)
        self.sub(ntry, "Amt", _amount_text(entry.amount, entry.currency)).set("Ccy", entry.currency)
        debit = _indicator(entry.amount) == "DBIT"
        self.sub(ntry, "CdtDbtInd", "DBIT" if debit else "CRDT")
        if entry.reversal:
            self.sub(ntry, "RvslInd", "true")
        self.status(ntry, entry.status)
        if entry.booking_date:
            self.dt(self.sub(ntry, "BookgDt"), entry.booking_date)
        if entry.value_date:
            self.dt(self.sub(ntry, "ValDt"), entry.value_date)
        if entry.bank_reference:
            self.sub(ntry, "AcctSvcrRef", entry.bank_reference)
        self.bank_transaction_code(ntry, debit=debit, currency=entry.currency)
        details = self.sub(ntry, "NtryDtls") if entry.end_to_end_ids else None
        for i, e2e in enumerate(entry.end_to_end_ids):
            self.transaction(details, entry, e2e, debit=debit, first=i == 0)

    def status(self, ntry: etree._Element, status: str) -> None:
        if self.legacy:
            self.sub(ntry, "Sts", status)
        else:
            self.sub(self.sub(ntry, "Sts"), "Cd", status)

    def bank_transaction_code(self, ntry: etree._Element, *, debit: bool, currency: str) -> None:
        domain = self.sub(self.sub(ntry, "BkTxCd"), "Domn")
        self.sub(domain, "Cd", "PMNT")
        family = self.sub(domain, "Fmly")
        self.sub(family, "Cd", "ICDT" if debit else "RCDT")
        self.sub(family, "SubFmlyCd", "ESCT" if currency == "EUR" else "DMCT")

    def transaction(self, details: etree._Element | None, entry: StatementEntry, e2e: str, *,
                    debit: bool, first: bool) -> None:
        assert details is not None
        tx = self.sub(details, "TxDtls")
        refs = self.sub(tx, "Refs")
        if entry.bank_reference:
            self.sub(refs, "AcctSvcrRef", entry.bank_reference)
        self.sub(refs, "EndToEndId", e2e)
        if first and entry.counterparty_name:
            party = self.sub(self.sub(tx, "RltdPties"), "Cdtr" if debit else "Dbtr")
            self.sub(party if self.legacy else self.sub(party, "Pty"), "Nm", entry.counterparty_name)
        if first and entry.remittance:
            self.sub(self.sub(tx, "RmtInf"), "Ustrd", entry.remittance[:_USTRD_MAX])
        if first and entry.return_reason:
            self.sub(self.sub(self.sub(tx, "RtrInf"), "Rsn"), "Cd", entry.return_reason)
