"""Role grants under four eyes (R13: "admin grants self approver role").

Granting a role is immediate when one admin gives a non-admin role to someone else. Two kinds of
grant need a second, different admin to approve: any grant of a role to oneself (an admin must not
make themself an approver and then approve payments), and any grant of ADMIN (a rogue admin must
not be able to mint a colleague who does their bidding). The approver may be neither the
requester nor the target. The only exception is the very first admin, created by
`bootstrap_admin` when no user exists yet.

>>> needs_second_admin(requested_by="u1", user_id="u1", role=Role.APPROVER)
True
>>> needs_second_admin(requested_by="u1", user_id="u2", role=Role.OPERATOR)
False
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from yinqi.domain.identity.principal import Role
from yinqi.domain.problems import Conflict, DomainError

__all__ = ["GrantOutcome", "GrantRequest", "GrantRequestNotPending", "GrantRequiresSecondAdmin",
           "check_approver", "needs_second_admin"]


class GrantRequiresSecondAdmin(DomainError):
    code = "GRANT_REQUIRES_SECOND_ADMIN"


class GrantRequestNotPending(Conflict):
    """The request was decided already (HTTP 409)."""


class GrantOutcome(StrEnum):
    PENDING = "pending"    # waits for a second admin
    APPROVED = "approved"  # a second admin approved it; the role is granted
    GRANTED = "granted"    # granted at once (no second admin needed)


@dataclass(frozen=True, slots=True)
class GrantRequest:
    id: str
    user_id: str
    role: Role
    requested_by: str  # user id of the requesting admin
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    outcome: GrantOutcome

    @property
    def pending(self) -> bool:
        return self.outcome is GrantOutcome.PENDING

    def approved(self, *, by: str, at: datetime) -> GrantRequest:
        return replace(self, decided_by=by, decided_at=at, outcome=GrantOutcome.APPROVED)

    def as_audit(self) -> dict[str, object]:
        return {"user_id": self.user_id, "role": self.role.value, "requested_by": self.requested_by,
                "outcome": self.outcome.value}


def needs_second_admin(*, requested_by: str, user_id: str, role: Role) -> bool:
    return role is Role.ADMIN or requested_by == user_id


def check_approver(request: GrantRequest, *, approver_id: str) -> None:
    """Raises:
        GrantRequestNotPending (CONFLICT): the request was decided already.
        GrantRequiresSecondAdmin (GRANT_REQUIRES_SECOND_ADMIN): the approver asked for it or receives it.
    """
    if not request.pending:
        raise GrantRequestNotPending(f"grant request {request.id} is {request.outcome.value}",
                                     where="request_id", rule="pending", value=request.id)
    if approver_id in (request.requested_by, request.user_id):
        raise GrantRequiresSecondAdmin("this grant needs a second admin, other than the requester and the "
                                       "user who receives the role", where="approver",
                                       rule="second_admin", value=request.role.value)
