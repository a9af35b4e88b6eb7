"""Database wiring: one SQLAlchemy engine per process, a session per unit of work."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import EngineError
from engine.storage import models  # noqa: F401  (the engine's tables join Base.metadata)
from engine.storage.base import Base

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# The migration scripts ship inside the package (engine/storage/migrations); no alembic.ini is read.
MIGRATIONS = "engine.storage:migrations"
BASELINE_REVISION = "0001_baseline"
VERSION_TABLE = "alembic_version"
# Execution option of a connection: how a SQLite transaction begins ("IMMEDIATE": with the write lock).
SQLITE_BEGIN = "sqlite_begin"

log = logging.getLogger(__name__)


class SchemaNotCurrent(EngineError):
    """The database's schema is not the one this release was written for: nothing runs on it until
    `aftersales db upgrade` migrated it."""


class SchemaNotAdoptable(EngineError):
    """A database without migration history whose tables are not the baseline's: it is left as it is."""


@dataclass(frozen=True)
class SchemaUpgrade:
    """What `upgrade` did: the revision before (None: none) and after, and whether a database created
    before migrations existed was adopted (stamped at the baseline) first."""

    before: str | None
    after: str | None
    adopted: bool = False


class Database:
    """The engine's connection to one database (SQLite file by default, PostgreSQL in production)."""

    def __init__(self, url: str, echo: bool = False, lock_wait: float = 30.0) -> None:
        """`url` comes from the settings (DATABASE_URL, engine/settings.py) or the caller's own choice;
        `lock_wait`: seconds a SQLite writer waits for another's write lock before DatabaseBusy."""
        self.url = url
        kwargs: dict = {"echo": echo, "future": True}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": lock_wait, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            busy_ms = max(1, int(lock_wait * 1000))
            event.listen(self.engine, "connect", lambda dbapi, record: _sqlite_pragmas(dbapi, busy_ms))
            event.listen(self.engine, "begin", _sqlite_begin)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A session in a transaction for a change outside a command's unit of work (a sign-in, a token's
        use, the outbox's bookkeeping). On SQLite it begins IMMEDIATE: a transaction that read first and
        then writes would be refused at once, not queued, when another change committed in between."""
        with self.sessions.begin() as session:
            session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
            yield session

    @contextmanager
    def changing(self) -> Iterator[Connection]:
        """A connection in a transaction for bulk changes (schema, purge, restore); on SQLite it begins
        IMMEDIATE like `writing`, so the worker committing meanwhile cannot refuse it half-way."""
        with self.engine.connect().execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}) as connection, \
                connection.begin():
            yield connection

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def create_schema(self) -> SchemaUpgrade:
        """Bring the schema to the newest revision.

        An empty database gets every table at once and is stamped at the head (Alembic's recipe for a
        new database; much faster than replaying the migrations, and tests build a schema per test);
        any other database is migrated by `upgrade`. The engine's tables are on the metadata once this module is
        imported; the handlers' business record tables join it when the composition root builds the
        handler registry (`handlers.build_registry`), which it does before any schema work.
        """
        with self.engine.connect() as connection:
            new = _revision(connection) is None and not _application_tables(connection)
        if not new:
            return self.upgrade()
        from alembic.runtime.migration import MigrationContext

        with self.changing() as connection:
            Base.metadata.create_all(connection)
            MigrationContext.configure(connection).stamp(_script_directory(), "head")
        return SchemaUpgrade(None, self.schema_revision())

    def drop_schema(self) -> None:
        """Drop every table of the metadata and the migration history (tests start from nothing)."""
        Base.metadata.drop_all(self.engine)
        with self.changing() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))

    def schema_revision(self) -> str | None:
        """The revision the database is at (several joined by ',' on branches); None: never migrated."""
        with self.engine.connect() as connection:
            return _revision(connection)

    def ensure_schema_current(self) -> None:
        """Raise SchemaNotCurrent unless the database is at the revision this release needs."""
        current, needed = self.schema_revision(), head_revision()
        if current == needed:
            return
        if current is None:
            raise SchemaNotCurrent(f"The database is not migrated (revision none, this release needs "
                                   f"{needed}): run `aftersales db upgrade`")
        _refuse_unknown_revision(current)
        raise SchemaNotCurrent(f"The database is outdated (revision {current}, this release needs {needed}): "
                               f"run `aftersales db upgrade`")

    def upgrade(self, revision: str = "head") -> SchemaUpgrade:
        """Run the migrations up to `revision`. A database created before migrations existed (tables
        there, no history) is adopted first: stamped at the baseline when every baseline table is
        there; otherwise SchemaNotAdoptable names what is missing and nothing changes."""
        from alembic import command

        before = self.schema_revision()
        _refuse_unknown_revision(before)
        adopted = False
        with self._migration_connection() as connection:
            if before is None and _application_tables(connection):
                missing = sorted(set(baseline_tables()) - _application_tables(connection))
                if missing:
                    raise SchemaNotAdoptable(
                        "The database has tables but no migration history, and is missing baseline tables "
                        f"{', '.join(missing)}: it was not created by this application, or by a release too "
                        "old to adopt; nothing was changed")
                command.stamp(_alembic_config(connection), BASELINE_REVISION)
                adopted = True
            command.upgrade(_alembic_config(connection), revision)
        done = SchemaUpgrade(before, self.schema_revision(), adopted)
        if adopted:
            log.info("database created before migrations adopted: stamped at %s", BASELINE_REVISION)
        if done.after != (BASELINE_REVISION if adopted else before):
            log.info("database migrated from revision %s to %s", before or "none", done.after)
        return done

    def downgrade(self, revision: str) -> SchemaUpgrade:
        """Undo migrations down to `revision` ("base": no tables left). Data of dropped tables is lost."""
        from alembic import command

        before = self.schema_revision()
        with self._migration_connection() as connection:
            command.downgrade(_alembic_config(connection), revision)
        return SchemaUpgrade(before, self.schema_revision())

    def new_migration(self, message: str, revision_id: str | None = None, autogenerate: bool = True) -> str:
        """Write a new migration script into engine/storage/migrations/versions; with autogenerate, its operations
        are what this database (at the head) lacks compared with the models. Returns the file's path."""
        from alembic import command

        with self._migration_connection() as connection:
            script = command.revision(_alembic_config(connection), message=message, autogenerate=autogenerate,
                                      rev_id=revision_id)
        return script.path

    @contextmanager
    def _migration_connection(self) -> Iterator[Connection]:
        """One transaction for a run of migrations (PostgreSQL rolls back a failed run entirely). SQLite
        runs them with foreign keys off, because batch mode rebuilds a table by copying it, dropping the
        original and renaming the copy, which the foreign keys of other tables would refuse; the keys
        are checked before the commit instead."""
        with self.engine.connect().execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}) as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:  # outside any transaction, where SQLite honours it (the driver connection autocommits)
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.begin():
                    yield connection
                    if sqlite:
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                        if broken:
                            raise EngineError(f"the migration left rows whose foreign keys point nowhere "
                                              f"(table, rowid, parent, key): {broken[:5]}; nothing was changed")
            finally:
                if sqlite:
                    connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")

    def dispose(self) -> None:
        self.engine.dispose()


