"""Bring a database to the current schema. `yinqi db upgrade` and the tests both call `upgrade`."""

from __future__ import annotations

from sqlalchemy import Engine

import yinqi.adapters.db.tables  # noqa: F401  (registers every table)
from yinqi.adapters.db.metadata import metadata


def upgrade(engine: Engine) -> None:
    metadata.create_all(engine)
