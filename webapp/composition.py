"""Wiring of one running system: database, handler table, clock, calendar and notification transport."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import func, select

from engine.clock import Clock
from engine.db import Database
from engine.delivery import SmtpTransport, WebhookTransport
from engine.departments import ensure_departments
from engine.outbox import FileTransport, LogTransport, Transport, Transports
from engine.service import WorkflowEngine
from handlers import build_registry
from handlers.electronics_service import ProductWarranty, seed_product_warranties

PROCESSES_DIR = Path(os.environ.get("AFTERSALES_PROCESSES", Path(__file__).resolve().parents[1] / "processes"))


def build_engine(database_url: str | None = None, clock: Clock | None = None,
                 transport: Transport | Transports | None = None, *, check_schema: bool = True) -> WorkflowEngine:
    """The engine of one process. It refuses a database not migrated to this release (SchemaNotCurrent
    says to run `aftersales db upgrade`) unless check_schema is False: the CLI checks per command, as
    `init`, `serve` and `db` migrate the database themselves."""
    database = Database(database_url)
    if check_schema:
        database.ensure_schema_current()
    return WorkflowEngine(database, build_registry(), clock=clock,
                          transport=transport or transports_from_environment(os.environ))


def transports_from_environment(env: Mapping[str, str]) -> Transports:
    """Notification transports from AFTERSALES_* variables: channel `email` over SMTP when
    AFTERSALES_SMTP_HOST is set, channel `webhook` to the chat robot at AFTERSALES_WEBHOOK_URL; any other
    channel (and these when not configured) to AFTERSALES_OUTBOX_FILE as JSON lines, else to the log."""
    outbox_file = env.get("AFTERSALES_OUTBOX_FILE")
    channels: dict[str, Transport] = {}
    if env.get("AFTERSALES_SMTP_HOST"):
        port = env.get("AFTERSALES_SMTP_PORT")
        channels["email"] = SmtpTransport(
            env["AFTERSALES_SMTP_HOST"], int(port) if port else None, username=env.get("AFTERSALES_SMTP_USER"),
            password=env.get("AFTERSALES_SMTP_PASSWORD"), security=env.get("AFTERSALES_SMTP_SECURITY", "none"),
            from_address=env.get("AFTERSALES_SMTP_FROM", "aftersales@localhost"),
            timeout=float(env.get("AFTERSALES_SMTP_TIMEOUT", "30")))
    if env.get("AFTERSALES_WEBHOOK_URL"):
        channels["webhook"] = WebhookTransport(env["AFTERSALES_WEBHOOK_URL"])
    return Transports(channels, default=FileTransport(outbox_file) if outbox_file else LogTransport())


def initialise(engine: WorkflowEngine, deployed_by: str = "system") -> list:
    """Migrate the schema to this release (creating it on a new database, adopting one made before
    migrations), seed the departments and, on a new database, the default warranty periods
    (administrators keep them with `aftersales warranties`), deploy every diagram in processes/ (idempotent)."""
    engine.db.create_schema()
    with engine.db.sessions.begin() as session:
        ensure_departments(session)
        if session.scalar(select(func.count()).select_from(ProductWarranty)) == 0:
            seed_product_warranties(session)
    return engine.deploy_directory(PROCESSES_DIR, deployed_by)
