"""Released orders become XSD-valid pain.001 messages; status reports resolve per transaction."""

from datetime import UTC, date, datetime

import pytest

from yinqi.adapters.iso20022.model import PaymentStatus, StatusReport, TransactionStatus
from yinqi.adapters.iso20022.pain001_reader import read_pain001
from yinqi.adapters.iso20022.pain001_writer import write_pain001
from yinqi.application.execution import item_status, to_credit_transfer_message
from yinqi.domain.orders.checks import build_order
from yinqi.domain.orders.commands import AccountInput, AddressInput, CreateOrder, PayeeInput, PayerInput

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def order(serial: str, amount: str, *, payee_account: AccountInput, currency: str = "EUR", **payer: str):
    payer_account = AccountInput(iban="DE89370400440532013000") if currency == "EUR" else \
        AccountInput(number="6222020200112233445", cnaps="102100099996")
    cmd = CreateOrder(company_id="C1", serial=serial,
                      payer=PayerInput(name="Payer GmbH", account=payer_account, currency=currency),
                      payee=PayeeInput(name="Payee Ltd 收款人", account=payee_account,
                                       country="FR" if currency == "EUR" else "CN",
                                       address=AddressInput(street="Rue de la Paix", town="Paris")),
                      amount=amount, currency=currency, requested_execution_date=date(2026, 3, 2),
                      remittance_info="Invoice 42")
    return build_order(cmd, order_id=f"00000000-0000-4000-8000-{serial[-12:].rjust(12, '0')}", today=date(2026, 3, 2),
                       actor="maker", at=AT)


@pytest.mark.parametrize("version", ["pain.001.001.03", "pain.001.001.09"])
def test_a_group_of_orders_becomes_one_schema_valid_message_that_reads_back(version: str) -> None:
    orders = [order("S1", "10.00", payee_account=AccountInput(iban="FR7630006000011234567890189")),
              order("S2", "0.01", payee_account=AccountInput(iban="FR7630006000011234567890189"))]
    message = to_credit_transfer_message(orders, message_id="MSG-1", created_at=AT, initiating_party="Payer GmbH",
                                         today=date(2026, 3, 2))
    parsed = read_pain001(write_pain001(message, version=version))
    assert parsed.number_of_transactions == 2
    assert [t.end_to_end_id for t in parsed.payment_infos[0].transfers] == [o.end_to_end_id.value for o in orders]
    assert sum(t.amount.minor for t in parsed.payment_infos[0].transfers) == 1001


def test_a_domestic_cny_order_carries_its_cnaps_code() -> None:
    domestic = AccountInput(number="6217000010001234567", cnaps="105100000017")
    o = order("S3", "88.00", currency="CNY", payee_account=domestic)
    message = to_credit_transfer_message([o], message_id="MSG-2", created_at=AT, initiating_party="P",
                                         today=o.requested_execution_date)
    transfer = read_pain001(write_pain001(message)).payment_infos[0].transfers[0]
    assert transfer.creditor_account.other_id == "6217000010001234567"
    assert transfer.creditor_bank_code == "105100000017"


def test_a_past_execution_date_is_moved_to_today_not_sent_in_the_past() -> None:
    o = order("S4", "1.00", payee_account=AccountInput(iban="FR7630006000011234567890189"))
    message = to_credit_transfer_message([o], message_id="M", created_at=AT, initiating_party="P",
                                         today=date(2026, 3, 9))
    assert message.payment_infos[0].requested_execution_date == date(2026, 3, 9)


REPORT = StatusReport(
    message_id="R1", created_at=None, original_message_id="M", original_message_type="pain.001.001.09",
    group_status="PART", payments=(
        PaymentStatus("PI-1", "PART", transactions=(TransactionStatus("E2E-A", "ACSC"),
                                                   TransactionStatus("E2E-B", "RJCT", "AM04"))),
        PaymentStatus("PI-2", "RJCT", reason_code="AC01")))


def test_a_transaction_status_wins_over_its_payment_and_group() -> None:
    assert item_status(REPORT, payment_info_id="PI-1", end_to_end_id="E2E-A") == ("ACSC", None)
    assert item_status(REPORT, payment_info_id="PI-1", end_to_end_id="E2E-B") == ("RJCT", "AM04")


def test_without_a_transaction_status_the_payment_status_applies() -> None:
    assert item_status(REPORT, payment_info_id="PI-2", end_to_end_id="E2E-C") == ("RJCT", "AC01")


def test_without_anything_more_specific_the_group_status_applies() -> None:
    assert item_status(REPORT, payment_info_id="PI-9", end_to_end_id="E2E-Z") == ("PART", None)
