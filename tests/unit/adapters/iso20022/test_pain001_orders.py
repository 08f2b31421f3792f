"""pain.001 → payment orders: serials, payer and payee mapping, the whole-file refusals (NbOfTxs and
CtrlSum name both numbers), rows flagged rather than fixed, and a fuzzer over mutated files."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yinqi.adapters.files import read_order_file
from yinqi.adapters.iso20022.pain001_orders import read_pain001_orders
from yinqi.adapters.iso20022.pain001_reader import Pain001Invalid
from yinqi.domain.orders.commands import CreateOrder

TX = """<CdtTrfTxInf><PmtId><EndToEndId>{e2e}</EndToEndId></PmtId>
<Amt>{amount}</Amt><CdtrAgt><FinInstnId><BICFI>INGBNL2A</BICFI></FinInstnId></CdtrAgt>
<Cdtr><Nm>Sample Alex</Nm>{address}</Cdtr><CdtrAcct><Id><IBAN>NL69INGB0123456789</IBAN></Id></CdtrAcct>
<RmtInf><Ustrd>Salary</Ustrd></RmtInf></CdtTrfTxInf>"""


def pain001(*txs: str, nb: str | None = None, ctrl: str | None = None, prty: str = "NORM") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><CstmrCdtTrfInitn>
<GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-08-19T10:45:00</CreDtTm><NbOfTxs>{nb or len(txs)}</NbOfTxs>
{f"<CtrlSum>{ctrl}</CtrlSum>" if ctrl else ""}<InitgPty><Nm>Example BV</Nm></InitgPty></GrpHdr>
<PmtInf><PmtInfId>PI-7</PmtInfId><PmtMtd>TRF</PmtMtd><PmtTpInf><InstrPrty>{prty}</InstrPrty></PmtTpInf>
<ReqdExctnDt><Dt>2026-08-25</Dt></ReqdExctnDt><Dbtr><Nm>Example BV</Nm></Dbtr>
<DbtrAcct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy></DbtrAcct>
<DbtrAgt><FinInstnId><BICFI>ABNANL2A</BICFI></FinInstnId></DbtrAgt>{"".join(txs)}</PmtInf>
</CstmrCdtTrfInitn></Document>""".encode()


def tx(e2e: str = "SAL-1", amount: str = '<InstdAmt Ccy="EUR">10.00</InstdAmt>', address: str = "") -> str:
    return TX.format(e2e=e2e, amount=amount, address=address)


def test_each_transaction_becomes_one_order_keyed_by_its_end_to_end_id() -> None:
    orders = read_pain001_orders(pain001(tx("SAL-1"), tx("SAL-2")), company_id="ACME")
    rows = list(orders.rows())
    assert orders.message_id == "MSG-1" and orders.total == 2
    assert [w for w, _ in rows] == ["/Document/CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf[1]",
                                    "/Document/CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf[2]"]
    cmd = rows[0][1]
    assert isinstance(cmd, CreateOrder)
    assert (cmd.serial, cmd.end_to_end_id, cmd.amount, cmd.currency, cmd.source) == ("SAL-1", "SAL-1", "10.00",
                                                                                     "EUR", "import")
    assert (cmd.payer.name, cmd.payer.account.iban, cmd.payer.bic, cmd.payer.currency) == (
        "Example BV", "NL91ABNA0417164300", "ABNANL2A", "EUR")
    assert (cmd.payee.account.iban, cmd.payee.country, cmd.payee.bic) == ("NL69INGB0123456789", "NL", "INGBNL2A")
    assert str(cmd.requested_execution_date) == "2026-08-25" and cmd.urgency == "normal"


def test_without_an_end_to_end_id_the_serial_is_msgid_pmtinfid_and_position() -> None:
    rows = list(read_pain001_orders(pain001(tx("SAL-1"), tx("NOTPROVIDED"), prty="HIGH"), company_id="A").rows())
    second = rows[1][1]
    assert isinstance(second, CreateOrder)
    assert (second.serial, second.end_to_end_id, second.urgency) == ("MSG-1/PI-7/2", None, "urgent")


def test_the_creditor_address_country_wins_over_the_iban_country() -> None:
    address = "<PstlAdr><StrtNm>Damrak</StrtNm><TwnNm>Amsterdam</TwnNm><Ctry>BE</Ctry></PstlAdr>"
    [(_, cmd)] = list(read_pain001_orders(pain001(tx(address=address)), company_id="A").rows())
    assert isinstance(cmd, CreateOrder) and cmd.payee.country == "BE" and cmd.payee.address is not None
    assert (cmd.payee.address.street, cmd.payee.address.town) == ("Damrak", "Amsterdam")


@pytest.mark.parametrize(("nb", "ctrl", "rule", "numbers"), [
    ("3", None, "nb_of_txs", ("3", "2")), (None, "25.00", "ctrl_sum", ("25.00", "20.00"))])
def test_a_wrong_nboftxs_or_ctrlsum_refuses_the_file_naming_both_numbers(nb: str | None, ctrl: str | None,
                                                                         rule: str, numbers: tuple[str, str]) -> None:
    data = pain001(tx("SAL-1"), tx("SAL-2"), nb=nb, ctrl=ctrl)
    with pytest.raises(Pain001Invalid) as refused:
        read_pain001_orders(data, company_id="ACME")
    [problem] = [p for p in refused.value.problems if p.where == "/Document/CstmrCdtTrfInitn/GrpHdr/"
                 + ("NbOfTxs" if rule == "nb_of_txs" else "CtrlSum")]
    assert problem.rule == rule and all(n in problem.message for n in numbers), problem.message
    parsed = read_order_file(data, file_name="wrong.xml", company_id="ACME")
    assert parsed.total == 0 and any(all(n in p.message for n in numbers) for p in parsed.problems)


def test_an_equivalent_amount_in_another_currency_is_flagged_not_converted() -> None:
    foreign = '<EqvtAmt><Amt Ccy="EUR">10.00</Amt><CcyOfTrf>USD</CcyOfTrf></EqvtAmt>'
    same = '<EqvtAmt><Amt Ccy="EUR">10.00</Amt><CcyOfTrf>EUR</CcyOfTrf></EqvtAmt>'
    rows = list(read_pain001_orders(pain001(tx("A", foreign), tx("B", same)), company_id="A").rows())
    assert [(p.code, p.rule) for p in rows[0][1]] == [  # type: ignore[union-attr]
        ("EQUIVALENT_AMOUNT_UNSUPPORTED", "no_currency_conversion")]
    assert isinstance(rows[1][1], CreateOrder) and rows[1][1].amount == "10.00"


VALID = pain001(tx("SAL-1"), tx("SAL-2"))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.binary(min_size=0, max_size=8), st.integers(0, 8))
def test_mutated_files_are_refused_or_read_never_a_crash(at: int, insert: bytes, cut: int) -> None:
    data = VALID[:at] + insert + VALID[at + cut:]
    parsed = read_order_file(data, file_name="m.xml", company_id="ACME", format="pain001")
    if parsed.problems:
        assert all(p.code for p in parsed.problems)
        return
    for where, row in parsed.rows():
        assert where.startswith("/Document/CstmrCdtTrfInitn/PmtInf")
        assert isinstance(row, CreateOrder) or all(p.code and p.rule for p in row)
