"""The one way Yinqi parses XML from outside: no DTDs, no entities, no network, a size limit.

Bank files are untrusted input. lxml's defaults resolve entities and may load DTDs; this parser
turns all of that off, refuses a DOCTYPE outright (XXE and billion-laughs both need one), and
enforces the size limit before parsing so a huge file never reaches libxml2.
"""

from __future__ import annotations

from lxml import etree

from yinqi.domain.problems import DomainError

MAX_BYTES_DEFAULT = 50 * 1024 * 1024


class XmlRejected(DomainError):
    """The input is not XML we will read: malformed, too large, or carrying a DTD/entities."""

    code = "XML_REJECTED"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, dtd_validation=False,
                           load_dtd=False, huge_tree=False, remove_comments=True)


def parse_bytes(data: bytes, *, source: str = "<input>", max_bytes: int = MAX_BYTES_DEFAULT) -> etree._Element:
    """Parse untrusted XML and return the root element.

    Raises:
        XmlRejected (XML_REJECTED): too large, not well-formed, or has a DOCTYPE/entity.
    """
    if not isinstance(data, bytes | bytearray):
        raise XmlRejected(f"{source}: expected bytes", where=source, rule="bytes")
    if len(data) > max_bytes:
        raise XmlRejected(f"{source}: {len(data)} bytes exceeds the limit of {max_bytes}",
                          where=source, rule="max_size", value=len(data))
    head = bytes(data[:4096]).lower()
    if b"<!doctype" in head or b"<!entity" in bytes(data).lower():
        raise XmlRejected(f"{source}: DTDs and entity declarations are refused",
                          where=source, rule="no_dtd")
    try:
        tree = etree.fromstring(bytes(data), parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise XmlRejected(f"{source}: not well-formed XML: {exc}", where=source,
                          rule="well_formed") from None
    if tree is None:
        raise XmlRejected(f"{source}: empty document", where=source, rule="well_formed")
    docinfo = tree.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XmlRejected(f"{source}: DTDs are refused", where=source, rule="no_dtd")
    return tree
