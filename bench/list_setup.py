"""What the listing benchmarks (bench/inbox.py, bench/audit_list.py) share: an empty database with the
departments and an engine on a frozen clock, fresh planner statistics, a signed-in client, p50/p95."""
from __future__ import annotations

import statistics
from datetime import datetime

from engine.accounts.departments import ensure_departments
from engine.clock import FrozenClock
from engine.notifications.outbox import LogTransport
from engine.runtime.workflow_engine import WorkflowEngine
from engine.storage.database import Database
from handlers import build_registry
from webapp import create_app
from webapp.demo import seed_demo_users


def empty_engine(url: str, now: datetime) -> WorkflowEngine:
    """A fresh schema (business record tables included) with the departments, and an engine at `now`."""
    db = Database(url)
    build_registry()  # business record tables join the metadata
    db.drop_schema()
    db.create_schema()
    with db.sessions.begin() as session:
        ensure_departments(session)
    return WorkflowEngine(db, build_registry(), clock=FrozenClock(now), transport=LogTransport())


def analyze(db: Database) -> None:
    """Fresh statistics and visibility map, as autovacuum gives a running PostgreSQL database."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if db.is_postgresql else "ANALYZE")


def signed_in_client(engine: WorkflowEngine, username: str):
    """The Flask app around `engine` with the demo users, and a test client signed in as `username`."""
    app = create_app(engine, {"SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    seed_demo_users(app.extensions["aftersales.directory"])
    client = app.test_client()
    client.post("/login", data={"username": username, "password": "demo-2026"})
    return client


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]
