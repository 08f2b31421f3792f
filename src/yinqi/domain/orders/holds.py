"""Holds: reasons an order must be looked at by a person before it may be approved.

A suspected duplicate, a payee account that differs from the approved beneficiary record, or a
beneficiary account still in its cooling-off period does not fail an order and is never dropped
silently: the order waits in PENDING_APPROVAL with each hold as an extra approval step that a
person with `required_role` must clear (`yinqi.domain.approval`). `details` carries what the
reviewer needs to decide (the other order's id, the old and new account, masked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yinqi.domain.identity.principal import Role

__all__ = ["Hold"]


@dataclass(frozen=True, slots=True)
class Hold:
    code: str               # stable: DUPLICATE_SUSPECTED, BENEFICIARY_MISMATCH, BENEFICIARY_COOLING_OFF, ...
    reason: str             # plain words for the reviewer
    required_role: Role = Role.RISK_OFFICER
    details: dict[str, Any] = field(default_factory=dict)
