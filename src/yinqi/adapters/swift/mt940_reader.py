"""Read SWIFT MT940 (customer statement) and MT942 (interim report) files into `StatementFile`.

Tolerant by design, like the camt reader: real files vary by bank (envelopes or none, `-`
separators, blank lines, tags in odd places, Latin-1 text, wrapped :86: fields). What is readable
is read; what is odd becomes a warning on the statement, never a silent fix:

* a statement starts at each `:20:`; fields before the first `:20:` are ignored with a warning;
* `:25:` repeated -> the last one is the account (as tag-level readers do) and `account_repeated`;
* an unreadable balance (`:60a:`, `:62a:`, `:64:`, `:65:`) -> `balance_unreadable`, skipped;
* opening + lines != closing -> `balance_break: …` (same text as camt); `:60a:` differing from the
  previous `:62a:` of the same account in the file -> `continuity_gap: …`; `:90D:`/`:90C:` counts
  that disagree with the lines -> `entry_count: …`; an unknown tag -> `unknown_tag: …`;
* a reversal (`RC`, `RD`) -> `reversal: …`; the sign already states the booking direction
  (RC is a debit, RD a credit); an unknown currency or too many decimals as in camt.

Refused (Mt940Invalid, MT940_INVALID; nothing returned): empty or binary input, text without any
MT940 field, a file without a `:20:` statement (a fragment), and a `:61:` line whose date, sign or
amount cannot be read - money of unknown value or direction cannot be read tolerantly. The error
names the line and the tag.

Mapping: `Statement.id` is `:20:` plus `/` and `:28C:` plus `/` and the closing (else opening)
date as YYMMDD, because banks reuse :20: every day ("TELEREPORTING", "STARTUMS") while the store
deduplicates on account + id. `sequence_number` is :28C: as written. The account is an IBAN when
:25: looks like one, else `other_id` exactly as written; its currency is the opening balance's.
Entries: booking date from the :61: entry date (None when the bank omits it), status BOOK,
bank reference after `//`, and from :86: the end-to-end id, counterparty name and remittance.

Raises (all `DomainError`): Mt940Invalid (MT940_INVALID).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from yinqi.adapters.swift.mt940_details import Details, parse_details
from yinqi.adapters.swift.mt940_fields import (
    Balance,
    Field,
    StatementLine,
    parse_balance,
    parse_statement_line,
    split_fields,
)
from yinqi.domain.bank_messages import AccountId, BalanceAmount, Statement, StatementEntry, StatementFile
from yinqi.domain.currency import EXPONENTS
from yinqi.domain.problems import DomainError

MAX_BYTES_DEFAULT = 50 * 1024 * 1024
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_942_TAGS = frozenset({"34F", "13D", "90D", "90C"})
_KNOWN = frozenset({"20", "21", "25", "25P", "28", "28C", "60F", "60M", "61", "86", "62F", "62M", "64", "65",
                    "34F", "13", "13D", "90D", "90C"})


class Mt940Invalid(DomainError):
    code = "MT940_INVALID"


@dataclass
class Mt940Line:
    line: StatementLine
    details: Details | None = None
    at_line: int = 0


@dataclass
class Mt940Message:
    """One :20: block as written (tag level); `to_statement` maps it to the domain model."""

    reference: str
    at_line: int
    account: str | None = None
    related_reference: str | None = None
    statement_number: str | None = None
    opening: Balance | None = None
    opening_tag: str | None = None
    closing: Balance | None = None
    closing_tag: str | None = None
    closing_available: Balance | None = None
    forward_available: list[Balance] = field(default_factory=list)
    lines: list[Mt940Line] = field(default_factory=list)
    info: list[str] = field(default_factory=list)  # statement-level :86:
    counts: dict[str, str] = field(default_factory=dict)  # 90D / 90C as written
    interim: bool = False  # carries MT942-only tags
    floor_currency: str | None = None  # MT942 :34F: names the currency when there are no balances
    warnings: list[str] = field(default_factory=list)

    @property
    def lines_sum(self) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = 80
            return sum((ln.line.amount for ln in self.lines), Decimal(0))


def decode(data: bytes) -> tuple[str, str | None]:
    """UTF-8 (BOM allowed) when valid, else Latin-1 with a note: banks still send ISO 8859-1."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return data.decode("latin-1"), f"encoding: not UTF-8 (byte {exc.start}); read as Latin-1"


