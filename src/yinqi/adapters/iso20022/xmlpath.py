"""Small helpers shared by the ISO 20022 readers: namespace-bound lookups and readable paths.

Every ISO 20022 message puts all its elements in one namespace (the message version), so a
reader binds a `Doc` to that namespace once and then writes paths the way the standard's
documentation does: `doc.text(el, "GrpHdr/MsgId")`. Error messages name elements the same way
(`/Document/CstmrCdtTrfInitn/PmtInf[2]/NbOfTxs`), never as libxml2's `/*/*[2]/*[4]`.

>>> from lxml import etree
>>> root = etree.fromstring(b'<Document xmlns="urn:x"><A><B>1</B><B> 2 </B></A></Document>')
>>> doc = Doc(root)
>>> doc.text(root, "A/B"), doc.texts(root, "A/B", strip=True)
('1', ['1', '2'])
>>> path_of(doc.findall(root, "A/B")[1])
'/Document/A/B[2]'
"""

from __future__ import annotations

from lxml import etree

from yinqi.adapters.iso20022 import schema
from yinqi.domain.problems import Problem


def local(el: etree._Element) -> str:
    """The element's name without its namespace ('' for comments and processing instructions)."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def path_of(el: etree._Element) -> str:
    """A readable path: local names, with a 1-based index where a name repeats among siblings."""
    parts: list[str] = []
    node: etree._Element | None = el
    while node is not None:
        name = local(node)
        parent = node.getparent()
        if parent is not None:
            same = [s for s in parent.iterchildren(node.tag)]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


class Doc:
    """Lookups inside one document, in the namespace of its root element."""

    __slots__ = ("_cache", "ns")

    def __init__(self, root: etree._Element) -> None:
        self.ns = etree.QName(root).namespace or ""
        self._cache: dict[str, str] = {}

    def q(self, path: str) -> str:
        """'GrpHdr/MsgId' -> '{ns}GrpHdr/{ns}MsgId' (cached)."""
        got = self._cache.get(path)
        if got is None:
            prefix = f"{{{self.ns}}}" if self.ns else ""
            got = "/".join(p if p in (".", "..") else prefix + p for p in path.split("/"))
            self._cache[path] = got
        return got

    def find(self, el: etree._Element | None, path: str) -> etree._Element | None:
        return None if el is None else el.find(self.q(path))

    def findall(self, el: etree._Element | None, path: str) -> list[etree._Element]:
        return [] if el is None else el.findall(self.q(path))

    def text(self, el: etree._Element | None, path: str, *, strip: bool = False) -> str | None:
        """The text of the first element at `path`; None when absent or empty."""
        found = self.find(el, path)
        if found is None or found.text is None:
            return None
        value = found.text.strip() if strip else found.text
        return value or None

    def texts(self, el: etree._Element | None, path: str, *, strip: bool = False) -> list[str]:
        values = ((f.text.strip() if strip else f.text) for f in self.findall(el, path) if f.text)
        return [v for v in values if v]

    def first_text(self, el: etree._Element | None, paths: tuple[str, ...], *,
                   strip: bool = False) -> str | None:
        """The first non-empty text among alternative paths (version differences, choices)."""
        for path in paths:
            value = self.text(el, path, strip=strip)
            if value is not None:
                return value
        return None


def schema_problems(root: etree._Element) -> list[Problem]:
    """Every XSD error of a document, each naming its element by a readable path and line.

    Raises:
        SchemaUnknown (SCHEMA_UNKNOWN): no official schema is shipped for the namespace.
    """
    msg_type = schema.message_type(etree.QName(root).namespace or "")
    xsd = schema.schema_for(msg_type)
    if xsd.validate(root):
        return []
    return [Problem(code="SCHEMA_INVALID", message=err.message,
                    where=f"{_readable(root, err.path)} (line {err.line})", rule=f"xsd:{msg_type}")
            for err in xsd.error_log]


def assert_schema_valid(root: etree._Element) -> None:
    """Raises SchemaInvalid (SCHEMA_INVALID) naming each failing element by a readable path."""
    problems = schema_problems(root)
    if problems:
        raise schema.SchemaInvalid(problems)


def _readable(root: etree._Element, libxml_path: str | None) -> str:
    """Turn libxml2's positional '/*/*[2]/*' into '/Document/CstmrCdtTrfInitn/PmtInf[2]'."""
    if not libxml_path:
        return "/"
    try:
        found = root.getroottree().xpath(libxml_path)
    except etree.XPathError:
        return libxml_path
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return path_of(found[0])
    return libxml_path
