"""Reading a records archive back: its manifest checked member by member, its rows streamed, and its
cases put back into the database (after a purge, or to look into an old case). The archive's layout is
engine.records.archive's."""
from __future__ import annotations

import base64
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.types import JSON, Date, LargeBinary, Numeric, Time

from engine.records.archive import read_manifest, read_rows
from engine.records.archive_plan import CASES_TABLE, VERSIONS_TABLE, ArchiveError, TablePart, table_plan
from engine.storage.base import Base, UtcDateTime
from engine.storage.database import Database


def restore_cases(db: Database, path: Path) -> dict[str, int]:
    """Put the cases of an archive (e.g. one a purge wrote) back into the database, with every row that
    belongs to them and the process versions they ran on if missing; refuses when one of its cases is
    still there. Returns the rows inserted per table."""
    manifest = read_manifest(path)
    plan = table_plan()
    restored: dict[str, int] = {}
    with db.changing() as connection:
        cases = Base.metadata.tables[CASES_TABLE]
        ids = [row["id"] for row in read_rows(path, CASES_TABLE)]
        for start in range(0, len(ids), 500):
            present = connection.execute(select(cases.c.id).where(cases.c.id.in_(ids[start:start + 500]))).first()
            if present is not None:
                raise ArchiveError(f"case {present.id} of {path} is in the database already; nothing restored")
        versions = Base.metadata.tables[VERSIONS_TABLE]
        have = set(connection.scalars(select(versions.c.id)))
        for part in plan.parts:
            entry = manifest["tables"].get(part.name)
            if entry is None or part.kind not in ("case", "version"):
                continue
            batch: list[dict[str, Any]] = []
            count = 0
            for row in read_rows(path, part.name):
                if part.kind == "version" and row["id"] in have:
                    continue
                batch.append(_typed_row(part, row))
                count += 1
                if len(batch) == 500:
                    connection.execute(insert(part.table), batch)
                    batch = []
            if batch:
                connection.execute(insert(part.table), batch)
            restored[part.name] = count
            if count and db.is_postgresql:
                _sequence_past_restored_ids(connection, part.table)
    return restored


def _sequence_past_restored_ids(connection: Connection, table: Table) -> None:
    """PostgreSQL: rows inserted with their ids leave the id sequence alone; move it past them (never back)."""
    if "id" not in table.c or not table.c.id.primary_key:
        return
    sequence = connection.scalar(text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name})
    if sequence:
        connection.execute(text(f"SELECT setval('{sequence}', GREATEST((SELECT max(id) FROM {table.name}), "
                                f"(SELECT last_value FROM {sequence})))"))


def _typed_row(part: TablePart, row: dict[str, Any]) -> dict[str, Any]:
    typed = {}
    for column in part.columns:
        value = row.get(column.name)
        if value is not None and not isinstance(column.type, JSON):
            kind = column.type
            if isinstance(kind, UtcDateTime):
                value = datetime.fromisoformat(value)
            elif isinstance(kind, Date):
                value = date.fromisoformat(value)
            elif isinstance(kind, Time):
                value = time.fromisoformat(value)
            elif isinstance(kind, Numeric) and kind.asdecimal:
                value = Decimal(value)
            elif isinstance(kind, LargeBinary):
                value = base64.b64decode(value)
        typed[column.name] = value
    return typed
