"""Official ISO 20022 XSDs, shipped in `xsd/`, compiled once per message type.

Every message Yinqi writes is validated against its official schema before it leaves; reading
is tolerant (real bank files break their schemas) and reports schema problems as warnings.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

from yinqi.domain.problems import DomainError, Problem

XSD_DIR = Path(__file__).with_name("xsd")
NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"


class SchemaUnknown(DomainError):
    code = "SCHEMA_UNKNOWN"


class SchemaInvalid(DomainError):
    code = "SCHEMA_INVALID"

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__(f"{first.where}: {first.message}", where=first.where, rule="xsd")
        self.problems = problems


def message_type(namespace: str) -> str:
    """'urn:iso:std:iso:20022:tech:xsd:pain.001.001.09' -> 'pain.001.001.09'."""
    return namespace[len(NS_PREFIX):] if namespace.startswith(NS_PREFIX) else namespace


def available() -> list[str]:
    return sorted(p.stem for p in XSD_DIR.glob("*.xsd"))


@cache
def schema_for(msg_type: str) -> etree.XMLSchema:
    path = XSD_DIR / f"{msg_type}.xsd"
    if not path.is_file():
        raise SchemaUnknown(f"no official schema shipped for {msg_type}", rule="known_schema",
                            value=msg_type)
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(path), parser))


def validation_problems(root: etree._Element) -> list[Problem]:
    """Every XSD error of a parsed document, each naming its element path and line."""
    msg_type = message_type(etree.QName(root).namespace or "")
    schema = schema_for(msg_type)
    if schema.validate(root):
        return []
    return [Problem(code="SCHEMA_INVALID", message=err.message, where=f"{err.path} (line {err.line})",
                    rule=f"xsd:{msg_type}") for err in schema.error_log]


def assert_valid(root: etree._Element) -> None:
    """Raises SchemaInvalid (SCHEMA_INVALID) naming each failing element path."""
    problems = validation_problems(root)
    if problems:
        raise SchemaInvalid(problems)
