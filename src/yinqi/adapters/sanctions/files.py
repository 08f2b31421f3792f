"""Read a list file of any supported format (by content, not only by extension)."""

from __future__ import annotations

from pathlib import Path

from yinqi.adapters.sanctions.ofac_csv import read_sdn_csv
from yinqi.adapters.sanctions.xml_lists import UnknownListFormat, read_list_xml
from yinqi.domain.problems import Problem
from yinqi.domain.screening.listing import ListedEntity

MAX_BYTES = 100 * 1024 * 1024


def read_list_file(path: Path, *, list_name: str,
                   alt_path: Path | None = None) -> tuple[list[ListedEntity], list[Problem], bytes]:
    """Entities, problems and the raw bytes (for the version's sha256) of one list file.

    Raises:
        OSError: unreadable file. XmlRejected / UnknownListFormat: not a list we can read.
    """
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise UnknownListFormat(f"{path}: {len(data)} bytes exceeds {MAX_BYTES}", where=str(path), rule="max_size")
    if data.lstrip()[:1] == b"<":
        entities, problems = read_list_xml(data, list_name=list_name, source=str(path))
        return entities, problems, data
    alt = alt_path.read_text(encoding="utf-8-sig", errors="replace") if alt_path else None
    text = data.decode("utf-8-sig", errors="replace")
    entities, problems = read_sdn_csv(text, list_name=list_name, alt_text=alt, source=str(path))
    return entities, problems, data
