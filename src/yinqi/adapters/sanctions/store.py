"""Versioned sanctions lists as files: YINQI_HOME/sanctions/<list>/v000001.json, v000002.json, …

Each version file holds the list's entities and its provenance (source file, sha256, load time).
Writes go to a temporary file, are fsynced, then renamed, so a version is whole or absent. Versions
are never edited; a new load writes the next number. (A database table replaces this when screening
joins the order pipeline; see docs/adr/0006-screening.md.)
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from yinqi.application.screening import ListVersion
from yinqi.domain.problems import DomainError
from yinqi.domain.screening.listing import ListedEntity

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


class InvalidListName(DomainError):
    code = "SANCTIONS_LIST_NAME_INVALID"


class FileListStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, list_name: str) -> Path:
        if not _NAME.fullmatch(list_name):
            raise InvalidListName(f"list name {list_name!r} must match {_NAME.pattern}", where="list",
                                  rule=_NAME.pattern, value=list_name)
        return self.root / list_name

    def list_names(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.versions(p.name)) \
            if self.root.is_dir() else []

    def versions(self, list_name: str) -> list[int]:
        d = self._dir(list_name)
        return sorted(int(p.stem[1:]) for p in d.glob("v*.json")) if d.is_dir() else []

    def read(self, list_name: str, version: int) -> ListVersion:
        doc = json.loads((self._dir(list_name) / f"v{version:06d}.json").read_text(encoding="utf-8"))
        return ListVersion(list_name=doc["list_name"], version=doc["version"], source=doc["source"],
                           loaded_at_utc=doc["loaded_at_utc"], sha256=doc["sha256"],
                           entities=tuple(ListedEntity.from_dict(e) for e in doc["entities"]))

    def latest(self, list_name: str) -> ListVersion | None:
        versions = self.versions(list_name)
        return self.read(list_name, versions[-1]) if versions else None

    def save(self, *, list_name: str, entities: Sequence[ListedEntity], source: str,
             loaded_at_utc: str, sha256: str) -> ListVersion:
        d = self._dir(list_name)
        d.mkdir(parents=True, exist_ok=True)
        number = (self.versions(list_name) or [0])[-1] + 1
        version = ListVersion(list_name=list_name, version=number, entities=tuple(entities), source=source,
                              loaded_at_utc=loaded_at_utc, sha256=sha256)
        doc = {"list_name": list_name, "version": number, "source": source, "loaded_at_utc": loaded_at_utc,
               "sha256": sha256, "entities": [e.as_dict() for e in entities]}
        target, tmp = d / f"v{number:06d}.json", d / f".v{number:06d}.json.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        return version
