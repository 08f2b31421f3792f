"""The column layout shared by the CSV and XLSX order files (docs/formats/orders-csv.md).

One order per row; the first row names the columns (any order, case and surrounding spaces
ignored). A header that is missing a required column, names one twice or names one this layout
does not know refuses the file as a whole: a misspelt column must not silently drop a field.
Cells are handed to `CreateOrder` as text, so the domain's checks report every problem of the
row; the only problems found here are the ones the text itself carries (a date that is not
YYYY-MM-DD, more cells than columns).

>>> header = check_header(["serial", "amount", "currency", "requested_execution_date", "payer_name",
...     "payer_iban", "payee_name", "payee_iban", "payee_country"])
>>> cmd = command_from_cells(dict(zip(header, ["S-1", "12.30", "EUR", "2030-01-10", "Acme",
...     "DE89370400440532013000", "Fournisseur", "FR1420041010050500013M02606", "FR"])), company_id="ACME")
>>> cmd.amount, cmd.payer.currency, cmd.source
('12.30', 'EUR', 'import')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from yinqi.domain.orders.commands import AccountInput, AddressInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.problems import DomainError, Problem

__all__ = ["COLUMNS", "FIELD_COLUMNS", "REQUIRED", "OrderFileInvalid", "check_header", "command_from_cells"]

REQUIRED = ("serial", "amount", "currency", "requested_execution_date", "payer_name", "payee_name",
            "payee_country")
OPTIONAL = ("payer_iban", "payer_account_number", "payer_cnaps", "payer_currency", "payer_bic",
            "payee_iban", "payee_account_number", "payee_cnaps", "payee_bic", "payee_street",
            "payee_building_number", "payee_postcode", "payee_town", "urgency", "purpose_code",
            "remittance_info", "end_to_end_id")
COLUMNS = REQUIRED + OPTIONAL

# How a CreateOrder field (as the domain's checks name it) is called in the file.
FIELD_COLUMNS: dict[str, str] = {
    "company_id": "--company", "payer.account": "payer_iban", "payer.account.iban": "payer_iban",
    "payer.account.number": "payer_account_number", "payer.account.cnaps": "payer_cnaps",
    "payer.name": "payer_name", "payer.currency": "payer_currency", "payer.bic": "payer_bic",
    "payee.account": "payee_iban", "payee.account.iban": "payee_iban",
    "payee.account.number": "payee_account_number", "payee.account.cnaps": "payee_cnaps",
    "payee.name": "payee_name", "payee.country": "payee_country", "payee.bic": "payee_bic",
    "payee.address.street": "payee_street", "payee.address.building_number": "payee_building_number",
    "payee.address.postcode": "payee_postcode", "payee.address.town": "payee_town",
}


class OrderFileInvalid(DomainError):
    """The file cannot be read as an order file at all; `problems` names each reason."""

    code = "ORDER_FILE_INVALID"

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{first.where}: {first.message}{more}", where=first.where, rule=first.rule,
                         value=first.value)
        self.problems = problems


def check_header(cells: Iterable[Any]) -> list[str]:
    """The normalised column names of a header row.

    Raises:
        OrderFileInvalid (ORDER_FILE_INVALID): a required column is missing, a column is unknown
            or repeated.
    """
    names = [str(c if c is not None else "").strip().lower() for c in cells]
    while names and not names[-1]:
        names.pop()
    problems = [Problem("COLUMN_UNKNOWN", f"unknown column {n!r}; the columns are: {', '.join(COLUMNS)}",
                        where="row 1", rule="known_columns", value=n) for n in names if n not in COLUMNS]
    problems += [Problem("COLUMN_REPEATED", f"column {n!r} appears more than once", where="row 1",
                         rule="unique_columns", value=n) for n in sorted({n for n in names if names.count(n) > 1})]
    problems += [Problem("COLUMN_MISSING", f"required column {n!r} is missing", where="row 1",
                         rule="required_columns", value=n) for n in REQUIRED if n not in names]
    if problems:
        raise OrderFileInvalid(problems)
    return names


def command_from_cells(cells: Mapping[str, str], *, company_id: str,
                       execution_date: date | None = None) -> CreateOrder:
    """The command for one row's text cells (absent cells are empty). `execution_date` is the
    already-parsed date (XLSX date cells); otherwise the text must be an ISO date."""
    def cell(name: str) -> str | None:
        return (cells.get(name) or "").strip() or None

    currency = cell("currency") or ""
    requested = execution_date or date.fromisoformat(cell("requested_execution_date") or "")
    address = AddressInput(street=cell("payee_street"), building_number=cell("payee_building_number"),
                           postcode=cell("payee_postcode"), town=cell("payee_town"))
    return CreateOrder(
        company_id=company_id, serial=cell("serial") or "", amount=cell("amount") or "", currency=currency,
        requested_execution_date=requested,
        payer=PayerInput(name=cell("payer_name") or "", currency=cell("payer_currency") or currency,
                         bic=cell("payer_bic"), account=_account(cell, "payer")),
        payee=PayeeInput(name=cell("payee_name") or "", country=cell("payee_country") or "", bic=cell("payee_bic"),
                         account=_account(cell, "payee"),
                         address=address if any((address.street, address.building_number, address.postcode,
                                                 address.town)) else None),
        urgency=cell("urgency") or "normal", purpose_code=cell("purpose_code"),
        remittance_info=cell("remittance_info"), end_to_end_id=cell("end_to_end_id"), source="import")


def _account(cell: Any, party: str) -> AccountInput:
    return AccountInput(iban=cell(f"{party}_iban"), number=cell(f"{party}_account_number"),
                        cnaps=cell(f"{party}_cnaps"))


def date_problem(raw: str) -> Problem:
    return Problem("DATE_INVALID", "requested_execution_date must be a date written YYYY-MM-DD",
                   where="requested_execution_date", rule="iso_date", value=raw[:40])
