"""Alembic environment of the after-sales schema, run through engine.storage.database.Database (`aftersales db ...`).

The connection and the metadata of every table come from the caller (config.attributes "connection" and
"target_metadata"); there is no alembic.ini, and nothing here imports the application's tables. New
migrations are written in batch mode, so their ALTERs and downgrades work on SQLite too (a table is
rebuilt and copied there; PostgreSQL runs plain ALTERs).
"""
from __future__ import annotations

from alembic import context

from engine.storage.base import UtcDateTime


def render_item(type_: str, obj, autogen_context) -> str | bool:
    """Write UtcDateTime as the plain column type it stores, so a migration never imports app code
    that may change after it was written."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `aftersales db upgrade` (engine.db.Database), which passes "
                           "the connection; offline SQL generation is not supported")
    context.configure(connection=connection, target_metadata=context.config.attributes["target_metadata"],
                      render_as_batch=True, compare_type=True,
                      render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