def read_mt940_messages(data: bytes, *, source: str = "<input>",
                        max_bytes: int = MAX_BYTES_DEFAULT) -> list[Mt940Message]:
    """Every :20: block in the file, tag by tag.

    Raises:
        Mt940Invalid (MT940_INVALID): see the module docstring.
    """
    _check_input(data, source, max_bytes)
    decoded, encoding_note = decode(bytes(data))
    fields, notes = split_fields(decoded.replace("\r\n", "\n").replace("\r", "\n"))
    if not fields:
        first = next((ln.strip() for ln in decoded.splitlines() if ln.strip()), "")
        raise Mt940Invalid(f"{source}: line 1: no MT940 field (':20:', ':61:' …) found; starts {first[:30]!r}",
                           where=f"{source}:1", rule="has_field", value=first[:30])
    messages = _assemble(fields, source)
    messages[0].warnings[:0] = [n for n in (encoding_note, *notes) if n]
    return messages


def read_mt940(data: bytes, *, source: str = "<input>", max_bytes: int = MAX_BYTES_DEFAULT) -> StatementFile:
    """Read an MT940 or MT942 file into the version-free statement model.

    Raises:
        Mt940Invalid (MT940_INVALID): see the module docstring.
    """
    messages = read_mt940_messages(data, source=source, max_bytes=max_bytes)
    _check_continuity(messages)
    fmt = "mt942" if all(m.interim for m in messages) else "mt940"
    return StatementFile(format=fmt, message_id=None, statements=tuple(to_statement(m) for m in messages))


def _check_input(data: bytes, source: str, max_bytes: int) -> None:
    if not isinstance(data, bytes | bytearray):
        raise Mt940Invalid(f"{source}: expected bytes", where=source, rule="bytes")
    if len(data) > max_bytes:
        raise Mt940Invalid(f"{source}: {len(data)} bytes exceeds the limit of {max_bytes}",
                           where=source, rule="max_size", value=len(data))
    if b"\x00" in data[:65536]:
        raise Mt940Invalid(f"{source}: binary data (NUL byte), not an MT940 text file", where=source,
                           rule="text")


def _assemble(fields: list[Field], source: str) -> list[Mt940Message]:
    messages: list[Mt940Message] = []
    stray: list[str] = []
    for f in fields:
        if f.tag == "20":
            messages.append(Mt940Message(reference=f.value.split("\n", 1)[0].strip(), at_line=f.line))
        elif not messages:
            stray.append(f":{f.tag}: at line {f.line}")
        else:
            _apply(messages[-1], f, source)
    if not messages:
        raise Mt940Invalid(f"{source}: line {fields[0].line}: :{fields[0].tag}: comes before any ':20:'; "
                           f"an MT940 statement starts with :20: (a fragment, not a statement)",
                           where=f"{source}:{fields[0].line}", rule="has_statement", value=fields[0].tag)
    if stray:
        messages[0].warnings.append(f"ignored: {len(stray)} field(s) before the first :20: ({', '.join(stray[:5])})")
    return messages


