"""Beneficiaries as master data: the payees a company has approved, and every change to them.

Payment fraud most often works by changing where money goes (a forged "our bank details have
changed" letter), so a beneficiary's bank account is never set by one person: creating a
beneficiary and changing its account are proposals that another user with `beneficiary.approve`
must approve (four eyes; the proposer approving is `SOD_SELF_APPROVAL`). An approved account
change then starts a cooling-off period during which payments to the beneficiary are held, giving
the company time to confirm the change by a call-back before money leaves. While a change is
pending, payments to the beneficiary are refused (`BENEFICIARY_CHANGE_PENDING`).

Every proposal and decision is a `BeneficiaryChange` (append-only history); the `Beneficiary` is
the current state, with the id of the one change still pending, if any. Payees match a beneficiary
by normalised name (legal forms, case, accents and script ignored) or by account.

>>> normalise_name("Fournisseur S.A.R.L."), normalise_name("FOURNISSEUR")
('fournisseur', 'fournisseur')
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from yinqi.domain.identifiers import Bic, CountryCode
from yinqi.domain.parties import AccountRef, Address, Payee
from yinqi.domain.problems import DomainError
from yinqi.domain.screening.normalise import normalise_name as _screening_name

__all__ = [
    "Beneficiary", "BeneficiaryAccountUnchanged", "BeneficiaryChange", "BeneficiaryChangeDecided",
    "BeneficiaryChangeNotFound", "BeneficiaryChangePending", "BeneficiaryExists", "BeneficiaryNotActive",
    "BeneficiaryNotFound", "BeneficiarySelfApproval", "BeneficiaryStatus", "ChangeKind", "ChangeStatus",
    "approve_change", "new_beneficiary", "normalise_name", "propose_account_change", "reject_change",
]


class BeneficiaryStatus(StrEnum):
    PENDING = "PENDING"    # proposed, waiting for its first approval; cannot be paid
    ACTIVE = "ACTIVE"
    REJECTED = "REJECTED"  # the creation was rejected


class ChangeKind(StrEnum):
    CREATE = "create"
    ACCOUNT = "account"


class ChangeStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class BeneficiaryNotFound(DomainError):
    code = "BENEFICIARY_NOT_FOUND"


class BeneficiaryChangeNotFound(DomainError):
    code = "BENEFICIARY_CHANGE_NOT_FOUND"


class BeneficiaryChangePending(DomainError):
    """A change of the beneficiary waits for approval or its account is cooling off."""

    code = "BENEFICIARY_CHANGE_PENDING"


class BeneficiaryChangeDecided(DomainError):
    code = "BENEFICIARY_CHANGE_DECIDED"


class BeneficiarySelfApproval(DomainError):
    code = "SOD_SELF_APPROVAL"


class BeneficiaryExists(DomainError):
    code = "BENEFICIARY_EXISTS"


class BeneficiaryNotActive(DomainError):
    code = "BENEFICIARY_NOT_ACTIVE"


class BeneficiaryAccountUnchanged(DomainError):
    code = "BENEFICIARY_ACCOUNT_UNCHANGED"


def normalise_name(name: str) -> str:
    """The comparable form of a name: significant tokens, sorted; legal forms only if nothing else."""
    normalised = _screening_name(name)
    return " ".join(normalised.strong or normalised.tokens)


@dataclass(frozen=True, slots=True)
class Beneficiary:
    id: str
    company_id: str
    name: str
    account: AccountRef
    country: CountryCode
    bic: Bic | None
    address: Address | None
    status: BeneficiaryStatus
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1
    pending_change_id: str | None = None
    cooling_off_until: datetime | None = None

    @property
    def name_key(self) -> str:
        return normalise_name(self.name)

    def cooling_off(self, now: datetime) -> bool:
        return self.cooling_off_until is not None and now < self.cooling_off_until

    def matches(self, *, name: str, account: AccountRef) -> bool:
        return self.name_key == normalise_name(name) or self.account == account


@dataclass(frozen=True, slots=True)
class BeneficiaryChange:
    """One proposal (the new values) and its decision, if any."""

    id: str
    beneficiary_id: str
    company_id: str
    kind: ChangeKind
    proposed: Payee
    old_account: AccountRef | None
    proposed_by: str
    proposed_at: datetime
    reason: str = ""
    status: ChangeStatus = ChangeStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str = ""
    cooling_off_until: datetime | None = None


def new_beneficiary(*, beneficiary_id: str, change_id: str, company_id: str, payee: Payee, proposer: str,
                    at: datetime, reason: str = "") -> tuple[Beneficiary, BeneficiaryChange]:
    """A PENDING beneficiary and the creation proposal another user must approve."""
    beneficiary = Beneficiary(id=beneficiary_id, company_id=company_id, name=payee.name, account=payee.account,
                              country=payee.country, bic=payee.bic, address=payee.address,
                              status=BeneficiaryStatus.PENDING, created_by=proposer, created_at=at, updated_at=at,
                              pending_change_id=change_id)
    change = BeneficiaryChange(id=change_id, beneficiary_id=beneficiary_id, company_id=company_id,
                               kind=ChangeKind.CREATE, proposed=payee, old_account=None, proposed_by=proposer,
                               proposed_at=at, reason=reason)
    return beneficiary, change


def propose_account_change(b: Beneficiary, *, change_id: str, account: AccountRef, bic: Bic | None,
                           proposer: str, at: datetime, reason: str = "") -> tuple[Beneficiary, BeneficiaryChange]:
    """Raises:
        BeneficiaryNotActive (BENEFICIARY_NOT_ACTIVE): not yet approved, or rejected.
        BeneficiaryChangePending (BENEFICIARY_CHANGE_PENDING): another change waits for approval.
        BeneficiaryAccountUnchanged (BENEFICIARY_ACCOUNT_UNCHANGED): same account and bank.
    """
    if b.status is not BeneficiaryStatus.ACTIVE:
        raise BeneficiaryNotActive(f"beneficiary {b.id} is {b.status}; only an active one can change",
                                   where="beneficiary_id", rule="active", value=b.id)
    if b.pending_change_id is not None:
        raise BeneficiaryChangePending(f"change {b.pending_change_id} of beneficiary {b.id} waits for approval",
                                       where="beneficiary_id", rule="one_pending_change", value=b.id,
                                       details={"change_id": b.pending_change_id})
    if account == b.account and bic == b.bic:
        raise BeneficiaryAccountUnchanged("the proposed account is the current one", where="account",
                                          rule="changed", value=account.masked)
    proposed = Payee(name=b.name, account=account, country=b.country, bic=bic, address=b.address)
    change = BeneficiaryChange(id=change_id, beneficiary_id=b.id, company_id=b.company_id, kind=ChangeKind.ACCOUNT,
                               proposed=proposed, old_account=b.account, proposed_by=proposer, proposed_at=at,
                               reason=reason)
    return replace(b, pending_change_id=change_id, updated_at=at), change


def _require_pending(b: Beneficiary, change: BeneficiaryChange) -> None:
    if change.status is not ChangeStatus.PENDING or b.pending_change_id != change.id:
        raise BeneficiaryChangeDecided(f"change {change.id} is already {change.status}", where="change_id",
                                       rule="pending", value=change.id)


def approve_change(b: Beneficiary, change: BeneficiaryChange, *, approver: str, at: datetime,
                   cooling_off: timedelta) -> tuple[Beneficiary, BeneficiaryChange]:
    """The beneficiary with the change applied; an account change cools off until `at + cooling_off`.

    Raises:
        BeneficiarySelfApproval (SOD_SELF_APPROVAL): the proposer may not approve.
        BeneficiaryChangeDecided (BENEFICIARY_CHANGE_DECIDED): approved or rejected already.
    """
    _require_pending(b, change)
    if approver == change.proposed_by:
        raise BeneficiarySelfApproval(f"{approver} proposed change {change.id} and may not approve it",
                                      where="actor", rule="four_eyes", value=approver)
    new = change.proposed
    until = at + cooling_off if change.kind is ChangeKind.ACCOUNT else None
    approved = replace(b, name=new.name, account=new.account, country=new.country, bic=new.bic,
                       address=new.address, status=BeneficiaryStatus.ACTIVE, pending_change_id=None,
                       cooling_off_until=until if until is not None else b.cooling_off_until, updated_at=at)
    decided = replace(change, status=ChangeStatus.APPROVED, decided_by=approver, decided_at=at,
                      cooling_off_until=until)
    return approved, decided


def reject_change(b: Beneficiary, change: BeneficiaryChange, *, approver: str, at: datetime,
                  reason: str) -> tuple[Beneficiary, BeneficiaryChange]:
    """The beneficiary without the change (a rejected creation leaves it REJECTED). The proposer may
    withdraw their own proposal this way: rejecting moves no money.

    Raises:
        BeneficiaryChangeDecided (BENEFICIARY_CHANGE_DECIDED): approved or rejected already.
    """
    _require_pending(b, change)
    status = BeneficiaryStatus.REJECTED if change.kind is ChangeKind.CREATE else b.status
    rejected = replace(b, status=status, pending_change_id=None, updated_at=at)
    decided = replace(change, status=ChangeStatus.REJECTED, decided_by=approver, decided_at=at,
                      decision_reason=reason)
    return rejected, decided
