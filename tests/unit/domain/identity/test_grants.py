"""Role grants under four eyes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from yinqi.domain.identity.grants import (
    GrantOutcome,
    GrantRequest,
    GrantRequestNotPending,
    GrantRequiresSecondAdmin,
    check_approver,
    needs_second_admin,
)
from yinqi.domain.identity.principal import Role

T = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("by", "to", "role", "needs"), [
    ("a1", "a1", Role.APPROVER, True), ("a1", "u2", Role.ADMIN, True), ("a1", "u2", Role.APPROVER, False),
])
def test_which_grants_need_a_second_admin(by: str, to: str, role: Role, needs: bool) -> None:
    assert needs_second_admin(requested_by=by, user_id=to, role=role) is needs


@pytest.mark.parametrize("approver", ["a1", "u2"])
def test_neither_the_requester_nor_the_target_may_approve(approver: str) -> None:
    request = GrantRequest("g", "u2", Role.ADMIN, "a1", T, None, None, GrantOutcome.PENDING)
    with pytest.raises(GrantRequiresSecondAdmin) as refused:
        check_approver(request, approver_id=approver)
    assert (refused.value.code, refused.value.where) == ("GRANT_REQUIRES_SECOND_ADMIN", "approver")


def test_a_decided_request_cannot_be_approved_again() -> None:
    request = GrantRequest("g", "u2", Role.ADMIN, "a1", T, None, None, GrantOutcome.PENDING).approved(by="a3", at=T)
    with pytest.raises(GrantRequestNotPending):
        check_approver(request, approver_id="a4")
