"""camt.053 statements of the sandbox bank: balances chain and add up, ids are stable."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from conftest import DEBTOR, EXTERNAL_CREDITOR, INTERNAL_CREDITOR, FakeClock
from lxml import etree

from sandbox_bank.bank import SandboxBank
from sandbox_bank.samples import SampleTransfer, sample_pain001
from sandbox_bank.statements import StatementUnavailable
from yinqi.adapters.iso20022 import schema
from yinqi.adapters.iso20022.camt_reader import read_statements
from yinqi.adapters.iso20022.safexml import parse_bytes
from yinqi.domain.problems import NotFound

NS = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"}
DAY1 = date(2026, 3, 2)


def pay(bank: SandboxBank, msg_id: str, *transfers: SampleTransfer) -> None:
    reply = bank.receive_pain001(sample_pain001(msg_id=msg_id, debtor_iban=DEBTOR, transfers=transfers))
    assert reply.http_status == 202


def signed(el: etree._Element) -> Decimal:
    amount = Decimal(el.findtext("c:Amt", namespaces=NS) or "0")
    return -amount if el.findtext("c:CdtDbtInd", namespaces=NS) == "DBIT" else amount


def balances(root: etree._Element) -> dict[str, Decimal]:
    return {b.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=NS): signed(b)
            for b in root.iterfind(".//c:Stmt/c:Bal", NS)}


def entries(root: etree._Element) -> list[etree._Element]:
    return list(root.iterfind(".//c:Stmt/c:Ntry", NS))


@pytest.fixture
def two_days(bank: SandboxBank, clock: FakeClock) -> SandboxBank:
    pay(bank, "M1", SampleTransfer("E1", "100.00", "EUR", INTERNAL_CREDITOR, "Supplier A", "inv 1"),
        SampleTransfer("E2", "50.25", "EUR", EXTERNAL_CREDITOR, "Supplier B", "inv 2"))
    clock.advance(days=1)
    pay(bank, "M2", SampleTransfer("E3", "10.00", "EUR", INTERNAL_CREDITOR, "Supplier A", "inv 3"))
    return bank


def test_statement_balances_add_up_and_chain_from_one_day_to_the_next(two_days: SandboxBank) -> None:
    day1 = etree.fromstring(two_days.statement(DEBTOR, DAY1))
    day2 = etree.fromstring(two_days.statement(DEBTOR, DAY1 + timedelta(days=1)))
    for root in (day1, day2):
        bal = balances(root)
        assert bal["OPBD"] + sum(signed(e) for e in entries(root)) == bal["CLBD"]
    assert balances(day1) == {"OPBD": Decimal("1000.00"), "CLBD": Decimal("849.75")}
    assert balances(day2) == {"OPBD": Decimal("849.75"), "CLBD": Decimal("839.75")}
    assert balances(day2)["CLBD"] == two_days.account(DEBTOR).balance.amount


def test_statement_entries_carry_end_to_end_id_bank_reference_counterparty_and_remittance(
        two_days: SandboxBank) -> None:
    first = entries(etree.fromstring(two_days.statement(DEBTOR, DAY1)))[0]
    assert first.findtext("c:CdtDbtInd", namespaces=NS) == "DBIT"
    assert first.findtext("c:AcctSvcrRef", namespaces=NS).startswith("SB")
    tx = first.find("c:NtryDtls/c:TxDtls", NS)
    assert tx.findtext("c:Refs/c:EndToEndId", namespaces=NS) == "E1"
    assert tx.findtext("c:RltdPties/c:Cdtr/c:Pty/c:Nm", namespaces=NS) == "Supplier A"
    assert tx.findtext("c:RmtInf/c:Ustrd", namespaces=NS) == "inv 1"


def test_creditor_statement_shows_the_debtor_as_counterparty_of_a_credit(two_days: SandboxBank) -> None:
    credit = entries(etree.fromstring(two_days.statement(INTERNAL_CREDITOR, DAY1)))[0]
    assert credit.findtext("c:CdtDbtInd", namespaces=NS) == "CRDT"
    assert credit.findtext("c:NtryDtls/c:TxDtls/c:RltdPties/c:Dbtr/c:Pty/c:Nm", namespaces=NS) == \
        "Yinqi Demo Ltd"


def test_statement_id_is_stable_and_sequence_number_increases_per_account(two_days: SandboxBank) -> None:
    def ids(on: date) -> tuple[str, int]:
        stmt = etree.fromstring(two_days.statement(DEBTOR, on)).find(".//c:Stmt", NS)
        return stmt.findtext("c:Id", namespaces=NS), int(stmt.findtext("c:ElctrncSeqNb", namespaces=NS))

    assert ids(DAY1) == ids(DAY1)
    assert ids(DAY1)[1] < ids(DAY1 + timedelta(days=1))[1]
    assert ids(DAY1)[0] != ids(DAY1 + timedelta(days=1))[0]


def test_statement_reads_through_the_hub_reader_without_warnings_and_balances_add_up(
        two_days: SandboxBank) -> None:
    for version in ("camt.053.001.08", "camt.053.001.02"):
        (stmt,) = read_statements(two_days.statement(DEBTOR, DAY1, version=version)).statements
        assert stmt.warnings == ()
        assert stmt.opening_balance and stmt.closing_balance
        assert stmt.opening_balance.amount + sum(e.amount for e in stmt.entries) == stmt.closing_balance.amount
        assert [e.end_to_end_ids for e in stmt.entries] == [("E1",), ("E2",)]
        assert [e.counterparty_name for e in stmt.entries] == ["Supplier A", "Supplier B"]


def test_statement_is_valid_camt053_in_both_versions(two_days: SandboxBank) -> None:
    for version in ("camt.053.001.08", "camt.053.001.02"):
        schema.assert_valid(parse_bytes(two_days.statement(DEBTOR, DAY1, version=version)))


def test_no_statement_before_the_account_opened_or_after_today(two_days: SandboxBank) -> None:
    with pytest.raises(StatementUnavailable):
        two_days.statement(DEBTOR, DAY1 - timedelta(days=1))
    with pytest.raises(StatementUnavailable):
        two_days.statement(DEBTOR, DAY1 + timedelta(days=2))


def test_statement_of_an_unknown_account_is_not_found(bank: SandboxBank) -> None:
    with pytest.raises(NotFound):
        bank.statement("NL91ABNA0417164300", DAY1)