def _apply(msg: Mt940Message, f: Field, source: str) -> None:
    tag, first = f.tag, f.value.split("\n", 1)[0].strip()
    msg.interim = msg.interim or tag in _942_TAGS
    if tag in ("25", "25P"):
        if msg.account is not None:
            msg.warnings.append(f"account_repeated: :25: at line {f.line} replaces {msg.account!r} with {first!r}")
        msg.account = first
    elif tag == "21":
        msg.related_reference = first
    elif tag in ("28", "28C"):
        msg.statement_number = first
    elif tag == "61":
        msg.lines.append(Mt940Line(_statement_line(f, source), at_line=f.line))
    elif tag == "86":
        if msg.lines and msg.lines[-1].details is None and _last_tag_was_61(msg, f):
            msg.lines[-1].details = parse_details(f.value)
        else:
            msg.info.append(f.value.replace("\n", ""))
    elif tag in ("60F", "60M", "62F", "62M", "64", "65"):
        _balance(msg, f)
    elif tag in ("90D", "90C"):
        msg.counts[tag] = first
    elif tag == "34F" and first[:3].isalpha() and first[:3].isupper():
        msg.floor_currency = msg.floor_currency or first[:3]
    elif tag not in _KNOWN:
        msg.warnings.append(f"unknown_tag: :{tag}: at line {f.line} ignored")


def _last_tag_was_61(msg: Mt940Message, f: Field) -> bool:
    return msg.lines[-1].at_line < f.line and msg.closing is None


def _statement_line(f: Field, source: str) -> StatementLine:
    parsed = parse_statement_line(f.value)
    if parsed is None:
        first = f.value.split("\n", 1)[0]
        raise Mt940Invalid(f"{source}: line {f.line}: :61: {first[:40]!r} has no readable date, credit/debit "
                           f"mark, amount and transaction type", where=f"{source}:{f.line}", rule="statement_line",
                           value=first[:40])
    return parsed


def _balance(msg: Mt940Message, f: Field) -> None:
    bal = parse_balance(f.value)
    if bal is None:
        msg.warnings.append(f"balance_unreadable: :{f.tag}: at line {f.line} {f.value[:30]!r} skipped")
        return
    if f.tag.startswith("60"):
        msg.opening, msg.opening_tag = msg.opening or bal, msg.opening_tag or f.tag
    elif f.tag.startswith("62"):
        msg.closing, msg.closing_tag = bal, f.tag
    elif f.tag == "64":
        msg.closing_available = bal
    else:
        msg.forward_available.append(bal)


def to_statement(msg: Mt940Message) -> Statement:
    warnings = list(msg.warnings)
    ccy = (msg.opening or msg.closing or msg.closing_available or _NO_BALANCE).currency or msg.floor_currency or ""
    warnings += _missing(msg) + _currency_notes(msg, ccy) + _count_notes(msg)
    warnings += [f"reversal: line {ln.at_line} is a reversal ({ln.line.mark}); its sign states the booking "
                 f"direction" for ln in msg.lines if ln.line.mark.startswith("R")]
    if msg.opening and msg.closing:
        warnings += _balance_break(msg.opening, msg.closing, msg.lines_sum) + _date_order(msg.opening, msg.closing)
    return Statement(
        id=_statement_id(msg), account=_account(msg.account, ccy),
        opening_balance=_amount(msg.opening, "OPBD"), closing_balance=_amount(msg.closing, "CLBD"),
        entries=tuple(_entry(ln, ccy) for ln in msg.lines), sequence_number=msg.statement_number,
        warnings=tuple(warnings))


_NO_BALANCE = Balance("C", "", None, "", Decimal(0))


def _statement_id(msg: Mt940Message) -> str:
    when = (msg.closing or msg.opening or _NO_BALANCE).date_text
    return "/".join(p for p in (msg.reference, msg.statement_number or "", when) if p)[:70]


def _account(text: str | None, ccy: str) -> AccountId:
    if text and _IBAN.fullmatch(text.replace(" ", "")):
        return AccountId(iban=text, currency=ccy or None)
    return AccountId(other_id=text, currency=ccy or None)


def _amount(bal: Balance | None, code: str) -> BalanceAmount | None:
    return None if bal is None else BalanceAmount(amount=bal.amount, currency=bal.currency, date=bal.date,
                                                  type_code=code)


