"""What each role may do: one table from permission to roles, read by the use cases, the API, the
console navigation and the authorisation-matrix test.

Permissions are verbs on domain nouns. An API token is limited further by its scopes (a subset of
its user's permissions). `account.reveal` is field-level: without it account numbers are masked.

>>> from yinqi.domain.identity.principal import Channel, Principal, Role
>>> alice = Principal("u1", "alice", frozenset({Role.OPERATOR}), frozenset({"ACME"}), Channel.CONSOLE)
>>> allowed(alice, Permission.ORDER_CREATE), allowed(alice, Permission.ORDER_APPROVE)
(True, False)
"""

from __future__ import annotations

from enum import StrEnum

from yinqi.domain.identity.principal import Forbidden, Principal, Role

__all__ = ["PERMISSIONS", "Permission", "allowed", "require"]


class Permission(StrEnum):
    ORDER_READ = "order.read"
    ORDER_CREATE = "order.create"
    ORDER_IMPORT = "order.import"
    ORDER_APPROVE = "order.approve"
    ORDER_REJECT = "order.reject"
    ORDER_RELEASE = "order.release"
    ORDER_CANCEL = "order.cancel"
    ACCOUNT_REVEAL = "account.reveal"
    BENEFICIARY_READ = "beneficiary.read"
    BENEFICIARY_PROPOSE = "beneficiary.propose"
    BENEFICIARY_APPROVE = "beneficiary.approve"
    RISK_REVIEW = "risk.review"
    LEDGER_READ = "ledger.read"
    STATEMENT_READ = "statement.read"
    STATEMENT_IMPORT = "statement.import"
    RECON_READ = "recon.read"
    RECON_RESOLVE = "recon.resolve"
    AUDIT_READ = "audit.read"
    USER_READ = "user.read"
    USER_MANAGE = "user.manage"
    ROLE_GRANT = "role.grant"
    TOKEN_MANAGE = "token.manage"
    POLICY_READ = "policy.read"
    POLICY_MANAGE = "policy.manage"
    KEY_ROTATE = "key.rotate"


P, R = Permission, Role
_READ_ALL = {P.ORDER_READ, P.BENEFICIARY_READ, P.LEDGER_READ, P.STATEMENT_READ, P.RECON_READ}

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    R.OPERATOR: frozenset({P.ORDER_READ, P.ORDER_CREATE, P.ORDER_IMPORT, P.ORDER_CANCEL, P.BENEFICIARY_READ,
                           P.BENEFICIARY_PROPOSE, P.STATEMENT_READ, P.RECON_READ}),
    R.APPROVER: frozenset({P.ORDER_READ, P.ORDER_APPROVE, P.ORDER_REJECT, P.ACCOUNT_REVEAL, P.BENEFICIARY_READ,
                           P.BENEFICIARY_APPROVE, P.STATEMENT_READ, P.RECON_READ}),
    R.RISK_OFFICER: frozenset({P.ORDER_READ, P.ORDER_APPROVE, P.ORDER_REJECT, P.ACCOUNT_REVEAL, P.RISK_REVIEW,
                               P.BENEFICIARY_READ, P.BENEFICIARY_APPROVE, P.STATEMENT_READ, P.RECON_READ}),
    R.TREASURER: frozenset(_READ_ALL | {P.ORDER_APPROVE, P.ORDER_REJECT, P.ORDER_RELEASE, P.ORDER_CANCEL,
                                        P.ACCOUNT_REVEAL, P.STATEMENT_IMPORT, P.RECON_RESOLVE, P.POLICY_READ}),
    R.AUDITOR: frozenset(_READ_ALL | {P.AUDIT_READ, P.POLICY_READ, P.USER_READ}),
    R.ADMIN: frozenset({P.USER_READ, P.USER_MANAGE, P.ROLE_GRANT, P.TOKEN_MANAGE, P.POLICY_READ, P.POLICY_MANAGE,
                        P.KEY_ROTATE, P.AUDIT_READ}),
}


def allowed(principal: Principal, permission: Permission) -> bool:
    """Role grants it, and (for an API token) the token's scopes include it. System actors may."""
    if principal.all_companies and not principal.roles:  # Principal.system
        return True
    if not any(permission in PERMISSIONS[role] for role in principal.roles):
        return False
    return principal.scopes is None or permission.value in principal.scopes


def require(principal: Principal, permission: Permission) -> None:
    """Raises:
        Forbidden (FORBIDDEN): no role of the principal (or no scope of its token) allows it.
    """
    if not allowed(principal, permission):
        raise Forbidden(f"{principal.actor_id} may not {permission.value}", where="actor",
                        rule="role_permission", value=permission.value)
