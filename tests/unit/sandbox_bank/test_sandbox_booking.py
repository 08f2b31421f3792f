"""The sandbox bank books a pain.001 the way a bank would: once, with the right rejects."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

from conftest import DEBTOR, EXTERNAL_CREDITOR, INTERNAL_CREDITOR, FakeClock

from sandbox_bank.bank import SandboxBank
from sandbox_bank.faults import Faults
from sandbox_bank.samples import SampleTransfer, sample_pain001
from yinqi.adapters.iso20022.model import (
    AccountId,
    CreditTransfer,
    CreditTransferMessage,
    PaymentInfo,
    StatusReport,
)
from yinqi.adapters.iso20022.pain001_writer import write_pain001
from yinqi.adapters.iso20022.pain002_reader import read_pain002
from yinqi.domain.money import Money


def tx(e2e: str, amount: str, creditor: str = INTERNAL_CREDITOR, **kw: object) -> SampleTransfer:
    return SampleTransfer(e2e, amount, "EUR", creditor, "Supplier A", f"invoice {e2e}", **kw)  # type: ignore[arg-type]


def submit(bank: SandboxBank, msg_id: str, *transfers: SampleTransfer, debtor: str = DEBTOR,
           **kw: object) -> tuple[int, bytes]:
    reply = bank.receive_pain001(sample_pain001(msg_id=msg_id, debtor_iban=debtor, transfers=transfers,
                                                **kw))  # type: ignore[arg-type]
    return reply.http_status, reply.body


def report(bank: SandboxBank, msg_id: str) -> StatusReport:
    """The stored pain.002, read with the hub's own reader."""
    found = bank.status(msg_id)
    assert found.state == "ready" and found.report is not None
    return read_pain002(found.report)


def tx_statuses(rpt: StatusReport) -> dict[str | None, tuple[str | None, str | None]]:
    return {t.end_to_end_id: (t.status, t.reason_code) for p in rpt.payments for t in p.transactions}


def group_status(rpt: StatusReport) -> tuple[str | None, str | None]:
    return rpt.group_status, rpt.group_reason_code


def balance(bank: SandboxBank, key: str) -> int:
    return bank.account(key).balance_minor


def test_transfer_to_an_internal_account_debits_the_debtor_and_credits_the_creditor(bank: SandboxBank) -> None:
    status, body = submit(bank, "M1", tx("E1", "250.00"))
    assert status == 202
    assert json.loads(body) == {"msg_id": "M1", "received_at": "2026-03-02T09:00:00+00:00", "duplicate": False}
    assert balance(bank, DEBTOR) == 75_000
    assert balance(bank, INTERNAL_CREDITOR) == 25_000
    assert tx_statuses(report(bank, "M1")) == {"E1": ("ACSC", None)}
    assert group_status(report(bank, "M1")) == ("ACSC", None)


def test_transfer_to_another_bank_goes_to_the_clearing_account_as_acsp(bank: SandboxBank) -> None:
    submit(bank, "M1", tx("E1", "100.00", EXTERNAL_CREDITOR))
    assert balance(bank, DEBTOR) == 90_000
    assert balance(bank, "CLEARING-EUR") == 10_000
    assert tx_statuses(report(bank, "M1")) == {"E1": ("ACSP", None)}


def test_second_copy_of_a_message_is_answered_with_the_original_ack_and_not_booked_again(
        bank: SandboxBank, clock: FakeClock) -> None:
    first = submit(bank, "M1", tx("E1", "100.00"))
    clock.advance(minutes=5)
    second = submit(bank, "M1", tx("E1", "100.00"), created_at=clock.at,  # re-serialised: new CreDtTm
                    execution_date=date(2026, 1, 2))
    assert second[0] == 202
    assert json.loads(second[1]) == {**json.loads(first[1]), "duplicate": True}
    assert balance(bank, DEBTOR) == 90_000
    assert bank.counts() == {"received": {"M1": 2}, "booked": {"E1": 1}}


def test_reused_message_id_with_different_content_is_rejected_du01_and_changes_nothing(
        bank: SandboxBank) -> None:
    submit(bank, "M1", tx("E1", "100.00"))
    status, body = submit(bank, "M1", tx("E1", "999.00"))
    assert status == 409
    assert group_status(read_pain002(body)) == ("RJCT", "DU01")
    assert balance(bank, DEBTOR) == 90_000
    assert tx_statuses(report(bank, "M1")) == {"E1": ("ACSC", None)}  # the original report stands


def test_unknown_debtor_account_is_rejected_ac01(bank: SandboxBank) -> None:
    submit(bank, "M1", tx("E1", "1.00"), debtor="NL91ABNA0417164300")
    assert tx_statuses(report(bank, "M1")) == {"E1": ("RJCT", "AC01")}
    assert group_status(report(bank, "M1")) == ("RJCT", None)


def test_creditor_iban_with_a_bad_checksum_is_rejected_ac01(bank: SandboxBank) -> None:
    submit(bank, "M1", tx("E1", "1.00", "DE00370400440532013000"))
    assert tx_statuses(report(bank, "M1")) == {"E1": ("RJCT", "AC01")}
    assert balance(bank, DEBTOR) == 100_000


