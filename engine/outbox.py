"""Notifications are written in the step's transaction and delivered later, so a crash never loses one."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.models import OutboxMessage

log = logging.getLogger("aftersales.outbox")
DELIVERY_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))


class OutboxWriter:
    """Queues messages inside the current unit of work."""

    def __init__(self, session: Session, now: datetime, instance_id: int | None, key_prefix: str) -> None:
        self._session = session
        self._now = now
        self._instance_id = instance_id
        self._key_prefix = key_prefix
        self._count = 0

    def notify(self, recipient: str, subject: str, body: str, channel: str = "email") -> OutboxMessage:
        """Queue one message; `recipient` is an address such as `department:quality` or `user:li.lei`."""
        self._count += 1
        message = OutboxMessage(
            instance_id=self._instance_id, idempotency_key=f"{self._key_prefix}:{self._count}",
            channel=channel, recipient=recipient, subject=subject, body=body, created_at=self._now,
            status="pending", attempts=0, next_attempt_at=self._now)
        self._session.add(message)
        return message


class Transport(Protocol):
    def send(self, message: OutboxMessage) -> None:
        """Deliver one message or raise."""


class LogTransport:
    """Writes messages to the application log (the default until SMTP is configured)."""

    def send(self, message: OutboxMessage) -> None:
        log.info("notify %s via %s: %s", message.recipient, message.channel, message.subject)


class FileTransport:
    """Appends messages as JSON lines to a file, so a person or a test can read what was sent."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, message: OutboxMessage) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"key": message.idempotency_key, "channel": message.channel, "to": message.recipient,
                  "subject": message.subject, "body": message.body, "instance": message.instance_id}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def deliver_pending(session: Session, transport: Transport, clock: Clock, skip_locked: bool,
                    batch: int = 50) -> int:
    """Send due pending messages; failures are retried with back-off. Returns how many were sent."""
    now = clock.now()
    query = (select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
             .order_by(OutboxMessage.id).limit(batch))
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    sent = 0
    for message in session.scalars(query).all():
        message.attempts += 1
        try:
            transport.send(message)
        except Exception as err:  # any transport failure is retried later
            message.last_error = f"{type(err).__name__}: {err}"
            if message.attempts > len(DELIVERY_BACKOFF):
                message.status = "failed"
                message.next_attempt_at = None
            else:
                message.next_attempt_at = now + DELIVERY_BACKOFF[message.attempts - 1]
            continue
        message.status = "sent"
        message.sent_at = now
        message.next_attempt_at = None
        sent += 1
    return sent
