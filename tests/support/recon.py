"""Set-up for reconciliation tests: sent orders of company ACME paying from PAYER_IBAN, a stored
statement on that account, and the people who read and decide the exceptions queue."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tests.support.orders import PAYER_IBAN, checker, make_order
from yinqi.adapters.iso20022.model import AccountId, Statement, StatementEntry
from yinqi.application import orders as cases
from yinqi.domain.identity.principal import Channel, Principal, Role
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.order import PaymentOrder

DAY = date(2030, 1, 10)
HOME = "ACME"


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2030, 1, 10, 18, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def member(username: str, role: Role, *companies: str) -> Principal:
    """A person granted `companies` (ACME by default) with one role."""
    return Principal(user_id=f"u-{username}", username=username, roles=frozenset({role}),
                     companies=frozenset(companies or {HOME}), channel=Channel.API)


TREASURER = member("tess", Role.TREASURER)
OPERATOR = member("olivia", Role.OPERATOR)
AUDITOR = member("audrey", Role.AUDITOR)
OUTSIDER = member("otto", Role.TREASURER, "OTHER-CO")


def sent_order(new_uow: Any, clock: Any, serial: str, amount: str, *, payee: str = "Kalo Trading GmbH",
               remittance: str | None = None) -> PaymentOrder:
    command = CreateOrder(
        company_id=HOME, serial=serial, amount=amount, currency="EUR", requested_execution_date=DAY,
        remittance_info=remittance,
        payer=PayerInput(name="Acme", account=AccountInput(iban=PAYER_IBAN), currency="EUR"),
        payee=PayeeInput(name=payee, account=AccountInput(iban="FR1420041010050500013M02606"), country="FR"))
    with new_uow() as u:
        order = make_order(u, clock, command, auto_limit_minor=10_000_000)
        cases.release_order(uow=u, clock=clock, principal=checker(clock, "ops", "treasurer"), order_id=order.id)
        return cases.mark_sent(uow=u, clock=clock, actor="worker", order_id=order.id, message_id=f"MSG-{serial}")


def line(ref: str, amount: str, *, e2e: str | None = None, text: str | None = None,
         name: str | None = "KALO TRADING GMBH") -> StatementEntry:
    return StatementEntry(Decimal(amount), "EUR", "BOOK", DAY, DAY, bank_reference=ref,
                          end_to_end_ids=(e2e,) if e2e else (), counterparty_name=name, remittance=text)


def store_statement(new_uow: Any, clock: Any, entries: list[StatementEntry], *, statement_id: str = "STMT-1",
                    digest: str = "a") -> list[int]:
    """Store the statement; the ids of its entries, in order."""
    statement = Statement(statement_id, AccountId(iban=PAYER_IBAN, currency="EUR"), None, None, tuple(entries))
    with new_uow() as u:
        result = u.statements.import_statement(statement, fmt="camt.053.001.08", source_sha256=digest * 64,
                                               at=clock.now())
        u.commit()
    return [e.id for e in result.entries]
