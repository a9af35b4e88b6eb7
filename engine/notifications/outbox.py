"""Notifications are written in the step's transaction and delivered later, so a crash never loses one.

Delivery is claim -> send -> record, each a separate short transaction, so no database lock is held
while a mail server or a chat robot answers:

1. claim: due `pending` messages (and `sending` ones whose lease ran out) become `sending` with a lease
   (`claimed_until`) and this run's `claim_token`; on PostgreSQL several workers pick disjoint rows with
   FOR UPDATE SKIP LOCKED. Recipients are resolved to people here; nobody -> `failed` at once (except
   for the log and file transports, which only record what would be sent).
2. send: through the transport of the message's channel, carrying the idempotency key (Message-ID,
   Idempotency-Key header). A worker sends only while at least half of its lease is left.
3. record: `sent`, or `pending` again with back-off, or `failed` - only if the row still carries this
   run's claim token.

A worker killed after the send and before the record leaves the message `sending`; once the lease has
run out another worker sends it again with the same key, and a receiver that dedupes on the key sees it
once. That kill window is the only way one key is sent twice.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.storage.database import Database
from engine.storage.models import Membership, OutboxMessage, User

log = logging.getLogger("aftersales.outbox")
DELIVERY_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
DEFAULT_LEASE = timedelta(minutes=5)


class OutboxWriter:
    """Queues messages inside the current unit of work."""

    def __init__(self, session: Session, now: datetime, instance_id: int | None, key_prefix: str) -> None:
        self._session = session
        self._now = now
        self._instance_id = instance_id
        self._key_prefix = key_prefix
        self._count = 0

    def notify(self, recipient: str, subject: str, body: str, channel: str = "email") -> OutboxMessage:
        """Queue one message; `recipient` is `user:<name>`, `department:<code>`, `head:<code>` or an
        e-mail address (several comma-separated); `channel` picks the transport (email, webhook)."""
        self._count += 1
        message = OutboxMessage(
            instance_id=self._instance_id, idempotency_key=f"{self._key_prefix}:{self._count}",
            channel=channel, recipient=recipient, subject=subject, body=body, created_at=self._now,
            status="pending", attempts=0, next_attempt_at=self._now)
        self._session.add(message)
        return message


@dataclass(frozen=True)
class Person:
    """Someone a message reaches: a user (username) or a bare e-mail address."""

    username: str | None
    email: str | None


@dataclass(frozen=True)
class Envelope:
    """One message ready to send, detached from the database session."""

    key: str
    channel: str
    recipient: str
    subject: str
    body: str
    instance_id: int | None
    people: tuple[Person, ...] = ()

    @property
    def addresses(self) -> list[str]:
        return [p.email for p in self.people if p.email]

    @property
    def usernames(self) -> list[str]:
        return [p.username for p in self.people if p.username]


class PermanentDeliveryError(Exception):
    """A failure that retrying cannot cure (nobody to send to, no transport): the message fails at once."""


class Transport(Protocol):
    """Delivers envelopes; an optional class attribute `needs_people = False` lets it take a message whose
    recipient names nobody (the default is a permanent failure)."""

    def send(self, envelope: Envelope) -> None:
        """Deliver one message or raise (PermanentDeliveryError when retrying is pointless)."""


class LogTransport:
    """Writes messages to the application log (the default when nothing else is configured)."""

    # A record for people to read, not a delivery: kept even when the recipient names nobody yet.
    needs_people = False

    def send(self, envelope: Envelope) -> None:
        log.info("notify %s (%s) via %s: %s", envelope.recipient, ", ".join(envelope.addresses),
                 envelope.channel, envelope.subject)


class FileTransport:
    """Appends messages as JSON lines to a file, so a person or a test can read what was sent."""

    needs_people = False  # as LogTransport: a record, written also before any user exists

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, envelope: Envelope) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"key": envelope.key, "channel": envelope.channel, "to": envelope.recipient,
                  "addresses": envelope.addresses, "subject": envelope.subject, "body": envelope.body,
                  "instance": envelope.instance_id}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


class Transports:
    """Which transport delivers which channel (e.g. email -> SMTP, webhook -> chat robot)."""

    def __init__(self, channels: Mapping[str, Transport] | None = None, default: Transport | None = None) -> None:
        self.channels = dict(channels or {})
        self.default = default

    @classmethod
    def of(cls, transport: Transport | Transports | None) -> Transports:
        """A registry from what the engine was given: one transport serves every channel."""
        if isinstance(transport, Transports):
            return transport
        return cls(default=transport or LogTransport())

    def needs_people(self, channel: str) -> bool:
        """Whether a message on this channel fails when its recipient names nobody (real deliveries do)."""
        return getattr(self.channels.get(channel, self.default), "needs_people", True)

    def for_channel(self, channel: str) -> Transport:
        transport = self.channels.get(channel, self.default)
        if transport is None:
            raise PermanentDeliveryError(f"no transport is configured for channel '{channel}'")
        return transport


def resolve_recipients(session: Session, recipient: str) -> tuple[list[Person], list[str]]:
    """People a recipient names, and the parts that named nobody.

    `user:<name>` is that active user; `department:<code>` its active members (heads included);
    `head:<code>` its active heads, or its active members when the department has no active head, so
    an escalation still reaches someone; a text with `@` is an address as is.
    """
    people: dict[str, Person] = {}
    unresolved: list[str] = []
    for part in (p.strip() for p in recipient.split(",")):
        if not part:
            continue
        found = _resolve_one(session, part)
        if not found:
            unresolved.append(part)
        for person in found:
            people.setdefault(person.email or f"user:{person.username}", person)
    return list(people.values()), unresolved


def _resolve_one(session: Session, part: str) -> list[Person]:
    kind, _, name = part.partition(":")
    if "@" in part and kind not in ("user", "department", "head"):
        return [Person(None, part)]
    active_users = select(User.username, User.email).where(User.active.is_(True))
    if kind == "user":
        rows = session.execute(active_users.where(User.username == name)).all()
    elif kind in ("department", "head"):
        members = active_users.join(Membership).where(Membership.department == name).order_by(User.username)
        rows = session.execute(members.where(Membership.role == "head")).all() if kind == "head" else []
        rows = rows or session.execute(members).all()
    else:
        return []
    return [Person(username, email) for username, email in rows]


@dataclass
class _Claimed:
    id: int
    attempts: int
    envelope: Envelope


@dataclass
class DeliveryRun:
    """What one delivery round did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    lost_leases: list[str] = field(default_factory=list)


