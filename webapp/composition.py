"""Wiring of one running system: database, handler table, clock, calendar and notification transport."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from engine.accounts.departments import ensure_departments
from engine.clock import Clock
from engine.notifications.outbox import FileTransport, LogTransport, Transport, Transports
from engine.notifications.transports import SmtpTransport, WebhookTransport
from engine.runtime.engine_core import EngineSettings
from engine.runtime.workflow_engine import WorkflowEngine
from engine.settings import Settings, load_settings
from engine.storage.database import Database
from handlers import build_registry
from handlers.product_warranties import ProductWarranty, seed_product_warranties


def build_engine(database_url: str | None = None, clock: Clock | None = None,
                 transport: Transport | Transports | None = None, settings: Settings | None = None, *,
                 check_schema: bool = True) -> WorkflowEngine:
    """The engine of one process, configured from `settings` (default: the environment); an explicit
    database URL (the CLI's --database-url) wins over DATABASE_URL. It refuses a database not migrated to
    this release (SchemaNotCurrent says to run `aftersales db upgrade`) unless check_schema is False: the
    CLI checks per command, as `init`, `serve` and `db` migrate the database themselves."""
    settings = settings or load_settings()
    database = Database(database_url or settings.database_url, lock_wait=settings.database_lock_wait)
    if check_schema:
        database.ensure_schema_current()
    return WorkflowEngine(database, build_registry(), clock=clock,
                          transport=transport or transports_from_settings(settings),
                          settings=EngineSettings(calendar_region=settings.calendar_region))


def transports_from_settings(settings: Settings) -> Transports:
    """Notification transports: channel `email` over SMTP when AFTERSALES_SMTP_HOST is set, channel
    `webhook` to the chat robot at AFTERSALES_WEBHOOK_URL; any other channel (and these when not
    configured) to AFTERSALES_OUTBOX_FILE as JSON lines, else to the log."""
    smtp = settings.smtp
    channels: dict[str, Transport] = {}
    if smtp.host:
        channels["email"] = SmtpTransport(
            smtp.host, smtp.port, username=smtp.user, password=smtp.password, security=smtp.security,
            from_address=smtp.from_address, timeout=smtp.timeout)
    if settings.webhook_url:
        channels["webhook"] = WebhookTransport(settings.webhook_url)
    return Transports(channels, default=FileTransport(settings.outbox_file) if settings.outbox_file else LogTransport())


def processes_dir() -> Path:
    """The folder whose diagrams `aftersales init` / `deploy` deploy (AFTERSALES_PROCESSES)."""
    return load_settings().processes_dir


def initialise(engine: WorkflowEngine, deployed_by: str = "system") -> list:
    """Migrate the schema to this release (creating it on a new database, adopting one made before
    migrations), seed the departments and, on a new database, the default warranty periods
    (administrators keep them with `aftersales warranties`), deploy every diagram in processes/ (idempotent)."""
    engine.db.create_schema()
    with engine.db.writing() as session:
        ensure_departments(session)
        if session.scalar(select(func.count()).select_from(ProductWarranty)) == 0:
            seed_product_warranties(session)
    return engine.deploy_directory(processes_dir(), deployed_by)
