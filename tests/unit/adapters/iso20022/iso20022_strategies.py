"""Hypothesis strategies for valid CreditTransferMessages (R22) and document mutations (R23)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import strategies as st

from yinqi.adapters.iso20022.model import (
    AccountId,
    CreditTransfer,
    CreditTransferMessage,
    PaymentInfo,
    PostalAddress,
)
from yinqi.domain.money import Money

SEPA_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/-?:().,'+ "
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-"
# Any character XML 1.0 can carry, including the ones that need escaping and CR/LF/TAB.
ANY_TEXT = st.characters(exclude_categories=("Cs", "Cc", "Cn", "Co")) | st.sampled_from(
    ["&", "<", ">", '"', "'", "\r", "\n", "\t", "中", "é", "ß", "ø", "🙂"])
CURRENCIES = ["EUR", "JPY", "KWD", "CNY", "USD", "CHF", "CLF", "GBP"]


def text(alphabet: st.SearchStrategy[str] | str, max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=1, max_size=max_size)


def ids(max_size: int = 35) -> st.SearchStrategy[str]:
    return text(ID_ALPHABET, max_size)


def money() -> st.SearchStrategy[Money]:
    # up to 10^12 minor units: 15 transfers still keep CtrlSum within the XSD's 18 digits
    return st.builds(Money, st.integers(1, 10**12), st.sampled_from(CURRENCIES))


def iban() -> st.SearchStrategy[str]:
    return st.from_regex(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}", fullmatch=True)


def bic() -> st.SearchStrategy[str]:
    # valid under both the .03 BICIdentifier and the .09 BICFIDec2014Identifier patterns
    return st.from_regex(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?", fullmatch=True)


def account(alphabet: st.SearchStrategy[str] | str) -> st.SearchStrategy[AccountId]:
    ccy = st.none() | st.sampled_from(CURRENCIES)
    return st.builds(AccountId, iban=iban(), currency=ccy) | st.builds(
        AccountId, other_id=text(alphabet, 34), currency=ccy)


def address(alphabet: st.SearchStrategy[str] | str) -> st.SearchStrategy[PostalAddress]:
    def opt(n: int) -> st.SearchStrategy[str | None]:
        return st.none() | text(alphabet, n)
    return st.builds(PostalAddress, country=st.none() | st.from_regex(r"[A-Z]{2}", fullmatch=True),
                     street=opt(70), building_number=opt(16), postcode=opt(16), town=opt(35),
                     lines=st.lists(text(alphabet, 70), max_size=7).map(tuple))


def transfer(alphabet: st.SearchStrategy[str] | str) -> st.SearchStrategy[CreditTransfer]:
    return st.builds(
        CreditTransfer,
        instruction_id=st.just("") | ids(),
        end_to_end_id=ids(),
        amount=money(),
        creditor_name=text(alphabet, 140),
        creditor_account=account(alphabet),
        creditor_bic=st.none() | bic(),
        creditor_bank_code=st.none() | st.from_regex(r"[0-9]{12}", fullmatch=True),
        creditor_address=st.none() | address(alphabet),
        remittance=st.none() | text(alphabet, 140),
        purpose_code=st.none() | st.from_regex(r"[A-Z]{4}", fullmatch=True),
        uetr=st.none() | st.uuids(version=4).map(str),
    )


@st.composite
def payment_info(draw: st.DrawFn) -> PaymentInfo:
    service_level = draw(st.sampled_from([None, "SEPA", "URGP", "NURG"]))
    alphabet: st.SearchStrategy[str] | str = SEPA_ALPHABET if service_level == "SEPA" else ANY_TEXT
    return PaymentInfo(
        payment_info_id=draw(ids()),
        debtor_name=draw(text(alphabet, 140)),
        debtor_account=draw(account(alphabet)),
        debtor_bic=draw(st.none() | bic()),
        requested_execution_date=draw(st.dates(date(2000, 1, 1), date(2099, 12, 31))),
        transfers=tuple(draw(st.lists(transfer(alphabet), min_size=1, max_size=5))),
        batch_booking=draw(st.booleans()),
        instruction_priority=draw(st.sampled_from([None, "HIGH", "NORM"])),
        service_level=service_level,
        debtor_address=draw(st.none() | address(alphabet)),
    )


def timezones() -> st.SearchStrategy[timezone | None]:
    offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
    return st.none() | st.just(UTC) | offsets


def messages() -> st.SearchStrategy[CreditTransferMessage]:
    return st.builds(
        CreditTransferMessage,
        message_id=ids(),
        created_at=st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31), timezones=timezones()),
        initiating_party=text(ANY_TEXT, 140),
        payment_infos=st.lists(payment_info(), min_size=1, max_size=3).map(tuple),
    )


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """A document damaged the ways real files get damaged: cut, spliced, bytes flipped, text
    replaced, elements duplicated or dropped, markup injected."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "delete", "insert", "dup", "swap_text"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 200))]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([
                b"<Ntry>", b"</Ntry>", b"<Amt Ccy=\"XXX\">abc</Amt>", b"<CdtDbtInd>DBIT</CdtDbtInd>",
                b"<Stmt><Id>x</Id></Stmt>", b"<NbOfTxs>99</NbOfTxs>", b"<!DOCTYPE d>", b"&amp;",
                b"<Dt>2024-02-30</Dt>", b"-1e999999", b"NaN", b"\xff\xfe", b"<![CDATA[<x>]]>",
                b"<Amt Ccy=\"EUR\">1E+999999</Amt>", b"<CreDtTm>9999-99-99T99:99:99</CreDtTm>"]))
        elif kind == "dup":
            end = min(len(data), at + draw(st.integers(1, 400)))
            data[end:end] = data[at:end]
        elif kind == "swap_text":
            data = bytearray(bytes(data).replace(draw(st.sampled_from(
                [b"CRDT", b"DBIT", b"BOOK", b"EUR", b"OPBD", b"CLBD", b"2014", b"<Dt>", b"IBAN", b"Amt"])),
                draw(st.sampled_from([b"", b"X", b"-5", b"DBIT", b"NOTPROVIDED", b"99999999999999999999"])), 1))
    return bytes(data)
