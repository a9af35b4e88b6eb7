"""SQLite, the embedded default, lets one change write at a time: a user whose action waited too long for
another change gets a clear "try again" (503), never a 500 "database is locked", and nothing of the
action is stored; tried again once the database is free, it works (issue 19)."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select

from engine.notifications.outbox import FileTransport
from engine.records import queries
from engine.runtime.workflow_engine import WorkflowEngine
from engine.storage.database import Database
from engine.storage.models import AuditEvent
from handlers import build_registry
from tests.conftest import PROCESSES


@pytest.fixture
def engine(database, clock, outbox_file):
    if not database.url.startswith("sqlite"):
        pytest.skip("PostgreSQL waits for a row, not for the whole database")
    impatient = Database(database.url, lock_wait=0.3)
    engine = WorkflowEngine(impatient, build_registry(), clock=clock, transport=FileTransport(outbox_file))
    engine.deploy_directory(PROCESSES, "test")
    yield engine
    impatient.dispose()


@pytest.fixture
def another_change(database):
    """Another program holding SQLite's write lock (a long import, a second server on the same file)."""
    holder = sqlite3.connect(database.url.removeprefix("sqlite:///"), isolation_level=None)
    yield holder
    holder.close()


def claims(engine) -> int:
    with engine.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "task_claimed"))


def test_an_action_that_waits_too_long_is_asked_to_try_again_and_then_works(engine, as_user, filed_case,
                                                                            another_change):
    [task] = queries.list_tasks(engine.db, department="quality", instance_id=filed_case)
    wang = as_user("qa.wang")
    wang.page(f"/tasks/{task.id}")
    another_change.execute("BEGIN IMMEDIATE")

    busy = wang.post(f"/tasks/{task.id}/claim")

    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    page = busy.get_data(as_text=True)
    assert "系统正忙于保存其他更改，您的操作未保存任何内容，请稍后重试。" in page
    assert "locked" not in page and "Traceback" not in page
    another_change.execute("ROLLBACK")
    assert queries.get_task(engine.db, task.id).claimed_by is None and claims(engine) == 0

    assert wang.post(f"/tasks/{task.id}/claim").status_code == 302
    assert queries.get_task(engine.db, task.id).claimed_by == "qa.wang" and claims(engine) == 1


def test_the_api_answers_a_busy_database_with_503_json(engine, api, filed_case, another_change):
    [task] = queries.list_tasks(engine.db, department="quality", instance_id=filed_case)
    client = api("qa.wang")
    assert client.get(f"/api/v1/tasks/{task.id}").status_code == 200  # the token is used: reading it takes no lock
    another_change.execute("BEGIN IMMEDIATE")
    assert client.get(f"/api/v1/tasks/{task.id}").status_code == 200  # reads go on while another change writes
    busy = client.post(f"/api/v1/tasks/{task.id}/claim")
    another_change.execute("ROLLBACK")
    assert busy.status_code == 503 and busy.is_json
    assert busy.json["code"] == 503 and busy.json["message"]
    assert queries.get_task(engine.db, task.id).claimed_by is None
    assert client.post(f"/api/v1/tasks/{task.id}/claim").status_code == 200
