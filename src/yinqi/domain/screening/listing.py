"""What a sanctions list holds, in list-neutral form: one `ListedEntity` per designation.

Loaders (adapters/sanctions) turn OFAC CSV/XML and UN XML into these; the store versions them and
`diff_entities` says what changed between two versions. Values validate on construction: an entity
has a list, an id and at least one name; dates are ISO `YYYY`, `YYYY-MM` or `YYYY-MM-DD`; countries
are ISO 3166 alpha-2 codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from yinqi.domain.problems import DomainError

_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
_COUNTRY = re.compile(r"[A-Z]{2}")
KINDS = frozenset({"individual", "organisation", "vessel", "aircraft", "unknown"})


class InvalidListEntry(DomainError):
    """A list entry that cannot be screened against (no id, no name, bad date or country)."""

    code = "SANCTIONS_ENTRY_INVALID"


@dataclass(frozen=True, slots=True)
class ListedEntity:
    """One designated party: its names (the first is the primary), aliases and supporting fields.

    `weak_aliases` are names the list itself marks as low quality (OFAC "weak a.k.a.", single-word
    nicknames): they can raise a review, never a block on their own.
    """

    list_name: str
    entity_id: str
    names: tuple[str, ...]
    kind: str = "unknown"
    weak_aliases: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    birth_dates: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        where = f"{self.list_name}:{self.entity_id}"
        if not self.list_name or not self.entity_id:
            raise InvalidListEntry("list entry needs a list name and an id", where=where, rule="id")
        if not self.names or not all(n.strip() for n in self.names):
            raise InvalidListEntry(f"{where}: entry needs at least one non-empty name", where=where,
                                   rule="name", value=self.names)
        if self.kind not in KINDS:
            raise InvalidListEntry(f"{where}: kind {self.kind!r} not one of {sorted(KINDS)}", where=where,
                                   rule="kind", value=self.kind)
        for d in self.birth_dates:
            if not _DATE.fullmatch(d):
                raise InvalidListEntry(f"{where}: birth date {d!r} is not YYYY[-MM[-DD]]", where=where,
                                       rule="date", value=d)
        for c in self.countries:
            if not _COUNTRY.fullmatch(c):
                raise InvalidListEntry(f"{where}: country {c!r} is not ISO alpha-2", where=where,
                                       rule="country", value=c)

    @property
    def all_names(self) -> tuple[str, ...]:
        return self.names + self.weak_aliases

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ListedEntity:
        tuples = {k: tuple(v) for k, v in data.items() if isinstance(v, list) and k != "extra"}
        extra = tuple((str(a), str(b)) for a, b in data.get("extra", ()))
        return cls(**{**data, **tuples, "extra": extra})


@dataclass(frozen=True, slots=True)
class ListDiff:
    """What changed from one list version to the next, by entity id."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> str:
        return f"{len(self.added)} added, {len(self.removed)} removed, {len(self.changed)} changed"


def diff_entities(old: Iterable[ListedEntity], new: Iterable[ListedEntity]) -> ListDiff:
    """Compare two versions of one list: ids only in `new`, only in `old`, and in both but different."""
    before = {e.entity_id: e for e in old}
    after = {e.entity_id: e for e in new}
    return ListDiff(added=tuple(sorted(after.keys() - before.keys())),
                    removed=tuple(sorted(before.keys() - after.keys())),
                    changed=tuple(sorted(k for k in after.keys() & before.keys() if after[k] != before[k])))
