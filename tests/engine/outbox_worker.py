"""An outbox delivery worker in its own process, for the exactly-once kill test on PostgreSQL.

    python -m tests.engine.outbox_worker --now 2026-11-16T01:00:00+00:00 --smtp-port 2525 --name w0 \
        [--lease 3] [--batch 10]

Builds a WorkflowEngine on DATABASE_URL that mails through SMTP to 127.0.0.1:<port> (saying EHLO <name>,
so the test's server knows who sent what), with a short lease, on a clock that starts at --now and
runs with the wall clock (so a lease really runs out). Prints "ready", waits for a line on stdin, then
delivers until no message is pending or sending any more, and prints {"sent": n}.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta

from sqlalchemy import func, select

from engine.handler_api import HandlerRegistry
from engine.notifications.transports import SmtpTransport
from engine.runtime.workflow_engine import WorkflowEngine
from engine.storage.database import Database
from engine.storage.models import OutboxMessage


class RunningClock:
    """Business time that starts at a given moment and then runs with the wall clock."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)


def unfinished(db: Database) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.status.in_(("pending", "sending"))))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--now", required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--lease", type=float, default=3.0)
    parser.add_argument("--batch", type=int, default=10)
    args = parser.parse_args()
    db = Database(os.environ["DATABASE_URL"])
    transport = SmtpTransport("127.0.0.1", args.smtp_port, from_address="aftersales@example.com", timeout=10,
                              local_hostname=args.name)
    engine = WorkflowEngine(db, HandlerRegistry(), clock=RunningClock(datetime.fromisoformat(args.now)),
                            transport=transport)
    engine.outbox.lease = timedelta(seconds=args.lease)
    engine.outbox.batch = args.batch
    engine.outbox.worker_id = args.name
    print("ready", flush=True)
    sys.stdin.readline()
    sent = 0
    while True:
        delivered = engine.deliver_outbox()
        sent += delivered
        if not delivered:
            if not unfinished(db):
                break
            time.sleep(0.05)  # what is left is another worker's, until its lease runs out
    print(json.dumps({"sent": sent}), flush=True)
    db.dispose()


if __name__ == "__main__":
    main()
