"""Our XSD verdicts agree with expected/xsd_validation.json for every file it lists."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from lxml import etree

from yinqi.adapters.iso20022.safexml import parse_bytes
from yinqi.adapters.iso20022.schema import SchemaUnknown
from yinqi.adapters.iso20022.xmlpath import schema_problems

_REPO = Path(__file__).resolve().parents[4]
_DATA = Path(os.environ.get("YINQI_TESTDATA", _REPO.parent / "shared" / "testdata"))
_VERDICTS = _DATA / "expected" / "xsd_validation.json"
VERDICTS = json.loads(_VERDICTS.read_text())["files"] if _VERDICTS.is_file() else {}


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_xsd_verdict_agrees_with_the_expected_one(testdata: Path, name: str) -> None:
    want = VERDICTS[name]
    assert want["well_formed"]
    root = parse_bytes((testdata / name).read_bytes(), source=name)
    (document,) = want["documents"]
    assert etree.QName(root).namespace == document["namespace"]
    if document["schema"] is None:
        with pytest.raises(SchemaUnknown):
            schema_problems(root)
        return
    problems = schema_problems(root)
    assert (not problems) == document["xsd_valid"], [p.message for p in problems]
    for problem in problems:
        assert problem.where.startswith("/Document/")  # element paths, not libxml2's /*/*
