"""Shared fixtures: a real database (SQLite file, or PostgreSQL when DATABASE_URL is set), a frozen
clock that tests move instead of sleeping, and engines wired like production."""
from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.accounts.directory import Directory
from engine.clock import FrozenClock
from engine.handler_api import HandlerRegistry
from engine.notifications.transports import SmtpTransport
from engine.runtime.engine_core import EngineSettings
from engine.runtime.workflow_engine import WorkflowEngine
from engine.storage.database import Database
from handlers import build_registry
from tests.database_snapshots import DatabaseSnapshots, worker_database_url
from tests.engine.smtp_catcher import SmtpCatcher

BEIJING = ZoneInfo("Asia/Shanghai")
PROCESSES = Path(__file__).resolve().parents[1] / "processes"


@pytest.fixture(scope="session")
def database_snapshots(tmp_path_factory) -> DatabaseSnapshots:
    """The session's test databases: built once, put back for every test (tests/database_snapshots.py)."""
    build_registry()  # business record tables join the metadata
    return DatabaseSnapshots(worker_database_url(os.environ.get("DATABASE_URL")), tmp_path_factory.mktemp("databases"))


@pytest.fixture
def database(tmp_path, database_snapshots) -> Iterator[Database]:
    """A database of the test's own: the newest schema and the procedures' departments, nothing else."""
    db = database_snapshots.fresh(tmp_path)
    yield db
    db.dispose()


def deploy_every_diagram(engine: WorkflowEngine, snapshots: DatabaseSnapshots, deployed_by: str) -> None:
    """Every diagram of processes/ deployed, as the first test of the session that asked for it on the same
    rows deployed them (the rows are put back, not the deploy run again: tests/database_snapshots.py)."""
    def deploy() -> None:
        for path in sorted(PROCESSES.glob("*.bpmn")):
            engine.deploy(path.read_bytes(), deployed_by, filename=path.name)
    snapshots.replay(engine.db, f"every diagram deployed by {deployed_by} at {engine.clock.now().isoformat()}", deploy)


@pytest.fixture
def clock() -> FrozenClock:
    # A Monday morning in Beijing, a working day.
    return FrozenClock(datetime(2026, 11, 16, 9, 0, tzinfo=BEIJING))


@pytest.fixture
def outbox_file(tmp_path) -> Path:
    return tmp_path / "outbox.jsonl"


@pytest.fixture
def smtp_catcher() -> Iterator[SmtpCatcher]:
    """A real SMTP server on 127.0.0.1: `.messages` are the parsed mails it accepted, `.to(address)` those
    for one recipient; engines from make_engine deliver to it (read it after `engine.deliver_outbox()`)."""
    catcher = SmtpCatcher().start()
    yield catcher
    catcher.stop()


@pytest.fixture
def staff(database, clock, database_snapshots) -> Directory:
    """The demo users (one or two per department, a head in most) with e-mails <username>@example.com."""
    from webapp.demo import DEMO_USERS

    directory = Directory(database, clock)

    def add_users() -> None:
        for user in DEMO_USERS:
            directory.add_user(user.username, user.display_name, "-", user.departments, user.roles,
                               email=f"{user.username}@example.com")
    database_snapshots.replay(database, f"demo staff added at {clock.now().isoformat()}", add_users)
    return directory


@pytest.fixture(params=["warm", "reloaded"])
def make_engine(request, database, clock, smtp_catcher):
    """Every engine test runs twice: with workflows kept warm between commands (as production runs)
    and with every command rebuilding the workflow from its saved JSON (a save → load round trip after
    every step, as after a restart or on another web process)."""
    settings = EngineSettings(warm_workflows=512 if request.param == "warm" else 0)

    def build(handlers: HandlerRegistry | None = None) -> WorkflowEngine:
        return WorkflowEngine(database, handlers or build_registry(), clock=clock,
                              transport=SmtpTransport(smtp_catcher.host, smtp_catcher.port,
                                                      from_address="aftersales@example.com"),
                              settings=settings)
    return build


from tests.database_outage import outage  # noqa: E402,F401  (fixture: the test database cut off for real)
