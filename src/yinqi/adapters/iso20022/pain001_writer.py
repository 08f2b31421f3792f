"""Write a pain.001 (customer credit transfer initiation), version .03 or .09. Strict.

What it guarantees: the returned bytes are UTF-8, valid against the official XSD of the version
(validated before they are returned), carry `NbOfTxs` and `CtrlSum` computed from the content at
group and PmtInf level, format every amount with exactly its currency's exponent (JPY `1000`,
EUR `12.50`, KWD `1.250`), and are byte-identical for equal input (no clock, no random ids).
`read_pain001(write_pain001(x, version=v)) == x` for every message the writer accepts (for .03,
which has no UETR element, with `uetr` left out).

Design: the document is emitted from string templates rather than an lxml element tree, then
parsed once by lxml and validated by libxml2. Building a tree element by element costs more
than the XSD validation itself; templates keep generation well below the validation cost, so
generate + validate runs at tens of thousands of transactions per second (BENCHMARKS B4).
Text is escaped here, and characters XML 1.0 cannot carry are refused, not dropped.

Version differences handled: agent BIC element (`BIC` in .03, `BICFI` in .09), requested
execution date (`ReqdExctnDt` text in .03, `ReqdExctnDt/Dt` in .09), `UETR` (.09 only).
Chinese domestic payees: `CdtrAcct/Id/Othr/Id` holds the account number and the 12-digit CNAPS
bank code goes to `CdtrAgt/FinInstnId/ClrSysMmbId` with `ClrSysId/Cd` `CNAPS`.
A debtor agent without a BIC is written as `Othr/Id` `NOTPROVIDED` (EPC convention).

Raises (all `DomainError`): Pain001Unwritable (PAIN001_UNWRITABLE) for input the writer refuses
before writing; SchemaInvalid (SCHEMA_INVALID) when the output breaks the XSD.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from lxml import etree

from yinqi.adapters.iso20022.model import (
    AccountId,
    CreditTransfer,
    CreditTransferMessage,
    PaymentInfo,
    PostalAddress,
)
from yinqi.adapters.iso20022.schema import NS_PREFIX
from yinqi.adapters.iso20022.xmlpath import assert_schema_valid
from yinqi.domain.currency import EXPONENTS
from yinqi.domain.problems import DomainError

VERSIONS = ("pain.001.001.03", "pain.001.001.09")
REMITTANCE_MAX = 140
_SEPA_TEXT = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]*")  # EPC "Latin character set"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CNAPS = re.compile(r"[0-9]{12}")
# No huge_tree: it slows libxml2 by half and is not needed (it lifts per-node limits, not size).
_OWN_OUTPUT = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, collect_ids=False)


class Pain001Unwritable(DomainError):
    """The message cannot be written as asked: the writer refuses rather than alter it."""

    code = "PAIN001_UNWRITABLE"


def write_pain001(msg: CreditTransferMessage, *, version: str = "pain.001.001.09") -> bytes:
    """Render `msg` as a pain.001 document of `version`, validated against the official XSD.

    Raises:
        Pain001Unwritable (PAIN001_UNWRITABLE): unknown version, no payments, a non-positive
            amount, remittance over 140 characters (never truncated), text XML cannot carry,
            non-Latin text in a SEPA payment, a bank code that is not 12 CNAPS digits.
        SchemaInvalid (SCHEMA_INVALID): the rendered document breaks the XSD (e.g. a field too
            long or a malformed IBAN/BIC); names each failing element path.
    """
    if version not in VERSIONS:
        raise Pain001Unwritable(f"cannot write {version!r}; supported: {', '.join(VERSIONS)}",
                                rule="supported_version", value=version)
    _check(msg)
    try:
        data = _Render(version).document(msg).encode("utf-8")
    except (AttributeError, TypeError) as exc:  # a field of the wrong type (e.g. a number as a name)
        raise Pain001Unwritable(f"a message field has the wrong type: {exc}", rule="text_type") from None
    assert_schema_valid(etree.fromstring(data, parser=_OWN_OUTPUT))
    return data


# --- checks the XSD cannot make ---------------------------------------------------------------
def _check(msg: CreditTransferMessage) -> None:
    if not msg.payment_infos or any(not p.transfers for p in msg.payment_infos):
        raise Pain001Unwritable("a pain.001 needs at least one PmtInf, each with a transfer",
                                where="PmtInf", rule="not_empty")
    for i, pmt in enumerate(msg.payment_infos, 1):
        _check_account(pmt.debtor_account, f"PmtInf[{i}]/DbtrAcct")
        for j, tx in enumerate(pmt.transfers, 1):
            where = f"PmtInf[{i}]/CdtTrfTxInf[{j}]"
            _check_account(tx.creditor_account, f"{where}/CdtrAcct")
            if tx.amount.minor <= 0:
                raise Pain001Unwritable(f"{where}: amount must be positive, got {tx.amount}",
                                        where=where, rule="positive_amount", value=tx.amount)
            if tx.remittance is not None and len(tx.remittance) > REMITTANCE_MAX:
                raise Pain001Unwritable(
                    f"{where}/RmtInf/Ustrd: remittance is {len(tx.remittance)} characters, the "
                    f"limit is {REMITTANCE_MAX} (never truncated)", where=f"{where}/RmtInf/Ustrd",
                    rule="max_140", value=len(tx.remittance))
            if tx.creditor_bank_code is not None and not _CNAPS.fullmatch(tx.creditor_bank_code):
                raise Pain001Unwritable(f"{where}/CdtrAgt: CNAPS bank code must be 12 digits",
                                        where=f"{where}/CdtrAgt", rule="cnaps_code",
                                        value=tx.creditor_bank_code)
        if pmt.service_level == "SEPA":
            _check_sepa_text(pmt, f"PmtInf[{i}]")


def _check_account(acct: AccountId, where: str) -> None:
    if acct.iban is not None and acct.other_id is not None:
        raise Pain001Unwritable(f"{where}: an account is an IBAN or another id, not both",
                                where=where, rule="one_account_id", value=acct.iban)


def _check_sepa_text(pmt: PaymentInfo, where: str) -> None:
    fields: list[tuple[str, str | None]] = [("Dbtr/Nm", pmt.debtor_name), ("PmtInfId", pmt.payment_info_id)]
    fields += _address_fields("Dbtr/PstlAdr", pmt.debtor_address)
    for j, tx in enumerate(pmt.transfers, 1):
        at = f"CdtTrfTxInf[{j}]/"
        fields += [(at + "Cdtr/Nm", tx.creditor_name), (at + "RmtInf/Ustrd", tx.remittance),
                   (at + "PmtId/EndToEndId", tx.end_to_end_id), (at + "PmtId/InstrId", tx.instruction_id)]
        fields += _address_fields(at + "Cdtr/PstlAdr", tx.creditor_address)
    for name, value in fields:
        if value and not _SEPA_TEXT.fullmatch(value):
            raise Pain001Unwritable(f"{where}/{name}: SEPA allows only the Latin character set, "
                                    f"got {value!r}", where=f"{where}/{name}", rule="sepa_charset",
                                    value=value)


def _address_fields(at: str, adr: PostalAddress | None) -> list[tuple[str, str | None]]:
    if adr is None:
        return []
    return [(f"{at}/StrtNm", adr.street), (f"{at}/BldgNb", adr.building_number),
            (f"{at}/PstCd", adr.postcode), (f"{at}/TwnNm", adr.town)] + \
           [(f"{at}/AdrLine", line) for line in adr.lines]


# --- rendering ----------------------------------------------------------------------------------
def _esc(value: str) -> str:
    """Escape element text. ASCII-printable text is the fast path (it is most text); a non-str
    value raises AttributeError here, which `write_pain001` turns into a typed error."""
    if not (value.isascii() and value.isprintable()):
        return _esc_unusual(value)
    if "&" in value or "<" in value or ">" in value:
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


def _esc_unusual(value: str) -> str:
    bad = _NOT_XML.search(value)
    if bad:
        raise Pain001Unwritable(f"character U+{ord(bad.group()):04X} cannot be carried in XML",
                                rule="xml_char", value=repr(value))
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("\r", "&#13;")  # a raw CR would be normalised away by any parser


def _amounts(pmt: PaymentInfo) -> tuple[list[str], Decimal]:
    """Each transfer's amount text with exactly its currency's decimals, and the PmtInf CtrlSum
    (ISO: the plain sum of amounts, whatever their currencies), summed exactly in minor units."""
    texts: list[str] = []
    minor_by_exponent: dict[int, int] = {}
    for tx in pmt.transfers:
        exponent = EXPONENTS[tx.amount.currency]
        texts.append(_decimal_text(tx.amount.minor, exponent))
        minor_by_exponent[exponent] = minor_by_exponent.get(exponent, 0) + tx.amount.minor
    total = sum((Decimal(m).scaleb(-e) for e, m in minor_by_exponent.items()), Decimal(0))
    return texts, total


def _decimal_text(minor: int, exponent: int) -> str:
    """Minor units as a decimal string with exactly `exponent` places.

    >>> _decimal_text(5, 2), _decimal_text(1000, 0), _decimal_text(1250, 3)
    ('0.05', '1000', '1.250')
    """
    if exponent == 0:
        return str(minor)
    digits = str(minor).rjust(exponent + 1, "0")
    return f"{digits[:-exponent]}.{digits[-exponent:]}"


def _opt(tag: str, value: str | None) -> str:
    return "" if value is None else f"<{tag}>{_esc(value)}</{tag}>"


def _datetime(value: datetime) -> str:
    """Aware times are written in UTC with 'Z' (same instant, one spelling); naive as given."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.isoformat()
    try:
        return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
    except OverflowError:
        raise Pain001Unwritable(f"creation time {value} is out of range in UTC", where="GrpHdr/CreDtTm",
                                rule="datetime_range", value=value) from None


