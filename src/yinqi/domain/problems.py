"""One error hierarchy for the whole hub.

Every expected failure is a `DomainError` subclass with a stable `code` (an API contract: clients
branch on it, so it never changes once shipped). Specific errors live in the module that raises
them; `entrypoints/api/errors.py` holds the only code-to-HTTP table. A `Problem` is the data form
of one failure, used where bulk input reports every problem instead of raising at the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where (field, row or XML path), which rule, which value."""

    code: str
    message: str
    where: str = ""
    rule: str = ""
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "where": self.where, "rule": self.rule,
                "message": self.message, "value": self.value}


class DomainError(Exception):
    """Root of every expected failure. Subclasses set `code`; instances may add details."""

    code: ClassVar[str] = "DOMAIN_ERROR"

    def __init__(self, message: str, *, where: str = "", rule: str = "",
                 value: object = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.rule = rule
        self.value = None if value is None else str(value)
        self.details = details or {}

    def as_problem(self) -> Problem:
        return Problem(code=self.code, message=self.message, where=self.where,
                       rule=self.rule, value=self.value)


class ValidationFailed(DomainError):
    """Raised when input breaks a rule; carries every problem found, not just the first."""

    code = "VALIDATION_FAILED"

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0] if problems else Problem("VALIDATION_FAILED", "invalid input")
        summary = first.message if len(problems) == 1 else f"{first.message} (+{len(problems) - 1} more)"
        super().__init__(summary, where=first.where, rule=first.rule, value=first.value)
        self.problems = problems


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    code = "CONFLICT"


@dataclass(frozen=True, slots=True)
class ProblemList:
    """Accumulates problems while a validator walks an input (beancount-style: report all)."""

    items: list[Problem] = field(default_factory=list)

    def add(self, code: str, message: str, *, where: str = "", rule: str = "", value: object = None) -> None:
        self.items.append(Problem(code, message, where, rule, None if value is None else str(value)))

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(list(self.items))