def test_insufficient_funds_is_rejected_am04_and_the_rest_of_the_batch_is_booked_part(
        bank: SandboxBank) -> None:
    submit(bank, "M1", tx("E1", "600.00"), tx("E2", "600.00"), tx("E3", "400.00"))
    assert tx_statuses(report(bank, "M1")) == {"E1": ("ACSC", None), "E2": ("RJCT", "AM04"),
                                               "E3": ("ACSC", None)}
    assert group_status(report(bank, "M1")) == ("PART", None)
    assert balance(bank, DEBTOR) == 0


def test_amount_in_another_currency_than_the_debtor_account_is_rejected_am03(bank: SandboxBank) -> None:
    transfer = SampleTransfer("E1", "5.00", "USD", EXTERNAL_CREDITOR)
    submit(bank, "M1", transfer)
    assert tx_statuses(report(bank, "M1")) == {"E1": ("RJCT", "AM03")}


def test_same_end_to_end_id_in_a_new_message_is_not_booked_twice(bank: SandboxBank) -> None:
    submit(bank, "M1", tx("E1", "100.00"))
    status, _ = submit(bank, "M2", tx("E1", "100.00"), pmt_inf_id="OTHER-BATCH")
    assert status == 202
    assert tx_statuses(report(bank, "M2")) == {"E1": ("ACSC", None)}
    assert balance(bank, DEBTOR) == 90_000
    assert bank.counts()["booked"] == {"E1": 1}


def test_schema_valid_but_wrong_ctrl_sum_is_refused_400_with_group_rjct_ff01(bank: SandboxBank) -> None:
    status, body = submit(bank, "M1", tx("E1", "100.00"), ctrl_sum="99.00")
    assert status == 400
    assert group_status(read_pain002(body)) == ("RJCT", "FF01")
    assert balance(bank, DEBTOR) == 100_000
    again = bank.receive_pain001(sample_pain001(msg_id="M1", debtor_iban=DEBTOR, transfers=[tx("E1", "100.00")],
                                                ctrl_sum="99.00"))
    assert (again.http_status, again.duplicate, again.body) == (400, True, body)


def test_unreadable_document_gets_a_plain_400_error(bank: SandboxBank) -> None:
    reply = bank.receive_pain001(b"<not-xml")
    assert reply.http_status == 400
    assert json.loads(reply.body)["code"] == "XML_REJECTED"
    assert bank.counts()["received"] == {}


def test_reject_rate_one_rejects_every_transaction_with_am04_or_ac01(bank: SandboxBank) -> None:
    bank.faults.replace(Faults(reject_rate=1.0, seed=7))
    submit(bank, "M1", tx("E1", "1.00"), tx("E2", "1.00"), tx("E3", "1.00"))
    codes = {code for status, code in tx_statuses(report(bank, "M1")).values() if status == "RJCT"}
    assert len(tx_statuses(report(bank, "M1"))) == 3 and codes <= {"AM04", "AC01"} and codes
    assert balance(bank, DEBTOR) == 100_000


def test_status_delay_keeps_the_report_pending_until_it_has_passed(bank: SandboxBank, clock: FakeClock) -> None:
    bank.faults.replace(Faults(status_delay_ms=1500))
    submit(bank, "M1", tx("E1", "1.00"))
    assert bank.status("M1").state == "pending"
    assert bank.reports_since(clock.at) == []
    clock.advance(seconds=2)
    assert bank.status("M1").state == "ready"
    assert bank.reports_since(clock.at.replace(hour=0)) == ["M1"]


def test_duplicate_status_fault_lists_every_report_twice(bank: SandboxBank, clock: FakeClock) -> None:
    submit(bank, "M1", tx("E1", "1.00"))
    bank.faults.replace(Faults(duplicate_status=True))
    assert bank.reports_since(clock.at.replace(hour=0)) == ["M1", "M1"]


def test_unknown_message_has_no_status(bank: SandboxBank) -> None:
    assert bank.status("NOPE").state == "unknown"


def test_pain001_version_03_is_answered_with_a_pain002_version_03(bank: SandboxBank) -> None:
    msg = CreditTransferMessage(
        message_id="M03", created_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC), initiating_party="Yinqi Demo",
        payment_infos=(PaymentInfo(
            payment_info_id="P03", debtor_name="Yinqi Demo Ltd", debtor_account=AccountId(iban=DEBTOR),
            debtor_bic="SNDBDEFFXXX", requested_execution_date=date(2026, 3, 2),
            transfers=(CreditTransfer(instruction_id="I1", end_to_end_id="E1", amount=Money(1000, "EUR"),
                                      creditor_name="Supplier A", creditor_account=AccountId(iban=INTERNAL_CREDITOR)),
                       )),))
    assert bank.receive_pain001(write_pain001(msg, version="pain.001.001.03")).http_status == 202
    found = bank.status("M03")
    assert found.report is not None and b"pain.002.001.03" in found.report
    assert read_pain002(found.report).original_message_type == "pain.001.001.03"
    assert tx_statuses(read_pain002(found.report)) == {"E1": ("ACSC", None)}


def test_concurrent_copies_of_one_message_are_booked_exactly_once(bank: SandboxBank) -> None:
    payload = sample_pain001(msg_id="MC", debtor_iban=DEBTOR, transfers=[tx("E1", "10.00")])
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda _: bank.receive_pain001(payload), range(6)))
    assert {r.http_status for r in replies} == {202}
    assert sum(not r.duplicate for r in replies) == 1
    assert bank.counts() == {"received": {"MC": 6}, "booked": {"E1": 1}}
    assert balance(bank, DEBTOR) == 99_000