def _entry(ln: Mt940Line, ccy: str) -> StatementEntry:
    line, d = ln.line, ln.details
    e2e = d.end_to_end_id if d else None
    ref = line.customer_reference.strip()
    return StatementEntry(
        amount=line.amount, currency=ccy, status="BOOK", booking_date=line.entry_date,
        value_date=line.value_date, bank_reference=line.bank_reference,
        end_to_end_ids=(e2e,) if e2e else (), counterparty_name=d.counterparty_name if d else None,
        remittance=(d.remittance if d else None) or line.supplementary or None,
        reversal=line.mark.startswith("R"), entry_reference=None if ref in ("", "NONREF") else ref,
        return_reason=d.return_reason if d else None)


def _missing(msg: Mt940Message) -> list[str]:
    return [f"missing: {what} ({tag})" for what, tag, value in (
        ("no account", ":25:", msg.account), ("no opening balance", ":60F:", msg.opening),
        ("no closing balance", ":62F:", msg.closing)) if value is None and not (msg.interim and tag != ":25:")]


def _currency_notes(msg: Mt940Message, ccy: str) -> list[str]:
    notes = []
    balances = [b for b in (msg.opening, msg.closing, msg.closing_available, *msg.forward_available) if b]
    if ccy and ccy not in EXPONENTS:
        notes.append(f"unknown_currency: statement is in {ccy!r}, not an active ISO 4217 code")
    if len({b.currency for b in balances}) > 1:
        notes.append(f"currency_mixed: balances in {sorted({b.currency for b in balances})}; lines read as {ccy}")
    exponent = EXPONENTS.get(ccy)
    if exponent is not None:
        notes += [f"amount_precision: line {ln.at_line} amount {ln.line.amount:f} {ccy} has more than {exponent} "
                  f"decimals (kept as written)" for ln in msg.lines
                  if -ln.line.amount.as_tuple().exponent > exponent]  # type: ignore[operator]
    if not ccy and msg.lines:
        notes.append("currency_unknown: no balance names the currency; lines have none")
    return notes


def _count_notes(msg: Mt940Message) -> list[str]:
    notes = []
    for tag, sign in (("90D", -1), ("90C", 1)):
        written = msg.counts.get(tag)
        if written is None:
            continue
        count = re.match(r"\d+", written)
        actual = sum(1 for ln in msg.lines if (ln.line.amount < 0) == (sign < 0) and ln.line.amount != 0)
        if count is None or int(count.group()) != actual:
            notes.append(f"entry_count: :{tag}: says {written!r} but the statement has {actual} such line(s)")
    return notes


def _date_order(opening: Balance, closing: Balance) -> list[str]:
    if opening.date and closing.date and closing.date < opening.date:
        return [f"date_order: closing balance date {closing.date} is before the opening date {opening.date}"]
    return []


def _balance_break(opening: Balance, closing: Balance, lines_sum: Decimal) -> list[str]:
    with localcontext() as ctx:
        ctx.prec = 80
        expected = opening.amount + lines_sum
    if expected == closing.amount and opening.currency == closing.currency:
        return []
    return [f"balance_break: opening {opening.amount:f} {opening.currency} + booked {lines_sum:f} "
            f"{opening.currency} = {expected:f} {opening.currency} but closing is {closing.amount:f} "
            f"{closing.currency}"]


def _check_continuity(messages: list[Mt940Message]) -> None:
    """Opening of a statement vs the previous closing of the same account within this file."""
    last_closing: dict[str, Balance] = {}
    for msg in messages:
        key = msg.account or ""
        previous = last_closing.get(key)
        if previous and msg.opening and (previous.amount, previous.currency) != (msg.opening.amount,
                                                                                 msg.opening.currency):
            msg.warnings.append(f"continuity_gap: opening {msg.opening.amount:f} {msg.opening.currency} differs "
                                f"from the previous closing {previous.amount:f} {previous.currency}")
        if msg.closing:
            last_closing[key] = msg.closing


__all__ = ["Mt940Invalid", "Mt940Line", "Mt940Message", "decode", "read_mt940", "read_mt940_messages",
           "to_statement"]
