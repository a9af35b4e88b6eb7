"""Wiring of one running system: database, handler table, clock, calendar and notification transport."""
from __future__ import annotations

import os
from pathlib import Path

from engine.clock import Clock
from engine.db import Database
from engine.departments import ensure_departments
from engine.outbox import FileTransport, LogTransport, Transport
from engine.service import WorkflowEngine
from handlers import build_registry

PROCESSES_DIR = Path(os.environ.get("AFTERSALES_PROCESSES", Path(__file__).resolve().parents[1] / "processes"))


def build_engine(database_url: str | None = None, clock: Clock | None = None,
                 transport: Transport | None = None) -> WorkflowEngine:
    outbox_file = os.environ.get("AFTERSALES_OUTBOX_FILE")
    transport = transport or (FileTransport(outbox_file) if outbox_file else LogTransport())
    return WorkflowEngine(Database(database_url), build_registry(), clock=clock, transport=transport)


def initialise(engine: WorkflowEngine, deployed_by: str = "system") -> list:
    """Create the schema, seed the departments, deploy every diagram in processes/ (idempotent)."""
    engine.db.create_schema()
    with engine.db.sessions.begin() as session:
        ensure_departments(session)
    return engine.deploy_directory(PROCESSES_DIR, deployed_by)
