"""Labelled screening files for `yinqi screen evaluate`.

* sanctions-screening-benchmark JSON: {"cases": [{"query", "expected_entity_id" (null = must not
  hit), "perturbation", "family"}]}; the group is the perturbation.
* CSV with a header: the query in `query`, `name` or `full_name`; the label in `expected_entity_id`
  (empty = must not hit); the group in `group`, `perturbation` or `family`; optional `country`
  (ISO alpha-2) and `dob`/`date_of_birth`. A CSV with no label column (yente's negatives) is all
  true negatives, group "true_negative".
"""

from __future__ import annotations

import csv
import io
import json
import re

from yinqi.application.screening import LabelledCase
from yinqi.domain.screening.score import Query

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _first(row: dict[str, str], *names: str) -> str:
    return next((row[n].strip() for n in names if row.get(n)), "")


def read_labelled(data: bytes) -> list[LabelledCase]:
    text = data.decode("utf-8-sig")
    if text.lstrip().startswith("{"):
        return [LabelledCase(Query(c["query"]), c.get("expected_entity_id") or None,
                             c.get("perturbation") or c.get("family") or "all") for c in json.loads(text)["cases"]]
    rows = list(csv.DictReader(io.StringIO(text)))
    labelled = bool(rows) and "expected_entity_id" in rows[0]
    cases = []
    for row in rows:
        country = _first(row, "country")
        dob = _first(row, "dob", "date_of_birth")
        query = Query(_first(row, "query", "name", "full_name"), country=country.upper() if len(country) == 2 else None,
                      birth_date=dob if _ISO_DATE.fullmatch(dob) else None)
        expected = _first(row, "expected_entity_id") or None if labelled else None
        group = _first(row, "group", "perturbation", "family") or ("all" if labelled else "true_negative")
        cases.append(LabelledCase(query, expected, group))
    return cases