class OutboxRelay:
    """Moves due outbox messages to their transports: claim, send, record (see the module docstring)."""

    def __init__(self, db: Database, transports: Transports, clock: Clock, lease: timedelta = DEFAULT_LEASE,
                 batch: int = 50, backoff: tuple[timedelta, ...] = DELIVERY_BACKOFF,
                 worker_id: str | None = None) -> None:
        self.db = db
        self.transports = transports
        self.clock = clock
        self.lease = lease
        self.batch = batch
        self.backoff = backoff
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"

    def deliver_due(self) -> DeliveryRun:
        """One round: claim up to `batch` due messages, send each, record each outcome."""
        run = DeliveryRun()
        token = f"{self.worker_id}:{uuid.uuid4().hex[:12]}"[-80:]
        claimed, lease_end = self._claim(token, run)
        attempted: set[int] = set()
        try:
            for item in claimed:
                if self.clock.now() + self.lease / 2 > lease_end:
                    break  # too little lease left: another worker may take these over soon
                attempted.add(item.id)
                try:
                    self._send_and_record(item, token, run)
                except Exception:  # one message that cannot be recorded never stops the others
                    log.exception("message %s: its outcome could not be recorded; its lease runs out and it "
                                  "is tried again", item.envelope.key)
        finally:
            self._release([c.id for c in claimed if c.id not in attempted], token, run)
        return run

    def _claim(self, token: str, run: DeliveryRun) -> tuple[list[_Claimed], datetime]:
        now = self.clock.now()
        lease_end = now + self.lease
        claimable = or_(and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
                        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until <= now))
        due = select(OutboxMessage.id).where(claimable).order_by(OutboxMessage.id).limit(self.batch)
        if self.db.is_postgresql:
            due = due.with_for_update(skip_locked=True)
        claimed: list[_Claimed] = []
        with self.db.writing() as session:
            # Two statements, not UPDATE .. WHERE id IN (SELECT .. LIMIT): PostgreSQL may evaluate such a
            # subquery more than once and claim far more than a batch. The rows stay locked until commit;
            # the repeated condition keeps SQLite (no row locks, one writer) from claiming a taken one.
            ids = session.scalars(due).all()
            ids = session.scalars(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids), claimable)
                .values(status="sending", claimed_until=lease_end, claim_token=token,
                        attempts=OutboxMessage.attempts + 1)
                .returning(OutboxMessage.id).execution_options(synchronize_session=False)).all() if ids else []
            messages = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))
                                       .order_by(OutboxMessage.id)).all() if ids else []
            for message in messages:
                try:
                    with session.begin_nested():  # a failed lookup must not abort the batch's transaction
                        people, unresolved = resolve_recipients(session, message.recipient)
                except Exception as err:  # a recipient that breaks the lookup fails alone, not the batch
                    self._fail(message, f"recipient '{message.recipient}' could not be resolved: "
                                        f"{type(err).__name__}: {err}")
                    run.failed += 1
                    continue
                if not people and self.transports.needs_people(message.channel):
                    self._fail(message, f"recipient '{message.recipient}' resolves to nobody "
                                        f"(no active user, member or head: {', '.join(unresolved)})")
                    run.failed += 1
                    continue
                if unresolved:
                    log.warning("message %s: %s name nobody", message.idempotency_key, ", ".join(unresolved))
                claimed.append(_Claimed(message.id, message.attempts, Envelope(
                    message.idempotency_key, message.channel, message.recipient, message.subject, message.body,
                    message.instance_id, tuple(people))))
        return claimed, lease_end

    def _send_and_record(self, item: _Claimed, token: str, run: DeliveryRun) -> None:
        envelope = item.envelope
        error: str | None = None
        permanent = False
        try:
            self.transports.for_channel(envelope.channel).send(envelope)
        except PermanentDeliveryError as err:
            error, permanent = str(err), True
        except Exception as err:  # any other transport failure is retried later
            error = f"{type(err).__name__}: {err}"
        if error is not None:
            error = error.replace("\x00", "")[:2000]  # what a server answered is stored as text PostgreSQL takes
        now = self.clock.now()
        values: dict = {"claimed_until": None, "claim_token": None}
        if error is None:
            values.update(status="sent", sent_at=now, next_attempt_at=None, last_error=None,
                          delivered_to=", ".join(envelope.addresses or envelope.usernames))
            run.sent += 1
        elif permanent or item.attempts > len(self.backoff):
            values.update(status="failed", next_attempt_at=None, last_error=error)
            run.failed += 1
            log.error("message %s failed for good: %s", envelope.key, error)
        else:
            values.update(status="pending", next_attempt_at=now + self.backoff[item.attempts - 1], last_error=error)
            run.retried += 1
            log.warning("message %s not delivered (attempt %d), retried later: %s", envelope.key, item.attempts,
                        error)
        with self.db.writing() as session:
            recorded = session.execute(
                update(OutboxMessage).where(OutboxMessage.id == item.id, OutboxMessage.claim_token == token)
                .values(**values).execution_options(synchronize_session=False)).rowcount
        if not recorded:  # our lease ran out and another worker took the message over
            run.lost_leases.append(envelope.key)
            log.warning("message %s: lease lost before its outcome was recorded", envelope.key)

    def _release(self, ids: list[int], token: str, run: DeliveryRun) -> None:
        """Give back claimed messages that were not attempted, so they need not wait for the lease."""
        if not ids:
            return
        try:
            with self.db.writing() as session:
                run.released += session.execute(
                    update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.claim_token == token)
                    .values(status="pending", claimed_until=None, claim_token=None,
                            attempts=OutboxMessage.attempts - 1)
                    .execution_options(synchronize_session=False)).rowcount
        except Exception:  # the lease runs out by itself; nothing is lost
            log.exception("could not release %d claimed messages", len(ids))

    @staticmethod
    def _fail(message: OutboxMessage, error: str) -> None:
        message.status = "failed"
        message.last_error = error.replace("\x00", "")[:2000]
        message.next_attempt_at = None
        message.claimed_until = None
        message.claim_token = None
        log.error("message %s failed for good: %s", message.idempotency_key, error)
