"""Beneficiary use cases: propose a new beneficiary or an account change, approve or reject it
(four eyes), list them, and `check_payable`, which the approval of every payment order calls.

Each use case takes a unit of work, a clock and the acting `Principal` (keyword-only), authorises
(role permission, and company grant: another company's beneficiary is "not found", never
"forbidden", so ids do not leak), applies the domain rule, appends the history row, records one
audit event with masked accounts, and commits once. A refused action raises; the entry point
records the refusal with `yinqi.application.audit.record_refusal` (its own transaction).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from yinqi.application import audit
from yinqi.application.ports import Clock
from yinqi.domain import beneficiaries as rules
from yinqi.domain.beneficiaries import (
    Beneficiary,
    BeneficiaryChange,
    BeneficiaryChangeNotFound,
    BeneficiaryChangePending,
    BeneficiaryExists,
    BeneficiaryNotFound,
    BeneficiaryStatus,
)
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Forbidden, Principal
from yinqi.domain.orders.checks import build_payee
from yinqi.domain.orders.commands import AccountInput, AddressInput, PayeeInput
from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.parties import AccountRef, Address

__all__ = [
    "DEFAULT_COOLING_OFF", "BeneficiaryListing", "approve_change", "beneficiary_history", "beneficiary_view",
    "change_view", "check_payable", "list_beneficiaries", "propose_beneficiary", "propose_change", "reject_change",
]

DEFAULT_COOLING_OFF = timedelta(hours=24)
OBJECT = "beneficiary"


@dataclass(frozen=True, slots=True)
class BeneficiaryListing:
    beneficiary: Beneficiary
    pending: BeneficiaryChange | None


# --- views (masked: what audit events and low roles see) --------------------------------------
def _account(account: AccountRef | None, *, reveal: bool = False) -> dict[str, Any] | None:
    if account is None:
        return None
    return {"scheme": account.scheme, "number": account.number if reveal else account.masked,
            "bank_code": account.bank_code}


def _address(address: Address | None) -> dict[str, Any] | None:
    return None if address is None else {"street": address.street, "building_number": address.building_number,
                                         "postcode": address.postcode, "town": address.town}


def beneficiary_view(b: Beneficiary, *, reveal: bool = False) -> dict[str, Any]:
    return {"id": b.id, "company_id": b.company_id, "name": b.name, "account": _account(b.account, reveal=reveal),
            "bic": b.bic.value if b.bic else None, "country": b.country.value, "address": _address(b.address),
            "status": b.status.value, "pending_change_id": b.pending_change_id,
            "cooling_off_until": b.cooling_off_until.isoformat() if b.cooling_off_until else None,
            "created_by": b.created_by, "created_at": b.created_at.isoformat(), "version": b.version}


def change_view(c: BeneficiaryChange, *, reveal: bool = False) -> dict[str, Any]:
    new = c.proposed
    return {"id": c.id, "beneficiary_id": c.beneficiary_id, "company_id": c.company_id, "kind": c.kind.value,
            "status": c.status.value, "name": new.name, "old_account": _account(c.old_account, reveal=reveal),
            "new_account": _account(new.account, reveal=reveal), "bic": new.bic.value if new.bic else None,
            "country": new.country.value, "proposed_by": c.proposed_by, "proposed_at": c.proposed_at.isoformat(),
            "reason": c.reason, "decided_by": c.decided_by,
            "decided_at": c.decided_at.isoformat() if c.decided_at else None, "decision_reason": c.decision_reason,
            "cooling_off_until": c.cooling_off_until.isoformat() if c.cooling_off_until else None}


# --- authorisation ------------------------------------------------------------------------------
def _visible(principal: Principal, company_id: str, *, what: str, object_id: str) -> None:
    if not principal.can_see_company(company_id):
        raise (BeneficiaryChangeNotFound if what == "change" else BeneficiaryNotFound)(
            f"beneficiary {'change ' if what == 'change' else ''}{object_id} does not exist", where=f"{what}_id",
            rule="exists", value=object_id)  # word for word the store's answer for a missing id (R18)


def _load(uow: Any, principal: Principal, beneficiary_id: str) -> Beneficiary:
    b: Beneficiary = uow.beneficiaries.get(beneficiary_id, for_update=True)
    _visible(principal, b.company_id, what="beneficiary", object_id=beneficiary_id)
    return b


def _load_change(uow: Any, principal: Principal, change_id: str) -> tuple[Beneficiary, BeneficiaryChange]:
    change: BeneficiaryChange = uow.beneficiaries.get_change(change_id)
    _visible(principal, change.company_id, what="change", object_id=change_id)
    return uow.beneficiaries.get(change.beneficiary_id, for_update=True), change


# --- use cases ----------------------------------------------------------------------------------
def propose_beneficiary(*, uow: Any, clock: Clock, principal: Principal, company_id: str, name: str,
                        account: AccountInput, country: str, bic: str | None = None,
                        address: AddressInput | None = None, reason: str = "") -> BeneficiaryChange:
    """A new beneficiary, PENDING until another user approves the returned creation change.

    Raises:
        Forbidden (FORBIDDEN): no `beneficiary.propose`, or no grant on `company_id`.
        ValidationFailed (VALIDATION_FAILED): every problem with the values (`where` as in the body).
        BeneficiaryExists (BENEFICIARY_EXISTS): the company has a beneficiary of that name already.
    """
    require(principal, Permission.BENEFICIARY_PROPOSE)
    if not principal.can_see_company(company_id):
        raise Forbidden(f"{principal.actor_id} has no grant on company {company_id}", where="company_id",
                        rule="company_grant", value=company_id)
    payee = build_payee(PayeeInput(name=name, account=account, country=country, bic=bic, address=address),
                        prefix="")
    existing = [b for b in uow.beneficiaries.find_by_name(company_id, payee.name)
                if b.status is not BeneficiaryStatus.REJECTED]
    if existing:
        raise BeneficiaryExists(f"beneficiary {existing[0].id} already has this name", where="name",
                                rule="unique_name", value=payee.name, details={"beneficiary_id": existing[0].id})
    now = clock.now()
    beneficiary, change = rules.new_beneficiary(beneficiary_id=str(uuid.uuid4()), change_id=str(uuid.uuid4()),
                                                company_id=company_id, payee=payee, proposer=principal.actor_id,
                                                at=now, reason=reason)
    uow.beneficiaries.add(beneficiary, change)
    audit.record(uow, principal=principal, action="beneficiary.propose", object_type=OBJECT,
                 object_id=beneficiary.id, at=now, after=change_view(change), reason=reason, company_id=company_id)
    uow.commit()
    return change


def propose_change(*, uow: Any, clock: Clock, principal: Principal, beneficiary_id: str, account: AccountInput,
                   bic: str | None = None, reason: str = "") -> BeneficiaryChange:
    """A proposed new bank account for the beneficiary; payments to it are refused until decided.

    Raises:
        Forbidden (FORBIDDEN), BeneficiaryNotFound (BENEFICIARY_NOT_FOUND; also another company's),
        ValidationFailed (VALIDATION_FAILED), BeneficiaryNotActive (BENEFICIARY_NOT_ACTIVE),
        BeneficiaryChangePending (BENEFICIARY_CHANGE_PENDING), BeneficiaryAccountUnchanged.
    """
    require(principal, Permission.BENEFICIARY_PROPOSE)
    b = _load(uow, principal, beneficiary_id)
    parsed = build_payee(PayeeInput(name=b.name, account=account, country=b.country.value, bic=bic), prefix="")
    now = clock.now()
    changed, change = rules.propose_account_change(b, change_id=str(uuid.uuid4()), account=parsed.account,
                                                   bic=parsed.bic, proposer=principal.actor_id, at=now,
                                                   reason=reason)
    uow.beneficiaries.propose(changed, change, expected_version=b.version)
    audit.record(uow, principal=principal, action="beneficiary.change.propose", object_type=OBJECT,
                 object_id=b.id, at=now, before=beneficiary_view(b), after=change_view(change), reason=reason,
                 company_id=b.company_id)
    uow.commit()
    return change


def approve_change(*, uow: Any, clock: Clock, principal: Principal, change_id: str,
                   cooling_off: timedelta = DEFAULT_COOLING_OFF) -> Beneficiary:
    """Apply the change (four eyes); an account change cools off for `cooling_off` from now.

    Raises:
        Forbidden (FORBIDDEN): no `beneficiary.approve`.
        BeneficiaryChangeNotFound (BENEFICIARY_CHANGE_NOT_FOUND; also another company's).
        BeneficiarySelfApproval (SOD_SELF_APPROVAL): the proposer approving.
        BeneficiaryChangeDecided (BENEFICIARY_CHANGE_DECIDED): decided already.
    """
    require(principal, Permission.BENEFICIARY_APPROVE)
    b, change = _load_change(uow, principal, change_id)
    now = clock.now()
    approved, decided = rules.approve_change(b, change, approver=principal.actor_id, at=now, cooling_off=cooling_off)
    uow.beneficiaries.decide(approved, decided, expected_version=b.version)
    audit.record(uow, principal=principal, action="beneficiary.change.approve", object_type=OBJECT,
                 object_id=b.id, at=now, before=beneficiary_view(b), after=beneficiary_view(approved),
                 reason=f"change {change.id} ({change.kind.value}) proposed by {change.proposed_by}",
                 company_id=b.company_id)
    uow.commit()
    return approved


def reject_change(*, uow: Any, clock: Clock, principal: Principal, change_id: str, reason: str) -> Beneficiary:
    """Drop the change (a rejected creation leaves the beneficiary REJECTED).

    Raises:
        Forbidden (FORBIDDEN), BeneficiaryChangeNotFound (BENEFICIARY_CHANGE_NOT_FOUND),
        BeneficiaryChangeDecided (BENEFICIARY_CHANGE_DECIDED).
    """
    require(principal, Permission.BENEFICIARY_APPROVE)
    b, change = _load_change(uow, principal, change_id)
    now = clock.now()
    rejected, decided = rules.reject_change(b, change, approver=principal.actor_id, at=now, reason=reason)
    uow.beneficiaries.decide(rejected, decided, expected_version=b.version)
    audit.record(uow, principal=principal, action="beneficiary.change.reject", object_type=OBJECT,
                 object_id=b.id, at=now, before=beneficiary_view(b), after=beneficiary_view(rejected),
                 reason=reason, company_id=b.company_id)
    uow.commit()
    return rejected


def list_beneficiaries(*, uow: Any, principal: Principal) -> list[BeneficiaryListing]:
    """The beneficiaries of the companies the principal may see, each with its pending change.

    Raises:
        Forbidden (FORBIDDEN): no `beneficiary.read`.
    """
    require(principal, Permission.BENEFICIARY_READ)
    companies = None if principal.all_companies else sorted(principal.companies)
    pending = {c.id: c for c in uow.beneficiaries.pending_changes(company_ids=companies)}
    return [BeneficiaryListing(b, pending.get(b.pending_change_id or ""))
            for b in uow.beneficiaries.list(company_ids=companies)]


def beneficiary_history(*, uow: Any, principal: Principal, beneficiary_id: str) -> tuple[Beneficiary,
                                                                                        list[BeneficiaryChange]]:
    """Raises Forbidden (FORBIDDEN), BeneficiaryNotFound (BENEFICIARY_NOT_FOUND)."""
    require(principal, Permission.BENEFICIARY_READ)
    b: Beneficiary = uow.beneficiaries.get(beneficiary_id)
    _visible(principal, b.company_id, what="beneficiary", object_id=beneficiary_id)
    return b, uow.beneficiaries.changes(beneficiary_id)


# --- payment guard ------------------------------------------------------------------------------
def check_payable(uow: Any, order: PaymentOrder, *, now: datetime) -> None:
    """Refuse to approve a payment to a beneficiary whose account is not settled yet.

    The order's payee matches a beneficiary of its company by normalised name or by account. If
    that beneficiary has a change waiting for approval (its creation, or a new account), or its
    account changed less than the cooling-off period ago, the approval must wait.

    Raises:
        BeneficiaryChangePending (BENEFICIARY_CHANGE_PENDING): with the beneficiary id in `details`.
    """
    for b in uow.beneficiaries.find_for_payee(order.company_id, name=order.payee.name, account=order.payee.account):
        if b.status is BeneficiaryStatus.REJECTED:
            continue
        if b.pending_change_id is not None:
            raise BeneficiaryChangePending(
                f"beneficiary {b.name} has change {b.pending_change_id} waiting for approval; payment order "
                f"{order.id} cannot be approved before it is decided", where="payee", rule="no_pending_change",
                value=order.payee.account.masked,
                details={"beneficiary_id": b.id, "change_id": b.pending_change_id, "order_id": order.id})
        if b.cooling_off(now):
            assert b.cooling_off_until is not None
            raise BeneficiaryChangePending(
                f"the account of beneficiary {b.name} changed recently; payments to it wait until "
                f"{b.cooling_off_until.isoformat()}", where="payee", rule="cooling_off",
                value=order.payee.account.masked,
                details={"beneficiary_id": b.id, "cooling_off_until": b.cooling_off_until.isoformat(),
                         "order_id": order.id})
