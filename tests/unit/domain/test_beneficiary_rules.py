"""Beneficiary rules (pure): four eyes, one pending change, cooling-off, payee matching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from yinqi.domain.beneficiaries import (
    Beneficiary,
    BeneficiaryStatus,
    ChangeStatus,
    approve_change,
    new_beneficiary,
    normalise_name,
    propose_account_change,
    reject_change,
)
from yinqi.domain.identifiers import CountryCode, Iban
from yinqi.domain.parties import AccountRef, Payee
from yinqi.domain.problems import DomainError

AT = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
OLD = AccountRef(iban=Iban.parse("FR1420041010050500013M02606"))
NEW = AccountRef(iban=Iban.parse("FR7630006000011234567890189"))
PAYEE = Payee(name="Fournisseur SARL", account=OLD, country=CountryCode("FR"))
DAY = timedelta(hours=24)


def active() -> Beneficiary:
    b, c = new_beneficiary(beneficiary_id="b1", change_id="c1", company_id="ACME", payee=PAYEE, proposer="maker",
                           at=AT)
    return approve_change(b, c, approver="checker", at=AT, cooling_off=DAY)[0]


def code(exc: pytest.ExceptionInfo[DomainError]) -> tuple[str, str, str]:
    return exc.value.code, exc.value.where, exc.value.rule


def test_a_new_beneficiary_is_pending_until_someone_else_approves_it() -> None:
    b, c = new_beneficiary(beneficiary_id="b1", change_id="c1", company_id="ACME", payee=PAYEE, proposer="maker",
                           at=AT)
    assert b.status is BeneficiaryStatus.PENDING and b.pending_change_id == "c1"
    with pytest.raises(DomainError) as err:
        approve_change(b, c, approver="maker", at=AT, cooling_off=DAY)
    assert code(err) == ("SOD_SELF_APPROVAL", "actor", "four_eyes")
    approved, decided = approve_change(b, c, approver="checker", at=AT, cooling_off=DAY)
    assert approved.status is BeneficiaryStatus.ACTIVE and approved.pending_change_id is None
    assert approved.cooling_off_until is None and decided.status is ChangeStatus.APPROVED


def test_an_approved_account_change_cools_off_from_the_approval() -> None:
    b, c = propose_account_change(active(), change_id="c2", account=NEW, bic=None, proposer="maker", at=AT)
    later = AT + timedelta(hours=5)
    changed, decided = approve_change(b, c, approver="checker", at=later, cooling_off=DAY)
    assert changed.account == NEW and decided.old_account == OLD
    assert changed.cooling_off(later + DAY - timedelta(seconds=1)) and not changed.cooling_off(later + DAY)


def test_only_one_change_may_wait_at_a_time() -> None:
    b, _ = propose_account_change(active(), change_id="c2", account=NEW, bic=None, proposer="maker", at=AT)
    with pytest.raises(DomainError) as err:
        propose_account_change(b, change_id="c3", account=OLD, bic=None, proposer="maker", at=AT)
    assert code(err) == ("BENEFICIARY_CHANGE_PENDING", "beneficiary_id", "one_pending_change")


def test_the_current_account_is_no_change_and_a_pending_beneficiary_cannot_change() -> None:
    with pytest.raises(DomainError) as err:
        propose_account_change(active(), change_id="c2", account=OLD, bic=None, proposer="maker", at=AT)
    assert code(err) == ("BENEFICIARY_ACCOUNT_UNCHANGED", "account", "changed")
    pending, _ = new_beneficiary(beneficiary_id="b1", change_id="c1", company_id="ACME", payee=PAYEE,
                                 proposer="maker", at=AT)
    with pytest.raises(DomainError) as err:
        propose_account_change(pending, change_id="c2", account=NEW, bic=None, proposer="maker", at=AT)
    assert code(err) == ("BENEFICIARY_NOT_ACTIVE", "beneficiary_id", "active")


def test_a_rejected_change_keeps_the_old_account_and_cannot_be_decided_again() -> None:
    b, c = propose_account_change(active(), change_id="c2", account=NEW, bic=None, proposer="maker", at=AT)
    kept, decided = reject_change(b, c, approver="maker", at=AT, reason="withdrawn")
    assert kept.account == OLD and kept.status is BeneficiaryStatus.ACTIVE and kept.pending_change_id is None
    with pytest.raises(DomainError) as err:
        approve_change(kept, decided, approver="checker", at=AT, cooling_off=DAY)
    assert code(err) == ("BENEFICIARY_CHANGE_DECIDED", "change_id", "pending")


@pytest.mark.parametrize(("a", "b"), [("Fournisseur SARL", "FOURNISSEUR"), ("Müller GmbH", "muller"),
                                      ("ACME Ltd.", "Acme Limited"), ("上海供应商有限公司", "上海供应商")])
def test_names_match_whatever_their_case_accents_or_legal_form(a: str, b: str) -> None:
    assert normalise_name(a) == normalise_name(b)


def test_a_beneficiary_matches_a_payee_by_name_or_by_account() -> None:
    b = active()
    assert b.matches(name="FOURNISSEUR", account=NEW)
    assert b.matches(name="Someone else", account=OLD)
    assert not b.matches(name="Someone else", account=NEW)
