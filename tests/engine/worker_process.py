"""A timer worker in its own process, for the several-workers tests on PostgreSQL.

    python -m tests.engine.worker_process --now 2026-11-16T02:00:01+00:00 [--hold-after N]

Builds a WorkflowEngine on DATABASE_URL with a FrozenClock at --now (business time is injected, never
slept), prints "ready", waits for a line on stdin, then runs the worker loop until nothing is due any
more and prints {"fired": n}. With --hold-after N it fires N instances, then, inside the transaction
of the next one (its row locked, its changes flushed but not committed), prints "holding <id>" and
waits to be killed: the test's SIGKILL lands mid-batch, mid-transaction.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime

from sqlalchemy import event

from engine.clock import FrozenClock
from engine.notifications.outbox import LogTransport
from engine.runtime.workflow_engine import WorkflowEngine
from engine.services.timer_worker import run_worker
from engine.storage.database import Database
from engine.storage.models import ProcessInstance
from handlers import build_registry


def hold_after(count: int) -> None:
    """After `count` instance rows were saved, block inside the next save until killed."""
    saved = 0

    @event.listens_for(ProcessInstance, "before_update")
    def _hold(_mapper, _connection, instance: ProcessInstance) -> None:
        nonlocal saved
        if saved >= count:
            print(f"holding {instance.id}", flush=True)
            time.sleep(3600)
        saved += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--now", required=True, help="the frozen business time, ISO 8601 with offset")
    parser.add_argument("--poll", type=float, default=0.1)
    parser.add_argument("--hold-after", type=int, default=None)
    args = parser.parse_args()
    db = Database(os.environ["DATABASE_URL"])
    engine = WorkflowEngine(db, build_registry(), clock=FrozenClock(datetime.fromisoformat(args.now)),
                            transport=LogTransport())
    if args.hold_after is not None:
        hold_after(args.hold_after)
    print("ready", flush=True)
    sys.stdin.readline()
    fired = run_worker(engine, poll_seconds=args.poll, until_idle=True)
    print(json.dumps({"fired": fired}), flush=True)
    db.dispose()


if __name__ == "__main__":
    main()
