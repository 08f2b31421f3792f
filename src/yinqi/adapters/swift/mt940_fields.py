"""Tag-level reading of SWIFT MT940/MT942 text: fields, balances and statement lines.

What it guarantees: every function here is total. Given any text it returns a value or None; it
never raises (the reader decides what an unreadable field means). Nothing is corrected: amounts
keep every decimal as written, references keep their spaces.

Design: one pass over the lines. A line that starts with `:NN:` or `:NNa:` opens a field; any
other line continues the open field (SWIFT wraps at 65 characters, banks wrap where they like).
The SWIFT envelope (`{1:…}{2:…}{4:` … `-}` `{5:…}`) and the `-` separator that banks put between
messages are recognised and dropped; empty lines are dropped.

>>> [f.tag for f in split_fields("{1:F01X}{2:O940}{4:\\n:20:REF\\n:25:ACC\\n-}")[0]]
['20', '25']
>>> parse_balance("C100318EUR380115,")
Balance(mark='C', date_text='100318', date=datetime.date(2010, 3, 18), currency='EUR', amount=Decimal('380115'))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

_TAG = re.compile(r":(\d{2}[A-Z]?):")
_BALANCE = re.compile(r"(?P<mark>[CD])(?P<date>\d{6})(?P<ccy>[A-Z]{3})(?P<amount>\d[\d,.]*)")
_LINE = re.compile(
    r"(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?(?P<amount>\d[\d,.]*)"
    r"(?P<type>[NFS][A-Z0-9]{3})(?P<ref>.*?)(?://(?P<bankref>.*))?")
_AMOUNT = re.compile(r"\d{1,15}(?:[,.]\d*)?")
MAX_AMOUNT_DIGITS = 18  # SWIFT allows 15 characters; tolerate a little more, never unbounded


@dataclass(frozen=True, slots=True)
class Field:
    tag: str  # "20", "60F", "61" ...
    value: str  # continuation lines joined with "\n", right-stripped
    line: int  # 1-based line of the tag in the file


@dataclass(frozen=True, slots=True)
class Balance:
    mark: str  # C or D
    date_text: str  # YYMMDD as written
    date: date | None
    currency: str
    amount: Decimal  # signed: D negative


@dataclass(frozen=True, slots=True)
class StatementLine:
    value_date_text: str
    value_date: date | None
    entry_date: date | None  # MMDD, year taken from the value date (closest year)
    mark: str  # C, D, RC (reversal of credit, a debit), RD (reversal of debit, a credit)
    funds_code: str | None
    amount: Decimal  # signed: D and RC negative
    type_code: str  # e.g. NTRF, NMSC, FCHK
    customer_reference: str
    bank_reference: str | None
    supplementary: str  # the second line of :61:, if any


def split_fields(text: str) -> tuple[list[Field], list[str]]:
    """(fields, notes): fields in file order; notes name text that belongs to no field."""
    fields: list[Field] = []
    notes: list[str] = []
    tag = ""
    start = 0
    parts: list[str] = []
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip()
        if "{" in line[:1] or line.startswith("-}"):
            line = line.split("{4:", 1)[1] if "{4:" in line else ""
        if not line or line == "-":
            if line == "-" and tag:
                fields.append(Field(tag, "\n".join(parts), start))
                tag = ""
            continue
        m = _TAG.match(line)
        if m:
            if tag:
                fields.append(Field(tag, "\n".join(parts), start))
            tag, start, parts = m.group(1), number, [line[m.end():]]
        elif tag:
            parts.append(line)
        elif len(notes) < 10:
            notes.append(f"line {number}: text outside any field ignored: {line[:40]!r}")
    if tag:
        fields.append(Field(tag, "\n".join(parts), start))
    return fields, notes


def parse_amount(text: str, mark: str) -> Decimal | None:
    """'380115,12' -> 380115.12; sign from the mark (D and RC negative); a zero is never '-0'."""
    if not _AMOUNT.fullmatch(text) or len(text) > MAX_AMOUNT_DIGITS:
        return None
    value = Decimal(text.replace(",", "."))
    return -value if mark in ("D", "RC") and value != 0 else value


def parse_date(yymmdd: str) -> date | None:
    """Two-digit years: 70-99 -> 19xx, 00-69 -> 20xx (the POSIX window). Invalid -> None."""
    if len(yymmdd) != 6 or not yymmdd.isdigit():
        return None
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    try:
        return date(1900 + yy if yy >= 70 else 2000 + yy, mm, dd)
    except ValueError:
        return None


def entry_date_near(mmdd: str, value_date: date | None) -> date | None:
    """The entry (booking) date MMDD in the year that puts it closest to the value date."""
    if value_date is None or len(mmdd) != 4:
        return None
    month = int(mmdd[:2])
    if abs(month - value_date.month) < 6:  # fast path: same year is the closest (no year boundary near)
        try:
            return date(value_date.year, month, int(mmdd[2:]))
        except ValueError:
            pass
    candidates = []
    for year in (value_date.year - 1, value_date.year, value_date.year + 1):
        try:
            candidates.append(date(year, int(mmdd[:2]), int(mmdd[2:])))
        except ValueError:
            continue
    return min(candidates, key=lambda d: abs((d - value_date).days), default=None)


def parse_balance(value: str) -> Balance | None:
    """:60F: / :60M: / :62F: / :62M: / :64: / :65: / :34F:-less balance text, first line."""
    m = _BALANCE.fullmatch(value.split("\n", 1)[0].strip())
    if m is None:
        return None
    amount = parse_amount(m["amount"], m["mark"])
    if amount is None:
        return None
    return Balance(m["mark"], m["date"], parse_date(m["date"]), m["ccy"], amount)


def parse_statement_line(value: str) -> StatementLine | None:
    """One :61: field: first line is the booking, an optional second line the supplementary details."""
    first, _, rest = value.partition("\n")
    m = _LINE.fullmatch(first.strip())
    if m is None:
        return None
    amount = parse_amount(m["amount"], m["mark"])
    if amount is None:
        return None
    value_date = parse_date(m["value"])
    bank_ref = m["bankref"]
    return StatementLine(
        value_date_text=m["value"], value_date=value_date,
        entry_date=entry_date_near(m["entry"], value_date) if m["entry"] else None,
        mark=m["mark"], funds_code=m["funds"], amount=amount, type_code=m["type"],
        customer_reference=m["ref"], bank_reference=bank_ref.strip() or None if bank_ref is not None else None,
        supplementary=rest.replace("\n", " ").strip())


__all__ = ["Balance", "Field", "StatementLine", "entry_date_near", "parse_amount", "parse_balance",
           "parse_date", "parse_statement_line", "split_fields"]
