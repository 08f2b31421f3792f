"""Alembic environment: runs against the connection handed in by yinqi.adapters.db.migrate."""

from alembic import context

import yinqi.adapters.db.tables  # noqa: F401  (registers every table)
from yinqi.adapters.db.metadata import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `yinqi db upgrade`, which supplies the connection")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
