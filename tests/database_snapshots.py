"""The test databases, built once per session and put back for every test instead of rebuilt.

A test still gets a real database of its own state: on SQLite a copy of a file made once (schema and
departments); on PostgreSQL the session's database emptied (TRUNCATE … RESTART IDENTITY, so ids start at
1 as in a new schema) and given the departments again, or rebuilt when a test left its schema changed.

Deploying every diagram costs more than most tests: `replay` runs such a set-up step for real the first
time the session meets it after the same steps on a fresh database, keeps the rows it leaves, and puts
them back the next time instead (same rows, same ids, same sequences). A database anything else wrote to
since it was fresh runs its steps for real: every statement on it is watched. Tests of deploying itself
deploy for real; the rows are what a real deploy wrote, at the same moment of the test clock."""
from __future__ import annotations

import os
import shutil
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, insert, inspect, make_url, select, text
from sqlalchemy.orm import Session

from engine.accounts.departments import ensure_departments
from engine.storage.base import Base
from engine.storage.database import VERSION_TABLE, Database, head_revision

Rows = dict[str, list[dict[str, Any]]]
READING = ("SELECT", "PRAGMA", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SHOW", "SET")


@dataclass
class _Lineage:
    """The set-up steps a database went through since it was fresh, and whether anything else wrote."""

    steps: tuple[str, ...] = ()
    written: bool = False


def worker_database_url(url: str | None) -> str | None:
    """The PostgreSQL database of this test process: with tests spread over processes (pytest -n), each
    worker has its own, `<database>_<worker>` beside the one DATABASE_URL names, created when missing."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url is None or worker is None:
        return url
    given = make_url(url)
    name = f"{given.database}_{worker}"
    admin = create_engine(given.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


class DatabaseSnapshots:
    def __init__(self, url: str | None, folder: Path) -> None:
        self.url = url  # None: a SQLite file per test
        self.folder = folder
        self._template: Path | None = None
        self._seeded: Rows | None = None  # the rows of a fresh database (PostgreSQL)
        self._replays: dict[tuple[str, ...], Rows] = {}
        self._lineages: weakref.WeakKeyDictionary[Database, _Lineage] = weakref.WeakKeyDictionary()

    def fresh(self, tmp_path: Path) -> Database:
        """A database with the newest schema, the procedures' departments and nothing else."""
        if self.url is None:
            db = self._fresh_sqlite(tmp_path / "aftersales.db")
        else:
            db = Database(self.url)
            if not _schema_is_current(db):
                db.drop_schema()
                db.create_schema()
            with db.changing() as connection:
                _empty(db, connection)
                if self._seeded is None:
                    _seed(connection)
                    self._seeded = _rows_in(connection)
                else:
                    _insert(db, connection, self._seeded)
        lineage = self._lineages[db] = _Lineage()

        @event.listens_for(db.engine, "before_cursor_execute")
        def watch(connection, cursor, statement, parameters, context, executemany) -> None:
            if not statement.lstrip().upper().startswith(READING):
                lineage.written = True
        return db

    def replay(self, db: Database, step: str, run: Callable[[], Any]) -> None:
        """Run the set-up `step` (named with everything it depends on besides the rows, e.g. the clock's
        time) or put back the rows it left when it ran before on the same rows."""
        lineage = self._lineages.get(db)
        if lineage is None or lineage.written:
            run()  # not a database of `fresh`, or written to by something else: nothing to replay onto
            return
        steps = (*lineage.steps, step)
        rows = self._replays.get(steps)
        if rows is None:
            run()
            self._replays[steps] = _rows(db)
        else:
            with db.changing() as connection:
                _empty(db, connection)
                _insert(db, connection, rows)
        lineage.steps, lineage.written = steps, False

    def _fresh_sqlite(self, path: Path) -> Database:
        if self._template is None:
            template = self.folder / "template.db"
            db = Database(f"sqlite:///{template}")
            db.create_schema()
            with db.changing() as connection:
                _seed(connection)
            with db.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            db.dispose()
            self._template = template
        shutil.copyfile(self._template, path)
        return Database(f"sqlite:///{path}")


def _seed(connection) -> None:
    with Session(bind=connection) as session:
        ensure_departments(session)
        session.flush()


def _schema_is_current(db: Database) -> bool:
    """The schema is the newest revision's, with every table of the metadata and no other (a test that
    migrated down or added a table leaves it otherwise)."""
    with db.engine.connect() as connection:
        names = set(inspect(connection).get_table_names())
        if VERSION_TABLE not in names:
            return False
        revision = connection.scalar(text(f"SELECT version_num FROM {VERSION_TABLE}"))
    return revision == head_revision() and names == set(Base.metadata.tables) | {VERSION_TABLE}


def _empty(db: Database, connection) -> None:
    """Delete every row, and start every id sequence at 1 again as in a new schema. Only the tables that
    hold rows are emptied (a TRUNCATE costs per table on PostgreSQL, and most tables of a test are empty)."""
    tables = Base.metadata.sorted_tables
    counts = " UNION ALL ".join(f"SELECT '{t.name}' AS name, count(*) AS n FROM {t.name}" for t in tables)
    filled = {name for name, n in connection.execute(text(counts)) if n}
    if db.is_postgresql:
        if filled:
            connection.execute(text(f"TRUNCATE {', '.join(sorted(filled))} CASCADE"))
        moved = connection.scalars(text("SELECT quote_ident(sequencename) FROM pg_sequences "
                                        "WHERE schemaname = current_schema() AND last_value IS NOT NULL")).all()
        if moved:
            connection.execute(text("SELECT " + ", ".join(f"setval('{s}', 1, false)" for s in moved)))
    else:
        for table in reversed(tables):
            if table.name in filled:
                connection.execute(table.delete())


def _rows(db: Database) -> Rows:
    with db.engine.connect() as connection:
        return _rows_in(connection)


def _rows_in(connection) -> Rows:
    return {t.name: [dict(r) for r in connection.execute(select(t)).mappings()] for t in Base.metadata.sorted_tables}


def _insert(db: Database, connection, rows: Rows) -> None:
    for table in Base.metadata.sorted_tables:
        batch = rows.get(table.name)
        if not batch:
            continue
        connection.execute(insert(table), batch)
        if db.is_postgresql and "id" in table.c and table.c.id.primary_key:
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                    f"(SELECT max(id) FROM {table.name}))"))
