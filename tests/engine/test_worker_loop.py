"""The worker loop's timing: it wakes at the earliest due time instead of waiting out its poll interval,
and never spins while due cases are being fired by another worker."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from engine.clock import FrozenClock
from engine.notifications.outbox import LogTransport
from engine.records import queries
from engine.runtime.workflow_engine import WorkflowEngine
from engine.services.timer_worker import MIN_WAIT_SECONDS, next_due_at, run_worker, wait_seconds
from handlers import build_registry

DIAGRAM = Path(__file__).parent / "diagrams" / "timer_wait.bpmn"


class RunningClock:
    """Business time that moves with real time from `start`: the subject here is the worker's own wake-up."""

    def __init__(self, start: datetime) -> None:
        self.start, self.real_start = start, time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.real_start)


def build(database, clock) -> WorkflowEngine:
    engine = WorkflowEngine(database, build_registry(), clock=clock, transport=LogTransport())
    engine.deploy(DIAGRAM.read_bytes(), "owner.zhang")
    return engine


def test_idle_worker_sleeps_until_the_earliest_due_time_not_the_whole_poll(database, clock: FrozenClock):
    engine = build(database, clock)
    assert next_due_at(engine) is None
    assert wait_seconds(None, clock.now(), 30.0) == 30.0  # nothing waiting: the poll interval
    engine.start_instance("timer_wait", {}, "sales.li")
    due = next_due_at(engine)  # the case's first due moment (its limit, or a warning before it)
    assert due is not None and clock.now() < due <= clock.now() + timedelta(hours=1)
    assert 2.0 <= wait_seconds(due, due - timedelta(seconds=2), 30.0) < 2.1
    assert wait_seconds(due, due - timedelta(seconds=2), 1.0) == 1.0  # a later due time never stretches the poll
    # Due already but not fired (another worker holds it): look again soon, later the longer it lasts.
    late = due + timedelta(seconds=1)
    waits = [wait_seconds(due, late, 1.0, stalled) for stalled in range(8)]
    assert waits[0] == MIN_WAIT_SECONDS and waits == sorted(waits) and waits[-1] == 1.0


def test_worker_with_a_long_poll_fires_a_timer_right_after_it_comes_due(database, clock: FrozenClock):
    engine = build(database, clock)
    instance_id = engine.start_instance("timer_wait", {}, "sales.li")
    engine.worker_tick()
    clock.advance(timedelta(minutes=59))  # anything due before the limit (a warning) is done with
    engine.worker_tick()
    due = clock.now() + timedelta(minutes=1)
    assert next_due_at(engine) == due
    running = RunningClock(due - timedelta(seconds=0.3))
    worker = WorkflowEngine(database, build_registry(), clock=running, transport=LogTransport())
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(worker, 30.0, stop))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not queries.audit_trail(database, instance_id, "timer_fired") and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(timeout=10)
    [fired] = queries.audit_trail(database, instance_id, "timer_fired")
    assert timedelta(0) < fired.at - due < timedelta(seconds=0.5)  # not 30 s later, at the next poll
