"""The engine's tables: deployed versions, instances, human tasks, audit, incidents, outbox."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.storage.base import Base, UtcDateTime


class Department(Base):
    """An organisational unit whose members work the tasks of a lane / candidate group."""

    __tablename__ = "departments"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(80), unique=True)
    name_en: Mapped[str] = mapped_column(String(80))


class User(Base):
    """A person who signs in: department memberships say whose tasks they work, roles what else they may do."""

    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    # Roles beyond department membership: process_owner, auditor, admin.
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Put in the session cookie at sign-in and compared on every request: raised by signing out, a password
    # change and a deactivation, so every cookie issued before (even a copied one) stops working at once.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    memberships: Mapped[list[Membership]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class Membership(Base):
    """A user's place in a department: a member works its tasks, the head may also reassign them."""

    __tablename__ = "memberships"
    username: Mapped[str] = mapped_column(ForeignKey("users.username"), primary_key=True)
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(20))  # member, head


class ProcessVersion(Base):
    """One immutable deployment of a BPMN file; instances keep the version they started on."""

    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("process_key", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    bpmn: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    catalog: Mapped[dict[str, Any]] = mapped_column(JSON)
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deployed_by: Mapped[str] = mapped_column(String(120))


class ProcessInstance(Base):
    """A running or finished case; `state` is the serialized workflow without its definition."""

    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_instances_due", "status", "next_due_at"),
        # The auditors' list: newest first, alone or within a process / status (engine/records/case_search.py).
        Index("ix_instances_started", "started_at", "id"),
        Index("ix_instances_process_started", "process_key", "started_at", "id"),
        Index("ix_instances_status_started", "status", "started_at", "id"),
        Index("ix_instances_version_started", "version_id", "started_at", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(120), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    business_key: Mapped[str | None] = mapped_column(String(120), index=True)
    status: Mapped[str] = mapped_column(String(20))  # running, completed, cancelled
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_by: Mapped[str] = mapped_column(String(120))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)

    version: Mapped[ProcessVersion] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(Base):
    """A user task offered to a department, denormalised so inboxes never load workflows."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        # The inbox lists a department's open tasks by due time and filters them on these columns; with
        # them in the index a page is read in due order without touching the rows it skips.
        Index("ix_tasks_inbox", "state", "department", "due_order", "warn_at", "claimed_by", "category",
              "business_key", "customer", "id"),
        Index("ix_tasks_assignee", "state", "claimed_by", "department", "due_order"),
        Index("ix_tasks_created", "state", "department", "created_at"),
        # The auditors' list: cases with a task of a department, cases whose customer matches a search.
        Index("ix_tasks_department_instance", "department", "instance_id"),
        Index("ix_tasks_customer_instance", "customer", "instance_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    element_id: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    process_key: Mapped[str] = mapped_column(String(120))
    business_key: Mapped[str | None] = mapped_column(String(120))
    # The case's customer and category as the diagram names them (process properties case_customer /
    # case_category), copied when the task is created so the inbox can show, filter and search them.
    customer: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(40))
    department: Mapped[str] = mapped_column(String(40))
    # camunda:candidateGroups="head:<code>": only the department's heads (and admins) may claim, complete or
    # be handed the task; its members still see it in the department's list.
    heads_only: Mapped[bool] = mapped_column(Boolean, default=False)
    form: Mapped[dict[str, Any]] = mapped_column(JSON)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    instance: Mapped[ProcessInstance] = relationship()
    state: Mapped[str] = mapped_column(String(20))  # open, completed, cancelled
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    warn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # "due soon" from here on
    # due_at, or the end of time for a task without a limit: one indexable order with those last.
    due_order: Mapped[datetime] = mapped_column(UtcDateTime)
    limit_name: Mapped[str | None] = mapped_column(String(200))
    limit_source: Mapped[str | None] = mapped_column(String(12))  # procedure / company (engine/diagrams/catalog.py)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(120))
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    submitted: Mapped[dict[str, Any] | None] = mapped_column(JSON)


NO_LIMIT = datetime(9999, 12, 31, tzinfo=UTC)


class AuditEvent(Base):
    """Append-only record of what happened, by whom, when; nothing updates or deletes it."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    element_id: Mapped[str | None] = mapped_column(String(120))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class Incident(Base):
    """A service-task handler, a diagram element's code (a condition, script, timer value), or the
    worker's own work on one item (firing a case's timers, a scheduled start) that failed; retried with
    back-off, then kept open for a person."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None: a scheduled start that failed before its case existed (process_key says which process).
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    process_key: Mapped[str | None] = mapped_column(String(120))
    task_uuid: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(120))
    topic: Mapped[str] = mapped_column(String(120))
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # open, resolved
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Diagram code: {"kind": ..., "params": {...}} (engine.diagrams.code_failures); None for a handler's failure.
    reason: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SlaRecord(Base):
    """One measured limit (or one occurrence of a duty) of one case."""

    __tablename__ = "sla_records"
    __table_args__ = (
        Index("ix_sla_instance_status", "instance_id", "status"),
        Index("ix_sla_department_due", "department", "due_at"),
        Index("ix_sla_person_due", "person", "due_at"),
        # The auditors' list: the cases with a limit missed / met, as one range of the index.
        Index("ix_sla_status_instance", "status", "instance_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    process_key: Mapped[str] = mapped_column(String(120))
    business_key: Mapped[str | None] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10))  # limit, duty
    element_id: Mapped[str] = mapped_column(String(120))  # the timer in the diagram
    name: Mapped[str] = mapped_column(String(200))
    # Who sets the limit: procedure (the text states it) or company (a company rule); None before 0003.
    source: Mapped[str | None] = mapped_column(String(12))
    timer_task_uuid: Mapped[str] = mapped_column(String(36))
    guarded_element_id: Mapped[str | None] = mapped_column(String(120))  # limit: the activity; duty: its task
    duty_task_id: Mapped[int | None] = mapped_column(Integer)  # the human task that fulfils a duty
    department: Mapped[str] = mapped_column(String(40))
    person: Mapped[str | None] = mapped_column(String(120))
    holders: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20))  # running, paused, met, breached, cancelled
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    warn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    met_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paused_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)


class ProcessSchedule(Base):
    """When the latest version of a process with a timer start event starts its next case; the worker
    starts one case per occurrence and moves `next_due_at` on in the same transaction."""

    __tablename__ = "process_schedules"
    process_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    start_event_id: Mapped[str] = mapped_column(String(120))
    timer_kind: Mapped[str] = mapped_column(String(10))  # cycle, date
    timer_value: Mapped[str] = mapped_column(String(200))
    next_index: Mapped[int] = mapped_column(Integer)  # which occurrence next_due_at is (0: the first)
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)  # None: no more
    last_started_for: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_instance_id: Mapped[int | None] = mapped_column(Integer)
    occurrences_started: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": lock_version}


class OutboxMessage(Base):
    """A notification written with the step that caused it and delivered later by the worker."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # pending, sending (claimed by a worker until claimed_until), sent, failed
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # A worker's lease on a `sending` message: nobody else sends it before this moment; after it, the
    # message is sent again under the same idempotency key (the worker may have died mid-send).
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(80))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivered_to: Mapped[str | None] = mapped_column(Text)  # the addresses the recipient resolved to
    last_error: Mapped[str | None] = mapped_column(Text)


