"""Alembic environment of the after-sales schema, run through engine.db.Database (`aftersales db ...`).

The connection comes from the caller (config.attributes["connection"]); there is no alembic.ini. New
migrations are written in batch mode, so their ALTERs and downgrades work on SQLite too (a table is
rebuilt and copied there; PostgreSQL runs plain ALTERs).
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData

from engine.db import Base, UtcDateTime


def target_metadata() -> MetaData:
    """Every table of this release: the engine's, the calendar's and the handlers' business records
    (autogenerate compares the database with it)."""
    import handlers  # noqa: F401  the business record tables join Base.metadata on import
    from engine import calendar_store, models  # noqa: F401

    return Base.metadata


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
    context.configure(connection=connection, target_metadata=target_metadata(),
                      render_as_batch=True, compare_type=True,
                      render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
