"""Reading an approval policy document (TOML) into a validated `Policy`.

Every problem is reported at once as `PolicyInvalid` (POLICY_INVALID), each naming the rule index
and key (`where="rules[2].amount_below"`) and the rule broken. Amounts and rates are decimal
strings: a TOML float is refused (`no_float`), as money is never a float. Unknown keys are
refused too, so a misspelt condition can never silently widen a rule.

>>> try:
...     parse_policy('reporting_currency = "EUR"\\n[[rules]]\\namount_below = 10.5\\nauto = true')
... except PolicyInvalid as exc:
...     print(exc.problems[0].where, exc.problems[0].rule)
rules[0].amount_below no_float
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import ROUND_UP, Decimal, InvalidOperation
from typing import Any

from yinqi.domain.approval.policy import (
    APPROVING_ROLES,
    CHANNELS,
    DEFAULT_EXPIRY,
    RISK_LEVELS,
    SOURCES,
    Conditions,
    Policy,
    PolicyInvalid,
    Rule,
    Step,
)
from yinqi.domain.currency import EXPONENTS
from yinqi.domain.identity.principal import Role
from yinqi.domain.problems import Problem

__all__ = ["MAX_EXPIRY", "MAX_RULES", "MAX_STEP_COUNT", "parse_duration", "parse_policy"]

MAX_RULES = 200
MAX_STEP_COUNT = 10
MAX_EXPIRY = timedelta(days=90)
_MAX_DIGITS = 15  # limits and rates stay far inside Decimal's 28-digit context and a 64-bit column
_DURATION = re.compile(r"(\d{1,5})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_TOP_KEYS = frozenset({"reporting_currency", "expires_after", "reference_rates", "role_limits", "rules"})
_RULE_KEYS = frozenset({"name", "auto", "steps", "expires_after", "amount_at_least", "amount_below", "currencies",
                        "channels", "cross_border", "payee_risk", "creators", "sources", "metadata"})


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, where: str, rule: str, message: str, value: object = None) -> None:
        self.items.append(Problem("POLICY_INVALID", f"{where}: {message}", where=where, rule=rule,
                                  value=None if value is None else str(value)[:200]))


def parse_policy(text: str) -> Policy:
    """The validated policy in `text` (a TOML document).

    Raises:
        PolicyInvalid (POLICY_INVALID): with every problem, each naming its rule index and key.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyInvalid([Problem("POLICY_INVALID", f"document: not valid TOML: {exc}", where="document",
                                     rule="toml_syntax")]) from None
    problems = _Problems()
    _unknown_keys(doc, _TOP_KEYS, "", problems)
    reporting = _reporting_currency(doc.get("reporting_currency"), problems)
    exponent = EXPONENTS.get(reporting or "", 2)
    rates = _rates(doc.get("reference_rates", {}), reporting, problems)
    limits = _role_limits(doc.get("role_limits", {}), exponent, problems)
    expiry = _duration(doc.get("expires_after", _text(DEFAULT_EXPIRY)), "expires_after", problems)
    rules = _rules(doc.get("rules"), exponent, problems)
    if problems.items:
        raise PolicyInvalid(problems.items)
    assert reporting is not None and expiry is not None
    return Policy(reporting_currency=reporting, rules=tuple(rules), reference_rates=rates,
                  role_limits_minor=limits, expires_after=expiry)


def parse_duration(raw: str) -> timedelta:
    """'72h', '30m', '3d' → timedelta. Raises PolicyInvalid (POLICY_INVALID)."""
    problems = _Problems()
    found = _duration(raw, "expires_after", problems)
    if found is None:
        raise PolicyInvalid(problems.items)
    return found


def _unknown_keys(table: Mapping[str, Any], known: frozenset[str], prefix: str, problems: _Problems) -> None:
    for key in sorted(set(table) - known):
        problems.add(f"{prefix}{key}", "known_key", f"unknown key (one of {', '.join(sorted(known))})", key)


def _reporting_currency(raw: object, problems: _Problems) -> str | None:
    if not isinstance(raw, str) or raw.strip().upper() not in EXPONENTS:
        problems.add("reporting_currency", "iso4217", "must be an ISO 4217 currency code", raw)
        return None
    return raw.strip().upper()


