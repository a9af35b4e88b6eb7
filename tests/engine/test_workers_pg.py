"""Several timer worker processes on one PostgreSQL database: every due timer fires exactly once, the
work is shared, and a worker killed with SIGKILL mid-batch loses nothing and duplicates nothing.

Each worker is a real process (tests/engine/worker_process.py) with its own connection pool and a
frozen clock set past the timers' due time; the test never sleeps for business time."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.notifications.outbox import LogTransport
from engine.runtime.workflow_engine import WorkflowEngine
from engine.storage.database import Database
from engine.storage.models import AuditEvent, HumanTask, ProcessInstance
from handlers import build_registry

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="several worker processes on one database is the PostgreSQL deployment (FOR UPDATE SKIP LOCKED)")

ROOT = Path(__file__).resolve().parents[2]
DIAGRAM = Path(__file__).parent / "diagrams" / "timer_wait.bpmn"
INSTANCES = 2000
WORKERS = 3
KILLED_AFTER = 120  # instances the killed worker commits before it is killed inside the next one
TIMEOUT = 120


@pytest.fixture
def due(database, clock) -> tuple[list[int], datetime]:
    """2,000 cases waiting at a task with a one-hour limit, and a moment after the limit ran out."""
    engine = WorkflowEngine(database, build_registry(), clock=clock, transport=LogTransport())
    engine.deploy(DIAGRAM.read_bytes(), "owner.zhang")
    ids = [engine.start_instance("timer_wait", {}, "sales.li") for _ in range(INSTANCES)]
    return ids, clock.now() + timedelta(hours=1, seconds=1)


def spawn(now: datetime, log: Path, *extra: str) -> subprocess.Popen:
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.engine.worker_process", "--now", now.isoformat(), *extra],
        cwd=ROOT, env=os.environ.copy(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=log.open("w"), text=True)
    assert worker.stdout.readline().strip() == "ready", log.read_text()
    return worker


def go(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()


def finish(worker: subprocess.Popen, log: Path) -> int:
    """Wait for a worker that runs until nothing is due; the timers it says it fired."""
    out, _ = worker.communicate(timeout=TIMEOUT)
    assert worker.returncode == 0, log.read_text()
    return json.loads(out.strip().splitlines()[-1])["fired"]


def assert_each_timer_fired_once(db: Database, ids: list[int]) -> None:
    """What an auditor checks: one timer_fired event per case, every case past its limit, none due."""
    with db.sessions() as session:
        fired = dict(session.execute(
            select(AuditEvent.instance_id, func.count()).where(AuditEvent.kind == "timer_fired")
            .group_by(AuditEvent.instance_id)).all())
        follow_ups = dict(session.execute(
            select(HumanTask.instance_id, func.count())
            .where(HumanTask.element_id == "Task_follow_up", HumanTask.state == "open")
            .group_by(HumanTask.instance_id)).all())
        still_waiting = session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.element_id == "Task_accept", HumanTask.state == "open"))
        still_due = session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.next_due_at.is_not(None)))
    never = [i for i in ids if i not in fired]
    twice = {i: n for i, n in fired.items() if n != 1}
    assert (len(never), twice) == (0, {}), f"never fired: {never[:10]}…, fired more than once: {twice}"
    assert set(fired) == set(ids)
    assert follow_ups == {i: 1 for i in ids}  # every case moved past the timer to the follow-up task
    assert (still_waiting, still_due) == (0, 0)


def test_three_worker_processes_fire_2000_due_timers_each_exactly_once(database, due, tmp_path):
    ids, now = due
    logs = [tmp_path / f"worker{n}.log" for n in range(WORKERS)]
    workers = [spawn(now, log) for log in logs]
    go(workers)
    fired = [finish(worker, log) for worker, log in zip(workers, logs, strict=True)]
    assert sum(fired) == INSTANCES
    assert all(n > 0 for n in fired), f"the work was not shared: {fired}"
    assert_each_timer_fired_once(database, ids)


def test_worker_killed_mid_batch_loses_nothing_and_fires_nothing_twice(database, due, tmp_path):
    ids, now = due
    logs = [tmp_path / f"worker{n}.log" for n in range(WORKERS)]
    doomed = spawn(now, logs[0], "--hold-after", str(KILLED_AFTER))
    others = [spawn(now, log) for log in logs[1:]]
    go([doomed, *others])
    line = doomed.stdout.readline().strip()
    assert line.startswith("holding "), f"the doomed worker never got {KILLED_AFTER} cases: {line!r}"
    held = int(line.split()[1])
    doomed.send_signal(signal.SIGKILL)  # inside a transaction: its row locked, its changes unsaved
    doomed.wait(timeout=TIMEOUT)
    assert doomed.returncode == -signal.SIGKILL
    fired = [finish(worker, log) for worker, log in zip(others, logs[1:], strict=True)]
    assert sum(fired) == INSTANCES - KILLED_AFTER  # the doomed worker's committed ones are not redone
    assert held in ids
    assert_each_timer_fired_once(database, ids)
