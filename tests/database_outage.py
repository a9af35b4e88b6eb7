"""A real database outage for tests: PostgreSQL stops accepting connections to the test database and ends
the open ones; on SQLite the app opens its file read-write only (mode=rw, never creating it) and the file
is moved away."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.storage.database import Database


class Outage:
    """The test database made unreachable for real, and back."""

    def __init__(self, database: Database, aside: Path) -> None:
        self.database = database
        url = database.engine.url
        if database.is_postgresql:
            self.name = url.database
            self.app_url = url.render_as_string(hide_password=False)
            self.admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        else:
            self.path = Path(url.database)
            self.app_url = f"sqlite:///file:{self.path}?mode=rw&uri=true"
            self.aside = aside
        self.active = False

    def begin(self, *databases: Database) -> None:
        """Cut every connection to the database and refuse new ones (`databases`: pools to empty first)."""
        self.active = True
        if self.database.is_postgresql:
            with self.admin.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS false'))
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": self.name})
            return
        for database in (self.database, *databases):
            database.dispose()
        self.aside.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{self.path}{suffix}").exists():
                shutil.move(f"{self.path}{suffix}", self.aside / f"db{suffix}")

    def end(self) -> None:
        if not self.active:
            return
        self.active = False
        if self.database.is_postgresql:
            with self.admin.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS true'))
            return
        for suffix in ("", "-wal", "-shm"):
            if (self.aside / f"db{suffix}").exists():
                shutil.move(self.aside / f"db{suffix}", f"{self.path}{suffix}")


@pytest.fixture
def outage(database, tmp_path) -> Iterator[Outage]:
    """`outage.app_url` is the database's URL for the app under test; `begin()` / `end()` cut and restore it
    (ended at teardown whatever happened)."""
    cut = Outage(database, tmp_path / "moved-away")
    yield cut
    cut.end()
    if database.is_postgresql:
        cut.admin.dispose()
