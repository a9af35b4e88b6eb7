"""The timer worker: polls for due timers, handler retries and pending notifications."""
from __future__ import annotations

import logging
import threading

from engine.service import WorkflowEngine

log = logging.getLogger("aftersales.worker")


def run_worker(engine: WorkflowEngine, poll_seconds: float = 5.0, stop: threading.Event | None = None) -> None:
    """Run until `stop` is set; several workers may run against one PostgreSQL database."""
    stop = stop or threading.Event()
    while not stop.is_set():
        tick = engine.worker_tick()
        if tick.timers_fired or tick.incidents_retried or tick.messages_sent:
            log.info("timers fired %d, incidents retried %d, messages sent %d",
                     tick.timers_fired, tick.incidents_retried, tick.messages_sent)
        for error in tick.errors:
            log.error("worker step failed: %s", error)
        stop.wait(poll_seconds)
