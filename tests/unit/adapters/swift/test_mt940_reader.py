"""MT940/MT942 reading: tolerant of what real banks send, refusing only what cannot be read."""

from __future__ import annotations

import contextlib
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yinqi.adapters.iso20022.codec import read_any_statements
from yinqi.adapters.swift.mt940_details import parse_details
from yinqi.adapters.swift.mt940_fields import entry_date_near, parse_balance, parse_date, parse_statement_line
from yinqi.adapters.swift.mt940_reader import Mt940Invalid, read_mt940

STATEMENT = """{1:F01BANKDEFFAXXX0000000000}{2:O9401200100101BANKDEFFAXXX00000000001001011200N}{4:
:20:STARTUMS
:25:DE89370400440532013000
:28C:00001/001
:60F:C250101EUR1000,00
:61:2501020102DR250,00NTRFNONREF//B1
:86:166?00GUTSCHRIFT?20EREF+E2E-42?21SVWZ+Invoice 7?32ACME?33 GMBH
:61:2501020102CR100,5NMSCREF1//B2
:62F:C250102EUR850,50
-}{5:{CHK:123456789ABC}}
"""


def read(text: str) -> object:
    return read_mt940(text.encode(), source="t.sta")


def test_a_statement_in_a_swift_envelope_reads_balances_entries_and_86_details() -> None:
    sf = read_mt940(STATEMENT.encode(), source="t.sta")
    st_ = sf.statements[0]
    assert sf.format == "mt940" and st_.id == "STARTUMS/00001/001/250102"
    assert st_.account.iban == "DE89370400440532013000" and st_.account.currency == "EUR"
    assert st_.opening_balance and st_.opening_balance.amount == Decimal("1000.00")
    first, second = st_.entries
    assert (first.amount, first.value_date, first.booking_date) == (Decimal("-250.00"), date(2025, 1, 2),
                                                                    date(2025, 1, 2))
    assert first.end_to_end_ids == ("E2E-42",) and first.remittance == "Invoice 7"
    assert first.counterparty_name == "ACME GMBH" and first.bank_reference == "B1"
    assert second.amount == Decimal("100.5") and second.entry_reference == "REF1"
    assert st_.warnings == ()


def test_opening_plus_lines_not_equal_to_closing_is_read_and_flagged_as_a_balance_break() -> None:
    st_ = read_mt940(STATEMENT.replace("850,50", "851,00").encode()).statements[0]
    assert [w for w in st_.warnings if w.startswith("balance_break")] == [
        "balance_break: opening 1000.00 EUR + booked -149.50 EUR = 850.50 EUR but closing is 851.00 EUR"]


def test_reversal_of_a_credit_is_a_debit_and_is_flagged() -> None:
    line = parse_statement_line("0709040904RCR204,88NRTINONREF")
    assert line and line.mark == "RC" and line.funds_code == "R" and line.amount == Decimal("-204.88")
    text = STATEMENT.replace("CR100,5NMSCREF1//B2", "RD100,5NMSCREF1//B2")
    st_ = read_mt940(text.encode()).statements[0]
    assert st_.entries[1].reversal and st_.entries[1].amount == Decimal("100.5")
    assert any(w.startswith("reversal: line") for w in st_.warnings)


def test_an_mt942_with_floor_limit_and_no_balances_reads_as_mt942() -> None:
    text = ":20:INTRA\n:25:NL91ABNA0417164300\n:28C:1/1\n:34F:EURD0,\n:13D:2501021200+0100\n" \
           ":61:250102C5,00NTRFNONREF\n:90C:1EUR5,00\n-"
    sf = read_mt940(text.encode())
    assert sf.format == "mt942" and sf.statements[0].entries[0].amount == Decimal("5.00")
    assert sf.statements[0].warnings == ()


def test_the_entry_date_takes_the_year_closest_to_the_value_date() -> None:
    assert entry_date_near("0102", date(2024, 12, 31)) == date(2025, 1, 2)
    assert entry_date_near("1231", date(2025, 1, 2)) == date(2024, 12, 31)


def test_two_digit_years_use_the_1970_to_2069_window() -> None:
    assert parse_date("991231") == date(1999, 12, 31) and parse_date("070904") == date(2007, 9, 4)
    assert parse_date("071399") is None


