"""The stable JSON shape of a read statement file (`yinqi statements parse`, API responses).

This is a contract: keys are always present (null where a value is absent), amounts are signed
decimal strings exactly as the bank wrote them (credit +, debit -, every decimal kept), dates are
ISO `YYYY-MM-DD`. Adding a key is a contract change; renaming or removing one breaks clients.

>>> from decimal import Decimal
>>> from yinqi.adapters.iso20022.model import AccountId, Statement, StatementFile
>>> sf = StatementFile("camt.053.001.08", "M1", (Statement("S1", AccountId(iban="X"), None, None, ()),))
>>> to_json_dict(sf)["statements"][0]["account"]
{'iban': 'X', 'other_id': None, 'currency': None}
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from yinqi.adapters.iso20022.model import BalanceAmount, Statement, StatementEntry, StatementFile


def to_json_dict(sf: StatementFile) -> dict[str, Any]:
    """Plain dict/list/str/None values only, ready for `json.dumps`."""
    return {"format": sf.format, "statements": [_statement(s) for s in sf.statements]}


def _statement(st: Statement) -> dict[str, Any]:
    return {
        "id": st.id,
        "account": {"iban": st.account.iban, "other_id": st.account.other_id,
                    "currency": st.account.currency},
        "opening_balance": _balance(st.opening_balance),
        "closing_balance": _balance(st.closing_balance),
        "entries": [_entry(e) for e in st.entries],
        "warnings": list(st.warnings),
    }


def _balance(b: BalanceAmount | None) -> dict[str, Any] | None:
    if b is None:
        return None
    return {"amount": _amount(b.amount), "currency": b.currency, "date": _date(b.date)}


def _entry(e: StatementEntry) -> dict[str, Any]:
    return {
        "amount": _amount(e.amount),
        "currency": e.currency,
        "status": e.status,
        "booking_date": _date(e.booking_date),
        "value_date": _date(e.value_date),
        "bank_reference": e.bank_reference,
        "end_to_end_ids": list(e.end_to_end_ids),
        "counterparty_name": e.counterparty_name,
        "remittance": e.remittance,
    }


def _amount(value: Decimal) -> str:
    """Fixed-point, never exponent notation: Decimal('1E+3') -> '1000', Decimal('-0.50') -> '-0.50'."""
    return f"{value:f}"


def _date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


__all__ = ["to_json_dict"]
