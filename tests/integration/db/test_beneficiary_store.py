"""Beneficiaries as master data on both backends: four-eyes approval of creations and account
changes, cooling-off, `check_payable`, company separation, audit events with masked accounts,
and the append-only change history."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.support.vault import TEST_VAULT
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application import beneficiaries as cases
from yinqi.domain.identity.principal import Channel, Principal, Role
from yinqi.domain.orders.checks import build_order
from yinqi.domain.orders.commands import AccountInput, AddressInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.problems import DomainError, ValidationFailed

AT = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
KEY = b"k" * 32
IBAN = "FR1420041010050500013M02606"
NEW_IBAN = "FR7630006000011234567890189"


def who(name: str, *roles: Role, companies: frozenset[str] = frozenset({"ACME"})) -> Principal:
    return Principal(f"u-{name}", name, frozenset(roles), companies, Channel.API, source_address="127.0.0.1")


MAKER = who("maker", Role.OPERATOR)
CHECKER = who("checker", Role.APPROVER)
RISK = who("risk", Role.RISK_OFFICER)
OUTSIDER = who("outsider", Role.APPROVER, Role.OPERATOR, companies=frozenset({"OTHER"}))


class Clock:
    def __init__(self, at: datetime = AT) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def uow(engine: Engine) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, ledger_key=KEY, vault=TEST_VAULT)


def propose(engine: Engine, *, by: Principal = MAKER, name: str = "Fournisseur SARL", iban: str = IBAN,
            at: datetime = AT) -> str:
    with uow(engine) as u:
        return cases.propose_beneficiary(uow=u, clock=Clock(at), principal=by, company_id="ACME", name=name,
                                         account=AccountInput(iban=iban), country="FR", bic="BNPAFRPPXXX",
                                         address=AddressInput(town="Paris"), reason="new supplier").id


def approve(engine: Engine, change_id: str, *, by: Principal = CHECKER, at: datetime = AT,
            hours: int = 24) -> None:
    with uow(engine) as u:
        cases.approve_change(uow=u, clock=Clock(at), principal=by, change_id=change_id,
                             cooling_off=timedelta(hours=hours))


def change_account(engine: Engine, beneficiary_id: str, *, iban: str = NEW_IBAN, at: datetime = AT) -> str:
    with uow(engine) as u:
        return cases.propose_change(uow=u, clock=Clock(at), principal=MAKER, beneficiary_id=beneficiary_id,
                                    account=AccountInput(iban=iban), reason="letter of 2030-01-09").id


def active_beneficiary(engine: Engine) -> str:
    change_id = propose(engine, at=AT - timedelta(days=30))
    approve(engine, change_id, at=AT - timedelta(days=30))
    with uow(engine) as u:
        return str(u.beneficiaries.get_change(change_id).beneficiary_id)


def an_order(*, iban: str = IBAN, name: str = "Fournisseur") -> PaymentOrder:
    cmd = CreateOrder(company_id="ACME", serial="S-1", amount="100.00", currency="EUR",
                      requested_execution_date=date(2030, 1, 10),
                      payer=PayerInput(name="Acme", account=AccountInput(iban="DE89370400440532013000"),
                                       currency="EUR"),
                      payee=PayeeInput(name=name, account=AccountInput(iban=iban), country="FR"))
    return build_order(cmd, order_id="00000000-0000-4000-8000-000000000001", today=date(2030, 1, 10), actor="m",
                       at=AT)


def payable(engine: Engine, order: PaymentOrder, *, at: datetime = AT) -> str | None:
    with uow(engine) as u:
        try:
            cases.check_payable(u, order, now=at)
        except DomainError as exc:
            return exc.code
    return None


def audit_events(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT action, outcome, after_json FROM audit_events ORDER BY seq")).all()
    return [(r[0], r[1], r[2]) for r in rows]


# --- four eyes ---------------------------------------------------------------------------------
def test_a_proposed_beneficiary_waits_for_another_user_and_the_proposer_cannot_approve(engine: Engine) -> None:
    change_id = propose(engine)
    with uow(engine) as u, pytest.raises(DomainError) as err:
        cases.approve_change(uow=u, clock=Clock(), principal=who("maker", Role.OPERATOR, Role.APPROVER),
                             change_id=change_id)
    assert (err.value.code, err.value.where, err.value.rule) == ("SOD_SELF_APPROVAL", "actor", "four_eyes")
    with uow(engine) as u:
        [listing] = cases.list_beneficiaries(uow=u, principal=CHECKER)
    assert listing.beneficiary.status.value == "PENDING" and listing.pending is not None
    assert listing.pending.id == change_id and listing.pending.proposed_by == "maker"
    approve(engine, change_id)
    with uow(engine) as u:
        [listing] = cases.list_beneficiaries(uow=u, principal=CHECKER)
        history = u.beneficiaries.changes(listing.beneficiary.id)
    assert listing.beneficiary.status.value == "ACTIVE" and listing.pending is None
    assert listing.beneficiary.cooling_off_until is None  # a new beneficiary does not cool off
    assert [(c.kind.value, c.status.value, c.proposed_by, c.decided_by) for c in history] == [
        ("create", "APPROVED", "maker", "checker")]


def test_an_operator_cannot_approve_and_an_approver_cannot_propose(engine: Engine) -> None:
    change_id = propose(engine)
    with uow(engine) as u, pytest.raises(DomainError) as err:
        cases.approve_change(uow=u, clock=Clock(), principal=who("op2", Role.OPERATOR), change_id=change_id)
    assert err.value.code == "FORBIDDEN"
    with pytest.raises(DomainError) as err:
        propose(engine, by=CHECKER, name="Another")
    assert err.value.code == "FORBIDDEN"


def test_a_change_is_decided_once(engine: Engine) -> None:
    change_id = propose(engine)
    approve(engine, change_id)
    with uow(engine) as u, pytest.raises(DomainError) as err:
        cases.reject_change(uow=u, clock=Clock(), principal=RISK, change_id=change_id, reason="too late")
    assert err.value.code == "BENEFICIARY_CHANGE_DECIDED"


def test_a_rejected_creation_leaves_the_beneficiary_rejected_and_its_name_free(engine: Engine) -> None:
    change_id = propose(engine)
    with uow(engine) as u:
        rejected = cases.reject_change(uow=u, clock=Clock(), principal=RISK, change_id=change_id,
                                       reason="unknown supplier")
    assert rejected.status.value == "REJECTED"
    propose(engine)  # the same name may be proposed again


def test_the_same_name_cannot_be_proposed_twice(engine: Engine) -> None:
    propose(engine)
    with pytest.raises(DomainError) as err:
        propose(engine, name="FOURNISSEUR sarl")
    assert (err.value.code, err.value.where) == ("BENEFICIARY_EXISTS", "name")


def test_bad_values_are_refused_with_every_problem(engine: Engine) -> None:
    with uow(engine) as u, pytest.raises(ValidationFailed) as err:
        cases.propose_beneficiary(uow=u, clock=Clock(), principal=MAKER, company_id="ACME", name="",
                                  account=AccountInput(number="12", cnaps="1021"), country="XX")
    assert [(p.code, p.where, p.rule) for p in err.value.problems] == [
        ("FIELD_REQUIRED", "name", "required"), ("DOMESTIC_ACCOUNT_INVALID", "account.number", "cn_account_digits"),
        ("DOMESTIC_ACCOUNT_INVALID", "account.cnaps", "cnaps_12_digits"),
        ("COUNTRY_INVALID", "country", "iso3166_alpha2")]


# --- account change, cooling-off, check_payable ---------------------------------------------------
def test_an_account_change_needs_four_eyes_and_then_cools_off(engine: Engine) -> None:
    beneficiary_id = active_beneficiary(engine)
    change_id = change_account(engine, beneficiary_id)
    with pytest.raises(DomainError) as err:
        change_account(engine, beneficiary_id, iban="DE89370400440532013000")
    assert err.value.code == "BENEFICIARY_CHANGE_PENDING"  # one pending change at a time
    with pytest.raises(DomainError) as err:
        approve(engine, change_id, by=who("maker", Role.APPROVER))
    assert err.value.code == "SOD_SELF_APPROVAL"
    approve(engine, change_id, hours=24)
    with uow(engine) as u:
        b = u.beneficiaries.get(beneficiary_id)
        [created, new] = u.beneficiaries.changes(beneficiary_id)
    assert (created.kind.value, new.kind.value) == ("create", "account")
    assert b.account.number == NEW_IBAN and b.cooling_off_until == AT + timedelta(hours=24)
    assert new.old_account is not None and new.old_account.number == IBAN
    assert new.cooling_off_until == AT + timedelta(hours=24) and new.decided_by == "checker"


def test_check_payable_refuses_while_a_change_is_pending_or_cooling_off(engine: Engine) -> None:
    beneficiary_id = active_beneficiary(engine)
    assert payable(engine, an_order()) is None
    change_id = change_account(engine, beneficiary_id)
    assert payable(engine, an_order()) == "BENEFICIARY_CHANGE_PENDING"  # by name and by old account
    assert payable(engine, an_order(iban=NEW_IBAN, name="Someone Else")) is None  # no record of that account yet
    approve(engine, change_id, hours=24)
    assert payable(engine, an_order(iban=NEW_IBAN), at=AT + timedelta(hours=23, minutes=59)) == \
        "BENEFICIARY_CHANGE_PENDING"
    assert payable(engine, an_order(iban=NEW_IBAN, name="x"), at=AT + timedelta(hours=1)) == \
        "BENEFICIARY_CHANGE_PENDING"  # by account alone
    assert payable(engine, an_order(iban=NEW_IBAN), at=AT + timedelta(hours=24)) is None


def test_check_payable_names_the_beneficiary_and_the_pending_change(engine: Engine) -> None:
    beneficiary_id = active_beneficiary(engine)
    change_id = change_account(engine, beneficiary_id)
    with uow(engine) as u, pytest.raises(DomainError) as err:
        cases.check_payable(u, an_order(), now=AT)
    assert err.value.rule == "no_pending_change"
    assert err.value.details == {"beneficiary_id": beneficiary_id, "change_id": change_id,
                                 "order_id": "00000000-0000-4000-8000-000000000001"}


def test_a_payee_with_no_beneficiary_record_is_payable(engine: Engine) -> None:
    assert payable(engine, an_order()) is None


# --- company separation -------------------------------------------------------------------------
def test_another_companys_beneficiary_and_change_are_not_found(engine: Engine) -> None:
    change_id = propose(engine)
    with uow(engine) as u, pytest.raises(DomainError) as err:
        cases.approve_change(uow=u, clock=Clock(), principal=OUTSIDER, change_id=change_id)
    assert err.value.code == "BENEFICIARY_CHANGE_NOT_FOUND"
    with uow(engine) as u:
        beneficiary_id = u.beneficiaries.get_change(change_id).beneficiary_id
        assert cases.list_beneficiaries(uow=u, principal=OUTSIDER) == []
    with uow(engine) as u, pytest.raises(DomainError) as err:
        cases.propose_change(uow=u, clock=Clock(), principal=OUTSIDER, beneficiary_id=beneficiary_id,
                             account=AccountInput(iban=NEW_IBAN))
    assert err.value.code == "BENEFICIARY_NOT_FOUND"
    with uow(engine) as u, pytest.raises(DomainError) as err:
        cases.propose_beneficiary(uow=u, clock=Clock(), principal=OUTSIDER, company_id="ACME", name="X",
                                  account=AccountInput(iban=IBAN), country="FR")
    assert err.value.code == "FORBIDDEN"


# --- audit and history ----------------------------------------------------------------------------
def test_every_action_is_audited_with_masked_accounts(engine: Engine) -> None:
    beneficiary_id = active_beneficiary(engine)
    change_id = change_account(engine, beneficiary_id)
    with uow(engine) as u:
        cases.reject_change(uow=u, clock=Clock(), principal=RISK, change_id=change_id, reason="call-back failed")
    events = audit_events(engine)
    assert [(a, o) for a, o, _ in events] == [
        ("beneficiary.propose", "success"), ("beneficiary.change.approve", "success"),
        ("beneficiary.change.propose", "success"), ("beneficiary.change.reject", "success")]
    proposal = json.loads(events[2][2] or "{}")
    assert proposal["old_account"]["number"] == "FR14*******************2606"
    assert proposal["new_account"]["number"] == "FR76*******************0189"
    with engine.connect() as conn:
        dump = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_events")).all())
    assert IBAN not in dump and NEW_IBAN not in dump


def test_the_change_history_is_append_only_in_the_database(engine: Engine) -> None:
    propose(engine)
    for statement in ("UPDATE beneficiary_changes SET actor = 'mallory'", "DELETE FROM beneficiary_changes"):
        with engine.connect() as conn, pytest.raises(DBAPIError):
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM beneficiary_changes")).scalar_one() == "maker"
