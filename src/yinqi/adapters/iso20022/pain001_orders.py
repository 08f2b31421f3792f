"""An ERP's pain.001 (.03 or .09) as payment orders: one order per CdtTrfTxInf.

The file is read by `pain001_reader.read_pain001` first (XSD, NbOfTxs and CtrlSum at both levels,
currencies and decimals), so a file it refuses is refused whole, with every reason. Each
transaction then maps to a `CreateOrder`:

- serial: the EndToEndId when present and not "NOTPROVIDED", else `<MsgId>/<PmtInfId>/<n>` (n counts
  the transactions of the PmtInf from 1); the EndToEndId also travels on as the order's end-to-end id;
- payer: the PmtInf debtor (Dbtr/Nm, DbtrAcct IBAN or Othr/Id, DbtrAgt BIC); the account's currency is
  DbtrAcct/Ccy, or the transaction's currency when the file does not say;
- payee: Cdtr/Nm, CdtrAcct (IBAN, or Othr/Id with the CdtrAgt's clearing member id as CNAPS code),
  CdtrAgt BIC; country: Cdtr/PstlAdr/Ctry, else the country of the creditor's IBAN (the account's
  own country code, not a guess), else the problem "payee.country required";
- urgency: InstrPrty HIGH is urgent; amount: InstdAmt, or EqvtAmt/Amt when its CcyOfTrf is the
  same currency (nothing to convert). An EqvtAmt in another currency asks for a conversion the hub
  does not do: the row is flagged, never converted;
- a transaction without a creditor account (a cheque, PmtMtd CHK) is flagged: the hub only pays
  by credit transfer to an account.

Nothing is fixed silently: whatever does not map cleanly is a problem of that row, whose `where`
is the transaction's XML path (`/Document/CstmrCdtTrfInitn/PmtInf[2]/CdtTrfTxInf[3]`) and whose
field names the element (`FIELD_ELEMENTS`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from yinqi.adapters.iso20022 import safexml
from yinqi.adapters.iso20022.pain001_reader import read_pain001
from yinqi.adapters.iso20022.xmlpath import Doc
from yinqi.application.import_report import Row
from yinqi.domain.bank_messages import CreditTransfer, CreditTransferMessage, PaymentInfo
from yinqi.domain.orders.commands import AccountInput, AddressInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.problems import Problem

__all__ = ["FIELD_ELEMENTS", "Pain001Orders", "read_pain001_orders"]

NOT_PROVIDED = "NOTPROVIDED"

# CreateOrder field (as the domain's checks name it) -> the element it came from.
FIELD_ELEMENTS: dict[str, str] = {
    "serial": "PmtId/EndToEndId", "end_to_end_id": "PmtId/EndToEndId", "amount": "Amt/InstdAmt",
    "currency": "Amt/InstdAmt/@Ccy", "requested_execution_date": "../ReqdExctnDt", "urgency": "../PmtTpInf/InstrPrty",
    "payer.name": "../Dbtr/Nm", "payer.account": "../DbtrAcct/Id", "payer.account.iban": "../DbtrAcct/Id/IBAN",
    "payer.account.number": "../DbtrAcct/Id/Othr/Id", "payer.account.cnaps": "../DbtrAgt/FinInstnId/ClrSysMmbId",
    "payer.currency": "../DbtrAcct/Ccy", "payer.bic": "../DbtrAgt/FinInstnId/BICFI",
    "payee.name": "Cdtr/Nm", "payee.account": "CdtrAcct/Id", "payee.account.iban": "CdtrAcct/Id/IBAN",
    "payee.account.number": "CdtrAcct/Id/Othr/Id", "payee.account.cnaps": "CdtrAgt/FinInstnId/ClrSysMmbId/MmbId",
    "payee.bic": "CdtrAgt/FinInstnId/BICFI", "payee.country": "Cdtr/PstlAdr/Ctry",
    "payee.address.street": "Cdtr/PstlAdr/StrtNm", "payee.address.building_number": "Cdtr/PstlAdr/BldgNb",
    "payee.address.postcode": "Cdtr/PstlAdr/PstCd", "payee.address.town": "Cdtr/PstlAdr/TwnNm",
    "purpose_code": "Purp/Cd", "remittance_info": "RmtInf/Ustrd", "company_id": "--company",
}


@dataclass(frozen=True, slots=True)
class Pain001Orders:
    message: CreditTransferMessage
    company_id: str
    foreign_equivalents: frozenset[tuple[int, int]]  # (PmtInf, CdtTrfTxInf) 1-based: EqvtAmt in another currency

    @property
    def message_id(self) -> str:
        return self.message.message_id

    @property
    def total(self) -> int:
        return sum(len(p.transfers) for p in self.message.payment_infos)

    def rows(self) -> Iterator[Row]:
        infos = self.message.payment_infos
        for i, info in enumerate(infos, start=1):
            for j, tx in enumerate(info.transfers, start=1):
                where = (f"/Document/CstmrCdtTrfInitn/PmtInf{_nth(i, len(infos))}"
                         f"/CdtTrfTxInf{_nth(j, len(info.transfers))}")
                yield where, self.row(info, tx, j, foreign=(i, j) in self.foreign_equivalents)

    def row(self, info: PaymentInfo, tx: CreditTransfer, n: int, *, foreign: bool) -> CreateOrder | list[Problem]:
        problems = _flags(tx, foreign=foreign)
        if problems:
            return problems
        e2e = tx.end_to_end_id.strip()
        given = e2e if e2e and e2e != NOT_PROVIDED else None
        account, currency = info.debtor_account, tx.amount.currency
        other_id = None if account.iban else account.other_id
        return CreateOrder(
            company_id=self.company_id,
            serial=given or f"{self.message.message_id}/{info.payment_info_id}/{n}",
            amount=tx.amount.format(), currency=currency, requested_execution_date=info.requested_execution_date,
            payer=PayerInput(name=info.debtor_name, currency=account.currency or currency, bic=info.debtor_bic,
                             account=AccountInput(iban=account.iban, number=other_id)),
            payee=PayeeInput(name=tx.creditor_name, bic=tx.creditor_bic, country=_country(tx),
                             account=_payee_account(tx), address=_address(tx)),
            urgency="urgent" if info.instruction_priority == "HIGH" else "normal",
            purpose_code=tx.purpose_code, remittance_info=tx.remittance, end_to_end_id=given, source="import")


def read_pain001_orders(data: bytes, *, company_id: str, source: str = "pain.001") -> Pain001Orders:
    """Read and check a pain.001 and prepare its orders.

    Raises:
        XmlRejected (XML_REJECTED), SchemaInvalid (SCHEMA_INVALID), Pain001Invalid (PAIN001_INVALID):
            the file as a whole, with every problem (a wrong NbOfTxs or CtrlSum names both numbers).
    """
    message = read_pain001(data, source=source)
    foreign = _foreign_equivalents(data, source) if b"EqvtAmt" in data else frozenset()
    return Pain001Orders(message=message, company_id=company_id, foreign_equivalents=foreign)


def _nth(index: int, count: int) -> str:
    return f"[{index}]" if count > 1 else ""


def _flags(tx: CreditTransfer, *, foreign: bool) -> list[Problem]:
    problems = []
    if foreign:
        problems.append(Problem("EQUIVALENT_AMOUNT_UNSUPPORTED", "EqvtAmt asks the bank to convert into another "
                                "currency (CcyOfTrf); the hub pays only in the account's currency",
                                where="amount", rule="no_currency_conversion", value=tx.amount.format()))
    if not (tx.creditor_account.iban or tx.creditor_account.other_id):
        problems.append(Problem("CREDITOR_ACCOUNT_MISSING", "the transaction has no CdtrAcct: the hub pays by "
                                "credit transfer to an account (cheques, PmtMtd CHK, are not supported)",
                                where="payee.account", rule="credit_transfer_to_account"))
    return problems


def _payee_account(tx: CreditTransfer) -> AccountInput:
    account = tx.creditor_account
    if account.iban:
        return AccountInput(iban=account.iban)
    return AccountInput(number=account.other_id, cnaps=tx.creditor_bank_code)


def _country(tx: CreditTransfer) -> str:
    address = tx.creditor_address
    if address is not None and address.country:
        return address.country
    iban = tx.creditor_account.iban
    return iban[:2].upper() if iban else ""


def _address(tx: CreditTransfer) -> AddressInput | None:
    a = tx.creditor_address
    if a is None or not any((a.street, a.building_number, a.postcode, a.town)):
        return None
    return AddressInput(street=a.street, building_number=a.building_number, postcode=a.postcode, town=a.town)


def _foreign_equivalents(data: bytes, source: str) -> frozenset[tuple[int, int]]:
    """(PmtInf, CdtTrfTxInf) positions whose EqvtAmt converts into another currency. Only run when
    the bytes mention EqvtAmt at all, so ordinary files are parsed once."""
    root = safexml.parse_bytes(data, source=source)
    doc = Doc(root)
    found: set[tuple[int, int]] = set()
    for i, info in enumerate(doc.findall(root, "CstmrCdtTrfInitn/PmtInf"), start=1):
        for j, tx in enumerate(doc.findall(info, "CdtTrfTxInf"), start=1):
            if _converts(doc, tx):
                found.add((i, j))
    return frozenset(found)


def _converts(doc: Doc, tx: etree._Element) -> bool:
    amount = doc.find(tx, "Amt/EqvtAmt/Amt")
    return amount is not None and (amount.get("Ccy") or "") != (doc.text(tx, "Amt/EqvtAmt/CcyOfTrf", strip=True) or "")
