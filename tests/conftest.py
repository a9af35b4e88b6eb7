"""Shared fixtures: a real database (SQLite file, or PostgreSQL when DATABASE_URL is set), a frozen
clock that tests move instead of sleeping, and engines wired like production."""
from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.accounts.departments import ensure_departments
from engine.accounts.directory import Directory
from engine.clock import FrozenClock
from engine.handler_api import HandlerRegistry
from engine.notifications.transports import SmtpTransport
from engine.runtime.engine_core import EngineSettings
from engine.runtime.workflow_engine import WorkflowEngine
from engine.storage.database import Database
from handlers import build_registry
from tests.engine.smtp_catcher import SmtpCatcher

BEIJING = ZoneInfo("Asia/Shanghai")
PROCESSES = Path(__file__).resolve().parents[1] / "processes"


@pytest.fixture
def database(tmp_path) -> Iterator[Database]:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'aftersales.db'}"
    db = Database(url)
    build_registry()  # business record tables join the metadata
    db.drop_schema()
    db.create_schema()
    with db.sessions.begin() as session:
        ensure_departments(session)
    yield db
    db.dispose()


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
def staff(database, clock) -> Directory:
    """The demo users (one or two per department, a head in most) with e-mails <username>@example.com."""
    from webapp.demo import DEMO_USERS

    directory = Directory(database, clock)
    for user in DEMO_USERS:
        directory.add_user(user.username, user.display_name, "-", user.departments, user.roles,
                           email=f"{user.username}@example.com")
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