def _decimal(raw: object, where: str, problems: _Problems, *, exponent: int | None = None,
             positive: bool = False) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        rule = "no_float" if isinstance(raw, float) else "decimal_string"
        problems.add(where, rule, 'write amounts and rates as decimal strings, e.g. "10000.00"', raw)
        return None
    try:
        value = Decimal(raw.strip()) if isinstance(raw, str) else Decimal(raw)
    except InvalidOperation:
        problems.add(where, "decimal_syntax", "not a decimal number", raw)
        return None
    if not value.is_finite() or value.adjusted() >= _MAX_DIGITS:
        problems.add(where, "max_digits", f"must be a finite number below 10^{_MAX_DIGITS}", raw)
        return None
    if value < 0 or (positive and value == 0):
        problems.add(where, "positive" if positive else "not_negative",
                     "must be greater than zero" if positive else "must not be negative", raw)
        return None
    if exponent is not None and value != value.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_UP):
        problems.add(where, "currency_exponent", f"has more than {exponent} decimals", raw)
        return None
    return value


def _minor(raw: object, where: str, exponent: int, problems: _Problems) -> int | None:
    value = _decimal(raw, where, problems, exponent=exponent)
    return None if value is None else int(value.scaleb(exponent))


def _rates(raw: object, reporting: str | None, problems: _Problems) -> dict[str, Decimal]:
    if not isinstance(raw, dict):
        problems.add("reference_rates", "table", "must be a table of CURRENCY = \"rate\"", raw)
        return {}
    rates: dict[str, Decimal] = {}
    for code, value in raw.items():
        where = f"reference_rates.{code}"
        if code.upper() not in EXPONENTS:
            problems.add(where, "iso4217", "not an ISO 4217 currency code", code)
        elif (rate := _decimal(value, where, problems, positive=True)) is not None and code.upper() != reporting:
            rates[code.upper()] = rate
    return rates


def _role_limits(raw: object, exponent: int, problems: _Problems) -> dict[Role, int]:
    if not isinstance(raw, dict):
        problems.add("role_limits", "table", "must be a table of role = \"amount\"", raw)
        return {}
    limits: dict[Role, int] = {}
    for name, value in raw.items():
        where = f"role_limits.{name}"
        if name not in APPROVING_ROLES:
            problems.add(where, "approving_role", f"not a role that approves ({', '.join(sorted(APPROVING_ROLES))})",
                         name)
        elif (minor := _minor(value, where, exponent, problems)) is not None:
            limits[Role(name)] = minor
    return limits


def _duration(raw: object, where: str, problems: _Problems) -> timedelta | None:
    found = _DURATION.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if found is None:
        problems.add(where, "duration", 'must look like "30m", "72h" or "3d"', raw)
        return None
    value = timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    if not timedelta(0) < value <= MAX_EXPIRY:
        problems.add(where, "duration_range", "must be more than zero and at most 90 days", raw)
        return None
    return value


def _rules(raw: object, exponent: int, problems: _Problems) -> list[Rule]:
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        problems.add("rules", "array_of_tables", "must be an array of tables ([[rules]])", type(raw).__name__)
        return []
    if len(raw) > MAX_RULES:
        problems.add("rules", "max_rules", f"at most {MAX_RULES} rules", len(raw))
        return []
    rules = [_rule(i, r, exponent, problems) for i, r in enumerate(raw)]
    return [r for r in rules if r is not None]


def _rule(index: int, raw: dict[str, Any], exponent: int, problems: _Problems) -> Rule | None:
    at = f"rules[{index}]."
    before = len(problems.items)
    _unknown_keys(raw, _RULE_KEYS, at, problems)
    name = raw.get("name", f"rule {index + 1}")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        problems.add(at + "name", "text", "must be a text of 1-100 characters", name)
    auto = raw.get("auto", False)
    if not isinstance(auto, bool):
        problems.add(at + "auto", "boolean", "must be true or false", auto)
    steps = _steps(raw.get("steps"), at + "steps", problems)
    if auto is True and steps:
        problems.add(at + "steps", "auto_has_no_steps", "an auto rule has no approval steps")
    if auto is not True and not steps and "steps" not in raw:
        problems.add(at + "steps", "steps_required", "a rule needs steps (approvers) or auto = true")
    conditions = _conditions(raw, at, exponent, problems)
    expiry = _duration(raw["expires_after"], at + "expires_after", problems) if "expires_after" in raw else None
    if len(problems.items) > before or conditions is None:
        return None
    return Rule(index=index, name=str(name).strip(), conditions=conditions, steps=tuple(steps), auto=bool(auto),
                expires_after=expiry)