class _Render:
    """Emits one document as compact text (one line per transaction), joined once at the end.

    Plain string building on purpose: see the module docstring (speed); the XSD check after
    rendering is what proves the structure right.
    """

    def __init__(self, version: str) -> None:
        self.version = version
        self.v09 = version.endswith(".09")
        self.bic_tag = "BICFI" if self.v09 else "BIC"

    def document(self, msg: CreditTransferMessage) -> str:
        amounts = [_amounts(p) for p in msg.payment_infos]
        count = sum(len(p.transfers) for p in msg.payment_infos)
        total = sum((a[1] for a in amounts), Decimal(0))
        out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NS_PREFIX}{self.version}">'
               f"<CstmrCdtTrfInitn>\n<GrpHdr><MsgId>{_esc(msg.message_id)}</MsgId>"
               f"<CreDtTm>{_datetime(msg.created_at)}</CreDtTm><NbOfTxs>{count}</NbOfTxs>"
               f"<CtrlSum>{total:f}</CtrlSum><InitgPty><Nm>{_esc(msg.initiating_party)}</Nm>"
               "</InitgPty></GrpHdr>\n"]
        for i, (pmt, (texts, pmt_total)) in enumerate(zip(msg.payment_infos, amounts, strict=True), 1):
            self.payment_info(out, pmt, i, texts, pmt_total)
        out.append("</CstmrCdtTrfInitn></Document>\n")
        return "".join(out)

    def payment_info(self, out: list[str], pmt: PaymentInfo, index: int, amounts: list[str],
                     total: Decimal) -> None:
        tp = ""
        if pmt.instruction_priority is not None or pmt.service_level is not None:
            svc = "" if pmt.service_level is None else f"<SvcLvl>{_opt('Cd', pmt.service_level)}</SvcLvl>"
            tp = f"<PmtTpInf>{_opt('InstrPrty', pmt.instruction_priority)}{svc}</PmtTpInf>"
        day = pmt.requested_execution_date.isoformat()
        out.append(
            f"<PmtInf><PmtInfId>{_esc(pmt.payment_info_id)}</PmtInfId><PmtMtd>TRF</PmtMtd>"
            f"<BtchBookg>{'true' if pmt.batch_booking else 'false'}</BtchBookg>"
            f"<NbOfTxs>{len(pmt.transfers)}</NbOfTxs>"
            f"<CtrlSum>{total:f}</CtrlSum>{tp}"
            f"<ReqdExctnDt>{f'<Dt>{day}</Dt>' if self.v09 else day}</ReqdExctnDt>"
            f"{self.party('Dbtr', pmt.debtor_name, pmt.debtor_address)}"
            f"{self.account('DbtrAcct', pmt.debtor_account)}"
            f"<DbtrAgt>{self.agent(pmt.debtor_bic, None, required=True)}</DbtrAgt>"
            f"{'<ChrgBr>SLEV</ChrgBr>' if pmt.service_level == 'SEPA' else ''}\n")
        for j, (tx, amount) in enumerate(zip(pmt.transfers, amounts, strict=True), 1):
            try:
                out.append(self.transfer(tx, amount))
            except Pain001Unwritable as exc:
                where = f"PmtInf[{index}]/CdtTrfTxInf[{j}]"
                raise Pain001Unwritable(f"{where}: {exc.message}", where=where, rule=exc.rule,
                                        value=exc.value) from None
        out.append("</PmtInf>\n")

    def transfer(self, tx: CreditTransfer, amount: str) -> str:
        agent = ""
        if tx.creditor_bic is not None or tx.creditor_bank_code is not None:
            agent = f"<CdtrAgt>{self.agent(tx.creditor_bic, tx.creditor_bank_code)}</CdtrAgt>"
        ca = tx.creditor_account
        no_account = ca.iban is None and ca.other_id is None and ca.currency is None
        acct = "" if no_account else self.account("CdtrAcct", ca)
        purp = "" if tx.purpose_code is None else f"<Purp><Cd>{_esc(tx.purpose_code)}</Cd></Purp>"
        rmt = "" if tx.remittance is None else f"<RmtInf><Ustrd>{_esc(tx.remittance)}</Ustrd></RmtInf>"
        instr = f"<InstrId>{_esc(tx.instruction_id)}</InstrId>" if tx.instruction_id else ""
        uetr = _opt("UETR", tx.uetr) if self.v09 else ""
        return (f"<CdtTrfTxInf><PmtId>{instr}<EndToEndId>{_esc(tx.end_to_end_id)}</EndToEndId>{uetr}"
                f'</PmtId><Amt><InstdAmt Ccy="{tx.amount.currency}">{amount}</InstdAmt>'
                f"</Amt>{agent}{self.party('Cdtr', tx.creditor_name, tx.creditor_address)}{acct}"
                f"{purp}{rmt}</CdtTrfTxInf>\n")

    # --- shared parts --------------------------------------------------------------------------
    @staticmethod
    def party(tag: str, name: str, adr: PostalAddress | None) -> str:
        if adr is None:
            return f"<{tag}><Nm>{_esc(name)}</Nm></{tag}>"
        if (adr.street is None and adr.building_number is None and adr.postcode is None
                and adr.town is None and adr.country is None and not adr.lines):
            return f"<{tag}><Nm>{_esc(name)}</Nm><PstlAdr/></{tag}>"
        lines = "".join(f"<AdrLine>{_esc(line)}</AdrLine>" for line in adr.lines)
        return (f"<{tag}><Nm>{_esc(name)}</Nm><PstlAdr>{_opt('StrtNm', adr.street)}"
                f"{_opt('BldgNb', adr.building_number)}{_opt('PstCd', adr.postcode)}"
                f"{_opt('TwnNm', adr.town)}{_opt('Ctry', adr.country)}{lines}</PstlAdr></{tag}>")

    @staticmethod
    def account(tag: str, acct: AccountId) -> str:
        ident = (f"<IBAN>{_esc(acct.iban)}</IBAN>" if acct.iban is not None
                 else f"<Othr><Id>{_esc(acct.other_id or '')}</Id></Othr>")
        return f"<{tag}><Id>{ident}</Id>{_opt('Ccy', acct.currency)}</{tag}>"

    def agent(self, bic: str | None, bank_code: str | None, *, required: bool = False) -> str:
        clr = ""
        if bank_code is not None:
            clr = (f"<ClrSysMmbId><ClrSysId><Cd>CNAPS</Cd></ClrSysId><MmbId>{_esc(bank_code)}</MmbId>"
                   "</ClrSysMmbId>")
        othr = ""
        if required and bic is None and bank_code is None:
            othr = "<Othr><Id>NOTPROVIDED</Id></Othr>"
        return f"<FinInstnId>{_opt(self.bic_tag, bic)}{clr}{othr}</FinInstnId>"


__all__ = ["REMITTANCE_MAX", "VERSIONS", "Pain001Unwritable", "write_pain001"]