class ElementPass(Base):
    """How often a case passed one diagram element, and whether it is there now: the path taken, kept as
    the engine runs because compaction forgets finished tasks and the audit log has no events for
    gateways, service tasks or events."""

    __tablename__ = "element_passes"
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), primary_key=True)
    element_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    passes: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=False)  # the case is at this element now
    first_at: Mapped[datetime] = mapped_column(UtcDateTime)  # first reached
    last_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # last passed

    # Written after the instance row (its lock-version check) in a flush: see engine.runtime.case_path.
    instance: Mapped[ProcessInstance] = relationship()


class CaseSnapshot(Base):
    """The case data as it stood after a command (stored only when it changed), so auditors see the data
    after each step; `after_event_id` is the instance's last audit event at that moment."""

    __tablename__ = "case_snapshots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(120))
    after_event_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    instance: Mapped[ProcessInstance] = relationship()


class ApiToken(Base):
    """A personal token another system (hotline, CRM) sends as `Authorization: Bearer …` to act as its user;
    only its SHA-256 is kept, and a short prefix so its owner can tell tokens apart."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LoginEvent(Base):
    """One sign-in attempt, sign-out, expired session or password change, kept for the auditors and read to
    refuse further attempts after too many failures (a table, so every web process sees the same count).
    Append-only: a successful sign-in does not delete the failures before it."""

    __tablename__ = "login_events"
    __table_args__ = (
        # Recent failures of one name, and of one address (engine/accounts/sign_in.py); the log newest first.
        Index("ix_login_events_username_at", "username", "at"),
        Index("ix_login_events_ip_at", "ip", "at"),
        Index("ix_login_events_at", "at", "id"),
        Index("ix_login_events_outcome_at", "outcome", "at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    username: Mapped[str] = mapped_column(String(80))  # as typed (trimmed): unknown names are evidence too
    # signed_in, wrong_password, unknown_user, inactive_user, locked_out, signed_out, session_expired,
    # password_changed
    outcome: Mapped[str] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


# -- the company calendar (read through engine.working_time.calendar_store) --------------------------
class CalendarDay(Base):
    """A company override of one date: a day off on a working day, or work on a day off."""

    __tablename__ = "calendar_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # day_off | working_day
    note: Mapped[str] = mapped_column(String(200), default="")
    changed_by: Mapped[str] = mapped_column(String(120))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CalendarSettings(Base):
    """The one row of company-wide calendar settings; `revision` moves at every calendar edit, so
    engines in other processes see cheaply that their copy is stale."""

    __tablename__ = "calendar_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_start: Mapped[time] = mapped_column(Time)
    work_end: Mapped[time] = mapped_column(Time)
    lunch_start: Mapped[time | None] = mapped_column(Time, nullable=True)
    lunch_end: Mapped[time | None] = mapped_column(Time, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    changed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
