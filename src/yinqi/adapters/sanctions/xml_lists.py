"""OFAC sdnList XML (SDN and consolidated non-SDN share it) and the UN Security Council list XML.

Both go through `safexml.parse_bytes` (no DTD, no entities, size limit). Elements are matched by
local name, so the OFAC namespace (which changed over the years) does not matter. OFAC aliases
carry category strong/weak; UN aliases carry QUALITY Good/Low (Low is weak). UN names in their
original script (NAME_ORIGINAL_SCRIPT) are kept as names: the normaliser transliterates them.
"""

from __future__ import annotations

from typing import Any

from yinqi.adapters.iso20022.safexml import parse_bytes
from yinqi.adapters.sanctions import remarks as rm
from yinqi.domain.problems import DomainError, Problem
from yinqi.domain.screening.listing import InvalidListEntry, ListedEntity


class UnknownListFormat(DomainError):
    code = "SANCTIONS_FORMAT_UNKNOWN"


def _local(el: Any) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag.rsplit("}", 1)[-1]


def _children(el: Any, name: str) -> list[Any]:
    return [c for c in el if _local(c) == name]


def _text(el: Any, name: str) -> str:
    found = _children(el, name)
    return (found[0].text or "").strip() if found else ""


def _all(el: Any, name: str) -> list[Any]:
    return [d for d in el.iter() if _local(d) == name]


def _ofac_name(el: Any) -> str:
    last, first = _text(el, "lastName"), _text(el, "firstName")
    return f"{last}, {first}" if last and first else (last or first)


def _ofac_entity(el: Any, list_name: str) -> ListedEntity:
    akas = _all(el, "aka")
    strong = [_ofac_name(a) for a in akas if _text(a, "category").lower() != "weak" and _ofac_name(a)]
    weak = [_ofac_name(a) for a in akas if _text(a, "category").lower() == "weak" and _ofac_name(a)]
    dobs = [rm.birth_date(d.text.strip()) for d in _all(el, "dateOfBirth") if d.text]
    nations = [rm.country_code(c.text) for c in _all(el, "country") if c.text]
    kind = _text(el, "sdnType").lower()
    return ListedEntity(list_name=list_name, entity_id=_text(el, "uid"), names=(_ofac_name(el), *strong),
                        weak_aliases=tuple(weak), kind={"entity": "organisation"}.get(kind, kind or "unknown"),
                        birth_dates=tuple(dict.fromkeys(d for d in dobs if d)),
                        countries=tuple(dict.fromkeys(c for c in nations if c)),
                        identifiers=tuple(_text(i, "idNumber") for i in _all(el, "id") if _text(i, "idNumber")),
                        programs=tuple(p.text.strip() for p in _all(el, "program") if p.text))


def _un_name(el: Any) -> str:
    return " ".join(p for p in (_text(el, f) for f in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")) if p)


def _un_entity(el: Any, list_name: str, kind: str) -> ListedEntity:
    aliases = [a for a in el if _local(a).endswith("_ALIAS") and _text(a, "ALIAS_NAME")]
    strong = [_text(a, "ALIAS_NAME") for a in aliases if _text(a, "QUALITY").lower() != "low"]
    weak = [_text(a, "ALIAS_NAME") for a in aliases if _text(a, "QUALITY").lower() == "low"]
    original = _text(el, "NAME_ORIGINAL_SCRIPT")
    dobs = [(_text(d, "DATE")[:10] or _text(d, "YEAR")) for d in _children(el, "INDIVIDUAL_DATE_OF_BIRTH")]
    nations = [rm.country_code(v.text) for n in _children(el, "NATIONALITY") for v in n if v.text]
    return ListedEntity(list_name=list_name, entity_id=_text(el, "REFERENCE_NUMBER") or _text(el, "DATAID"),
                        names=tuple(n for n in (_un_name(el), *strong, original) if n), weak_aliases=tuple(weak),
                        kind=kind, birth_dates=tuple(dict.fromkeys(d for d in dobs if d)),
                        countries=tuple(dict.fromkeys(c for c in nations if c)),
                        identifiers=tuple(_text(d, "NUMBER") for d in _children(el, "INDIVIDUAL_DOCUMENT")
                                          if _text(d, "NUMBER")),
                        programs=tuple(p for p in (_text(el, "UN_LIST_TYPE"),) if p))


def read_list_xml(data: bytes, *, list_name: str, source: str = "<xml>") -> tuple[list[ListedEntity], list[Problem]]:
    """Parse an OFAC sdnList or UN CONSOLIDATED_LIST document.

    Raises:
        XmlRejected (XML_REJECTED): not XML we will read.
        UnknownListFormat (SANCTIONS_FORMAT_UNKNOWN): another XML document.
    """
    root = parse_bytes(data, source=source)
    if _local(root) == "sdnList":
        items = [(e, lambda x: _ofac_entity(x, list_name)) for e in _children(root, "sdnEntry")]
    elif _local(root) == "CONSOLIDATED_LIST":
        items = [(e, lambda x: _un_entity(x, list_name, "individual")) for e in _all(root, "INDIVIDUAL")]
        items += [(e, lambda x: _un_entity(x, list_name, "organisation")) for e in _all(root, "ENTITY")]
    else:
        raise UnknownListFormat(f"{source}: root <{_local(root)}> is neither sdnList nor CONSOLIDATED_LIST",
                                where=source, rule="root", value=_local(root))
    entities, problems = [], []
    for n, (el, build) in enumerate(items, 1):
        try:
            entities.append(build(el))
        except InvalidListEntry as exc:
            problems.append(Problem(exc.code, exc.message, where=f"{source}#{n}", rule=exc.rule, value=exc.value))
    return entities, problems