def _steps(raw: object, where: str, problems: _Problems) -> list[Step]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not raw or not all(isinstance(s, dict) for s in raw):
        problems.add(where, "array_of_tables", "must be a non-empty list like [{roles = [\"approver\"], count = 1}]",
                     raw)
        return []
    return [s for i, item in enumerate(raw) if (s := _step(item, f"{where}[{i}]", problems)) is not None]


def _step(raw: dict[str, Any], where: str, problems: _Problems) -> Step | None:
    _unknown_keys(raw, frozenset({"roles", "count"}), where + ".", problems)
    roles = raw.get("roles")
    count = raw.get("count", 1)
    roles_ok = isinstance(roles, list) and bool(roles) and all(r in APPROVING_ROLES for r in roles)
    count_ok = not isinstance(count, bool) and isinstance(count, int) and 1 <= count <= MAX_STEP_COUNT
    if not roles_ok:
        problems.add(where + ".roles", "approving_role",
                     f"must list roles that approve ({', '.join(sorted(APPROVING_ROLES))})", roles)
    if not count_ok:
        problems.add(where + ".count", "count_range", f"must be a whole number from 1 to {MAX_STEP_COUNT}", count)
    if not (roles_ok and count_ok):
        return None
    assert isinstance(roles, list) and isinstance(count, int)
    return Step(roles=frozenset(Role(r) for r in roles), count=count)


def _conditions(raw: dict[str, Any], at: str, exponent: int, problems: _Problems) -> Conditions | None:
    def text_set(key: str, allowed: frozenset[str] | None = None,
                 normalise: Callable[[str], str] = str.strip) -> frozenset[str] | None:
        if key not in raw:
            return None
        value = raw[key]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            problems.add(at + key, "list_of_text", "must be a non-empty list of texts", value)
            return None
        found = frozenset(normalise(v) for v in value)
        if allowed is not None and not found <= allowed:
            problems.add(at + key, "one_of", f"values must be among {', '.join(sorted(allowed))}",
                         ", ".join(sorted(found - allowed)))
            return None
        return found

    least = _minor(raw["amount_at_least"], at + "amount_at_least", exponent, problems) \
        if "amount_at_least" in raw else None
    below = _minor(raw["amount_below"], at + "amount_below", exponent, problems) if "amount_below" in raw else None
    if least is not None and below is not None and least >= below:
        problems.add(at + "amount_below", "range_not_empty", "must be greater than amount_at_least",
                     raw["amount_below"])
    currencies = text_set("currencies", frozenset(EXPONENTS), lambda v: v.strip().upper())
    cross_border = raw.get("cross_border")
    if cross_border is not None and not isinstance(cross_border, bool):
        problems.add(at + "cross_border", "boolean", "must be true or false", cross_border)
    metadata = raw.get("metadata", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        problems.add(at + "metadata", "table_of_text", 'must be a table of key = "value"', metadata)
        metadata = {}
    return Conditions(
        amount_at_least_minor=least, amount_below_minor=below, currencies=currencies,
        channels=text_set("channels", CHANNELS, lambda v: v.strip().lower()),
        cross_border=cross_border if isinstance(cross_border, bool) else None,
        payee_risk=text_set("payee_risk", RISK_LEVELS, lambda v: v.strip().lower()),
        creators=text_set("creators"), sources=text_set("sources", SOURCES, lambda v: v.strip().lower()),
        metadata=tuple(sorted(metadata.items())))


def _text(duration: timedelta) -> str:
    return f"{int(duration.total_seconds() // 3600)}h"
