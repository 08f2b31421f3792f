"""OFAC SDN in its CSV form: sdn.csv (headerless, 12 columns, '-0-' for empty) and optional alt.csv.

Columns: ent_num, name, sdn_type, program, title, call_sign, vess_type, tonnage, grt, vess_flag,
vess_owner, remarks. Aliases come from alt.csv (ent_num, alt_num, alt_type, alt_name, remarks) when
given, and from 'a.k.a. ...' in remarks. Single-word aliases are weak (OFAC's "weak a.k.a." are
nicknames). The trailing DOS end-of-file byte (0x1A) that OFAC files carry is ignored. Rows that
cannot be read are reported as problems, never silently dropped.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from yinqi.adapters.sanctions import remarks as rm
from yinqi.domain.problems import Problem
from yinqi.domain.screening.listing import InvalidListEntry, ListedEntity

_KINDS = {"individual": "individual", "vessel": "vessel", "aircraft": "aircraft",
          "-0-": "organisation", "": "organisation"}


def _cell(value: str) -> str:
    value = value.strip()
    return "" if value == "-0-" else value


def read_alt_csv(text: str) -> dict[str, list[str]]:
    out: defaultdict[str, list[str]] = defaultdict(list)
    for row in csv.reader(io.StringIO(text)):
        if len(row) >= 4 and _cell(row[3]):
            out[row[0].strip()].append(_cell(row[3]))
    return dict(out)


def _entity(row: list[str], list_name: str, alt: dict[str, list[str]]) -> ListedEntity:
    ent, name, kind, remarks = row[0].strip(), _cell(row[1]), row[2].strip(), _cell(row[11])
    all_aliases = list(dict.fromkeys(alt.get(ent, []) + rm.aliases(remarks)))
    strong = tuple(a for a in all_aliases if len(a.split()) > 1 and a != name)
    weak = tuple(a for a in all_aliases if len(a.split()) <= 1 and a != name)
    flag = rm.country_code(_cell(row[9])) if _cell(row[9]) else None
    countries = tuple(dict.fromkeys(rm.countries(remarks) + ([flag] if flag else [])))
    return ListedEntity(list_name=list_name, entity_id=ent, names=(name, *strong), weak_aliases=weak,
                        kind=_KINDS.get(kind, "unknown"), countries=countries,
                        birth_dates=tuple(dict.fromkeys(rm.birth_dates(remarks))),
                        identifiers=tuple(rm.identifiers(remarks)),
                        programs=tuple(p.strip() for p in _cell(row[3]).split(";") if p.strip()))


def read_sdn_csv(text: str, *, list_name: str, alt_text: str | None = None,
                 source: str = "sdn.csv") -> tuple[list[ListedEntity], list[Problem]]:
    """Parse sdn.csv text into entities, plus one problem per unreadable row."""
    alt = read_alt_csv(alt_text) if alt_text else {}
    entities: list[ListedEntity] = []
    problems: list[Problem] = []
    for line_no, row in enumerate(csv.reader(io.StringIO(text.replace("\x1a", ""))), 1):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 12:
            problems.append(Problem("SANCTIONS_ROW_INVALID", f"expected 12 columns, got {len(row)}",
                                    where=f"{source}:{line_no}", rule="columns", value=str(len(row))))
            continue
        try:
            entities.append(_entity(row, list_name, alt))
        except InvalidListEntry as exc:
            problems.append(Problem(exc.code, exc.message, where=f"{source}:{line_no}", rule=exc.rule, value=exc.value))
    return entities, problems