def head_revision() -> str:
    """The revision this release needs (several joined by ',' if the history branched)."""
    return ",".join(sorted(_script_directory().get_heads()))


def baseline_tables() -> tuple[str, ...]:
    """The tables the baseline migration creates: a database created before migrations existed is
    adopted when it has them all."""
    return _script_directory().get_revision(BASELINE_REVISION).module.TABLES


def _refuse_unknown_revision(current: str | None) -> None:
    """A database migrated by a newer release is not touched by this one."""
    known = {script.revision for script in _script_directory().walk_revisions()}
    if current is not None and not set(current.split(",")) <= known:
        needed = head_revision()
        raise SchemaNotCurrent(f"The database is at revision {current}, which this release does not know "
                               f"(it needs {needed}): a newer release migrated it; run that release, or "
                               f"`aftersales db downgrade {needed}` with the newer release first")


def _revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads)) or None


def _application_tables(connection: Connection) -> set[str]:
    """The tables of this application (any release) the database has."""
    return set(inspect(connection).get_table_names()) & (set(Base.metadata.tables) | set(baseline_tables()))


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("file_template", "%%(rev)s")  # versions/<revision id>.py
    config.attributes["connection"] = connection
    # Every table of this release: the engine's (imported above) and the handlers' business records, which
    # joined the metadata when the composition root built the handler registry.
    config.attributes["target_metadata"] = Base.metadata
    return config


@cache
def _script_directory() -> ScriptDirectory:
    """The migration scripts, read once per process (reading them costs more than a stamp)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(None))


def _sqlite_pragmas(dbapi_connection, busy_ms: int) -> None:
    # Python's sqlite3 sends BEGIN only before INSERT/UPDATE/DELETE, so a SAVEPOINT could open (and its
    # RELEASE commit) a command's transaction half-way: its own handling is turned off and _sqlite_begin
    # begins every transaction (SQLAlchemy's documented recipe for pysqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    # WAL + NORMAL: a commit survives any crash of the application; only a power cut or OS crash may
    # lose the last few commits (never corrupt the file). PostgreSQL is the production database.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """Begin a real SQLite transaction. A unit of work asks for BEGIN IMMEDIATE (the `sqlite_begin`
    execution option): it takes the write lock at once, so two writers queue on the busy timeout instead
    of the second failing when it tries to write on a read snapshot the first has outdated; reads stay
    deferred and never wait for writers (WAL)."""
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    connection.exec_driver_sql(f"BEGIN {options.get(SQLITE_BEGIN, 'DEFERRED')}")
