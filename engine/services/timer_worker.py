"""The timer worker: polls for due timers, handler retries and pending notifications.

Several workers may run against one PostgreSQL database: each due instance is fired by whichever
worker locks it first (FOR UPDATE SKIP LOCKED), in its own transaction, so a worker killed mid-batch
loses nothing (its uncommitted instance is unlocked and fired by another) and fires nothing twice.

Latency: after a round that found work the worker goes again at once; after an idle round it sleeps
until the earliest due time or the poll interval, whichever is sooner, so a timer fires within about
a poll interval of its due time even when it was created after the last round."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select

from engine.runtime.worker_commands import WorkerTick
from engine.runtime.workflow_engine import WorkflowEngine
from engine.storage.models import ProcessInstance
from engine.timing.schedules import earliest_due

log = logging.getLogger("aftersales.worker")

DEFAULT_POLL_SECONDS = 1.0
# Never spin: when due instances exist but other workers hold them, look again after this long.
MIN_WAIT_SECONDS = 0.05
# Timers are due strictly after their due time; wake a hair after it, not at it.
DUE_MARGIN_SECONDS = 0.002


def next_due_at(engine: WorkflowEngine) -> datetime | None:
    """Earliest due time of a running instance (one index-only read of ix_instances_due) or of a
    scheduled start (a timer start event's next occurrence)."""
    with engine.db.sessions() as session:
        dues = [session.scalar(select(func.min(ProcessInstance.next_due_at))
                               .where(ProcessInstance.status == "running")), earliest_due(session)]
    dues = [due for due in dues if due is not None]
    return min(dues) if dues else None


def wait_seconds(due: datetime | None, now: datetime, poll_seconds: float, stalled_rounds: int = 0) -> float:
    """How long an idle worker sleeps: until the earliest due time, at most the poll interval. When that
    time has passed already the case is being fired by another worker (or does not fire at all): look
    again soon, and the longer it stays unchanged (`stalled_rounds`), the later, up to the poll."""
    if due is None:
        return poll_seconds
    until_due = (due - now).total_seconds()
    if until_due < 0:
        return min(poll_seconds, MIN_WAIT_SECONDS * 2 ** min(stalled_rounds, 16))
    return min(poll_seconds, max(until_due + DUE_MARGIN_SECONDS, MIN_WAIT_SECONDS))


def run_worker(engine: WorkflowEngine, poll_seconds: float = DEFAULT_POLL_SECONDS,
               stop: threading.Event | None = None, until_idle: bool = False,
               on_tick: Callable[[WorkerTick], None] | None = None) -> int:
    """Run rounds until `stop` is set (or, with `until_idle`, until nothing is due any more, counting
    instances other workers are still firing); returns the number of timers this worker fired."""
    stop = stop or threading.Event()
    fired = stalled = 0
    last_due: datetime | None = None
    while not stop.is_set():
        tick = engine.worker_tick()
        fired += tick.timers_fired
        if on_tick is not None:
            on_tick(tick)
        busy = bool(tick.timers_fired or tick.incidents_retried or tick.messages_sent)
        if busy:
            log.info("timers fired %d, incidents retried %d, messages sent %d",
                     tick.timers_fired, tick.incidents_retried, tick.messages_sent)
        for error in tick.errors:
            log.error("worker step failed: %s", error)
        if busy and not tick.errors:
            stalled = 0
            continue  # more may be due right now: no pause between full rounds
        try:
            due = next_due_at(engine)
        except Exception as err:  # the database may be away for a moment; keep polling
            log.error("reading the next due time failed: %s", err)
            stop.wait(poll_seconds)
            continue
        now = engine.clock.now()
        overdue = due is not None and due < now
        if until_idle and not overdue and not busy:
            return fired
        # Due cases that were not fired this round: another worker holds them, or they do not fire.
        stalled = stalled + 1 if overdue and due == last_due else 0
        last_due = due
        stop.wait(wait_seconds(due, now, poll_seconds, stalled))
    return fired