@pytest.mark.parametrize(("text", "amount"), [("C100318EUR380115,12", "380115.12"), ("C100318EUR380115,", "380115"),
                                              ("D100318EUR001,12", "-1.12"), ("C100318EUR0,", "0")])
def test_balances_keep_the_amount_as_written_with_comma_decimals(text: str, amount: str) -> None:
    bal = parse_balance(text)
    assert bal is not None and bal.amount == Decimal(amount) and str(bal.amount) == str(Decimal(amount))


def test_a_repeated_25_is_kept_as_written_and_flagged() -> None:
    text = STATEMENT.replace(":28C:", ":25:OTHER\n:28C:")
    st_ = read_mt940(text.encode()).statements[0]
    assert st_.account.other_id == "OTHER" and any(w.startswith("account_repeated") for w in st_.warnings)


def test_continuity_gap_between_two_statements_of_one_account_is_flagged() -> None:
    second = STATEMENT.split("{4:\n", 1)[1].replace("C250101EUR1000,00", "C250101EUR999,00")
    st2 = read_mt940((STATEMENT + second).encode()).statements[1]
    assert any(w.startswith("continuity_gap: opening 999.00 EUR") for w in st2.warnings)


def test_latin_1_text_is_read_and_the_encoding_is_noted() -> None:
    data = STATEMENT.replace("ACME", "M\u00dcLLER").encode("latin-1")
    st_ = read_mt940(data).statements[0]
    assert st_.entries[0].counterparty_name == "M\u00dcLLER GMBH"
    assert any(w.startswith("encoding: not UTF-8") for w in st_.warnings)


def test_slash_coded_86_reads_eref_remi_name_and_return_reason() -> None:
    d = parse_details("/EREF/E2E-9//CNTP/NL91ABNA0417164300/ABNANL2A/J. Jansen/AMSTERDAM/REMI/USTD//INV 1/"
                      "/RTRN/AC04/")
    assert (d.end_to_end_id, d.remittance, d.return_reason) == ("E2E-9", "INV 1", "AC04")


def test_notprovided_is_not_an_end_to_end_id() -> None:
    assert parse_details("166?20EREF+NOTPROVIDED?21SVWZ+x").end_to_end_id is None


@pytest.mark.parametrize(("text", "rule"), [("", "has_field"), ("hello world", "has_field"),
                                            (":61:250102C5,00NTRF\n", "has_statement"),
                                            (":20:X\n:61:garbage\n", "statement_line")])
def test_unreadable_input_is_refused_naming_the_rule(text: str, rule: str) -> None:
    with pytest.raises(Mt940Invalid) as exc:
        read(text)
    assert exc.value.code == "MT940_INVALID" and exc.value.rule == rule


def test_an_unreadable_61_names_its_line_and_tag() -> None:
    with pytest.raises(Mt940Invalid, match=r"line 3: :61: 'garbage'"):
        read(":20:X\n:25:A\n:61:garbage\n")


def test_the_codec_sends_xml_to_camt_and_text_to_mt940() -> None:
    assert read_any_statements(STATEMENT.encode(), source="t").format == "mt940"
    with pytest.raises(Exception) as exc:
        read_any_statements(b"  <Document xmlns='urn:x'/>", source="t")
    assert getattr(exc.value, "code", "") == "CAMT_INVALID"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(":0123456789CDRFMN,./?+-{}\n ABZ")) | st.characters(), max_size=300))
def test_arbitrary_text_raises_only_mt940_invalid_or_reads(text: str) -> None:
    with contextlib.suppress(Mt940Invalid):
        read_mt940(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([":20:R", ":25:A", ":28C:1/1", ":60F:C250101EUR1,", ":61:250101C1,NTRFX//Y",
                                 ":86:166?20EREF+A", ":62F:C250101EUR2,", ":64:D2501", "-", "", ":61:x", "?21x"]),
                max_size=30))
def test_arbitrary_sequences_of_real_tags_raise_only_mt940_invalid_or_read(lines: list[str]) -> None:
    with contextlib.suppress(Mt940Invalid):
        read_mt940("\n".join(lines).encode())
