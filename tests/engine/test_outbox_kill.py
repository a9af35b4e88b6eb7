"""Outbox exactly-once under SIGKILL on PostgreSQL: three delivery worker processes share 300 messages;
one is killed after its mail server accepted a message and before it could record the send. Every
message arrives, each key exactly once after the receiver drops copies by Message-ID, and the only
physical duplicate is the message that was in flight when the worker died."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.accounts.directory import Directory
from engine.notifications.outbox import OutboxWriter
from engine.notifications.transports import message_id
from engine.storage.models import OutboxMessage

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="several delivery workers on one database is the PostgreSQL deployment (FOR UPDATE SKIP LOCKED)")

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 300
WORKERS = 3
KILL_AT = 15  # the doomed worker dies while its server takes its 15th mail: mid-way through its 2nd batch
BATCH = 10
LEASE_SECONDS = 3
TIMEOUT = 120


@pytest.fixture
def queued(database, clock) -> list[str]:
    directory = Directory(database, clock)
    for name in ("qa.wang", "qa.chen", "svc.lin"):
        directory.add_user(name, name, "-", {"quality": "member"}, email=f"{name}@example.com")
    with database.sessions.begin() as session:
        writer = OutboxWriter(session, clock.now(), None, "kill-test")
        rows = [writer.notify(f"user:{('qa.wang', 'qa.chen', 'svc.lin')[i % 3]}", f"超时提醒 第{i}条", "请处理")
                for i in range(MESSAGES)]
        session.flush()
        return [r.idempotency_key for r in rows]


def spawn(name: str, now, port: int, log: Path) -> subprocess.Popen:
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.engine.outbox_worker", "--now", now.isoformat(), "--smtp-port", str(port),
         "--name", name, "--lease", str(LEASE_SECONDS), "--batch", str(BATCH)],
        cwd=ROOT, env=os.environ.copy(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log.open("w"),
        text=True)
    assert worker.stdout.readline().strip() == "ready", log.read_text()
    return worker


def run_to_the_end(workers: list[subprocess.Popen], logs: list[Path]) -> list[int]:
    """Wait for workers that deliver until nothing is pending or sending; what each says it sent."""
    sent = []
    for worker, log in zip(workers, logs, strict=True):
        out, _ = worker.communicate(timeout=TIMEOUT)
        assert worker.returncode == 0, log.read_text()
        sent.append(json.loads(out.strip().splitlines()[-1])["sent"])
    return sent


def test_three_delivery_workers_share_the_outbox_and_send_each_message_once(database, clock, queued, smtp_catcher,
                                                                             tmp_path):
    logs = [tmp_path / f"outbox-worker{n}.log" for n in range(WORKERS)]
    workers = [spawn(f"worker{n}", clock.now(), smtp_catcher.port, log) for n, log in enumerate(logs)]
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    sent = run_to_the_end(workers, logs)
    assert sum(sent) == MESSAGES and all(n > 0 for n in sent), f"the work was not shared: {sent}"
    received = Counter(m["Message-ID"] for m in smtp_catcher.messages)
    assert received == {message_id(key): 1 for key in queued}  # no physical duplicate at all
    with database.sessions() as session:
        assert {(r.status, r.attempts) for r in session.scalars(select(OutboxMessage))} == {("sent", 1)}


def test_killed_delivery_worker_loses_nothing_and_each_key_arrives_once(database, clock, queued, smtp_catcher,
                                                                         tmp_path):
    logs = [tmp_path / f"outbox-worker{n}.log" for n in range(WORKERS)]
    workers = [spawn(f"worker{n}", clock.now(), smtp_catcher.port, log) for n, log in enumerate(logs)]
    doomed, survivors = workers[0], workers[1:]
    in_flight: list[str] = []
    lock = threading.Lock()

    def kill_mid_send(mail) -> None:
        """The server has the mail; the worker dies before it hears 250 and before it records 'sent'."""
        with lock:
            if mail.helo == "worker0" and not in_flight:
                if sum(1 for c in smtp_catcher.caught if c.helo == "worker0") >= KILL_AT:
                    in_flight.append(mail.message["X-Aftersales-Key"])
                    os.kill(doomed.pid, signal.SIGKILL)

    smtp_catcher.on_mail = kill_mid_send
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    doomed.wait(timeout=TIMEOUT)
    assert doomed.returncode == -signal.SIGKILL, logs[0].read_text()
    sent = run_to_the_end(survivors, logs[1:])

    received = Counter(m["Message-ID"] for m in smtp_catcher.messages)
    # Every message arrived; after dropping copies by Message-ID each key is there exactly once.
    assert set(received) == {message_id(key) for key in queued}
    duplicates = {mid: n for mid, n in received.items() if n > 1}
    # The only second physical send is the one in flight when the worker was killed.
    assert duplicates == {message_id(in_flight[0]): 2}
    with database.sessions() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    assert Counter(r.status for r in rows) == {"sent": MESSAGES}
    assert all(r.claimed_until is None and r.claim_token is None for r in rows)
    stranded = [r.idempotency_key for r in rows if r.attempts == 2]  # claimed by the dead worker, re-sent
    assert in_flight[0] in stranded and len(stranded) > 1, "the kill did not land mid-batch"
    # The survivors recorded everything, including what the dead worker had claimed.
    assert sum(sent) == MESSAGES - (KILL_AT - 1)
    assert all(n > 0 for n in sent), f"the work was not shared: {sent}"
    print(f"\nphysical duplicates: {sum(n - 1 for n in duplicates.values())}; "
          f"re-sent after the lease ran out: {len(stranded)}; sent per survivor: {sent}")
