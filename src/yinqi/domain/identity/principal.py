"""The principal: the authenticated actor behind every use case call.

Every entry point (console session, API token, CLI operator, worker) turns its credentials into a
`Principal` before calling a use case; use cases authorise against it (role permissions, company
grants, amount limits, step-up freshness) so the API, the console and the CLI cannot disagree on
who may do what. `actor_id` is what order events, ledger entries and audit events record.

>>> p = Principal(user_id="u1", username="alice", roles=frozenset({Role.APPROVER}),
...               companies=frozenset({"ACME"}), channel=Channel.CONSOLE)
>>> p.can_see_company("ACME"), p.can_see_company("OTHER")
(True, False)
>>> Principal.system("hub-worker").actor_id
'system:hub-worker'
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from yinqi.domain.problems import DomainError

__all__ = ["STEP_UP_MAX_AGE", "Channel", "Forbidden", "NotAuthenticated", "Principal", "Role",
           "StepUpRequired"]

# A payment approval or release needs a TOTP verification at most this old (R14).
STEP_UP_MAX_AGE = timedelta(minutes=5)


class Role(StrEnum):
    OPERATOR = "operator"          # the maker: enters and imports orders, proposes beneficiaries
    APPROVER = "approver"          # the checker: approves or rejects within a limit
    RISK_OFFICER = "risk_officer"  # reviews holds (screening, duplicates, beneficiary changes)
    TREASURER = "treasurer"        # cash positions, releases, approves high-value orders
    AUDITOR = "auditor"            # reads everything, changes nothing
    ADMIN = "admin"                # users, roles, approval policy, keys; never moves money


class Channel(StrEnum):
    """Where an action came from (audit origin; also an approval-policy condition as order source)."""

    CONSOLE = "console"
    API = "api"
    CLI = "cli"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    username: str
    roles: frozenset[Role]
    companies: frozenset[str]
    channel: Channel
    source_address: str = ""
    session_id: str | None = None       # set for console sessions (never the token itself)
    token_id: str | None = None         # set for API tokens
    scopes: frozenset[str] | None = None  # API token scopes (permission names); None: the roles decide
    step_up_at: datetime | None = None  # last successful TOTP verification in this session
    approval_limit_minor: int | None = None  # per-user override, reporting currency; None: role default
    all_companies: bool = field(default=False)  # system actors only

    @property
    def actor_id(self) -> str:
        return self.username

    @classmethod
    def system(cls, name: str) -> Principal:
        """A worker or the hub itself: every company, no roles (system steps are not approvals)."""
        return cls(user_id=f"system:{name}", username=f"system:{name}", roles=frozenset(),
                   companies=frozenset(), channel=Channel.SYSTEM, all_companies=True)

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def can_see_company(self, company_id: str) -> bool:
        return self.all_companies or company_id in self.companies

    def stepped_up(self, at: datetime) -> Principal:
        return replace(self, step_up_at=at)

    def step_up_fresh(self, now: datetime, max_age: timedelta = STEP_UP_MAX_AGE) -> bool:
        return self.step_up_at is not None and timedelta(0) <= now - self.step_up_at <= max_age


class NotAuthenticated(DomainError):
    """No valid session or token (HTTP 401). The message never says whether a user exists."""

    code = "NOT_AUTHENTICATED"


class Forbidden(DomainError):
    """Authenticated, but this role, token scope or grant does not allow the action (HTTP 403)."""

    code = "FORBIDDEN"


class StepUpRequired(DomainError):
    """The action needs a TOTP verification within the last five minutes (HTTP 401, R14)."""

    code = "STEP_UP_REQUIRED"
