"""Read side: plain dataclasses from the denormalised rows; never loads a workflow."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from engine.diagrams.catalog import option_labels
from engine.storage.database import Database
from engine.storage.models import (
    AuditEvent,
    HumanTask,
    Incident,
    ProcessInstance,
    ProcessVersion,
    SlaRecord,
)


@dataclass(frozen=True)
class TaskView:
    id: int
    instance_id: int
    process_key: str
    business_key: str | None
    element_id: str
    name: str
    department: str
    state: str
    created_at: datetime
    due_at: datetime | None
    limit_name: str | None
    claimed_by: str | None
    completed_by: str | None
    form: dict[str, Any]
    data: dict[str, Any]
    customer: str | None = None
    category: str | None = None
    warn_at: datetime | None = None
    claimed_at: datetime | None = None
    completed_at: datetime | None = None
    submitted: dict[str, Any] | None = None
    heads_only: bool = False
    limit_source: str | None = None  # procedure / company: who sets the limit shown


@dataclass(frozen=True)
class InstanceView:
    id: int
    process_key: str
    version: int
    business_key: str | None
    status: str
    started_at: datetime
    ended_at: datetime | None
    next_due_at: datetime | None


@dataclass(frozen=True)
class EventView:
    at: datetime
    kind: str
    actor: str
    element_id: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class IncidentView:
    """A failed automatic step, the case it holds up, and where its retries stand."""

    id: int
    instance_id: int | None  # None: a scheduled start that failed before its case existed
    process_key: str
    business_key: str | None
    element_id: str
    topic: str
    status: str
    attempts: int
    error: str
    opened_at: datetime
    last_attempt_at: datetime
    next_retry_at: datetime | None
    resolved_at: datetime | None
    reason: dict[str, Any] | None = None  # diagram code: the rule it broke (engine.diagrams.code_failures)


def _task_view(row: HumanTask) -> TaskView:
    return TaskView(row.id, row.instance_id, row.process_key, row.business_key, row.element_id, row.name,
                    row.department, row.state, row.created_at, row.due_at, row.limit_name, row.claimed_by,
                    row.completed_by, row.form, row.data, row.customer, row.category, row.warn_at,
                    row.claimed_at, row.completed_at, row.submitted, bool(row.heads_only),
                    row.limit_source)


def list_tasks(db: Database, department: str | None = None, assignee: str | None = None,
               instance_id: int | None = None, state: str = "open", limit: int = 100, offset: int = 0) -> list[TaskView]:
    query = select(HumanTask).where(HumanTask.state == state)
    if department:
        query = query.where(HumanTask.department == department)
    if assignee:
        query = query.where(HumanTask.claimed_by == assignee)
    if instance_id:
        query = query.where(HumanTask.instance_id == instance_id)
    query = query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id).limit(limit).offset(offset)
    with db.sessions() as session:
        return [_task_view(row) for row in session.scalars(query)]


def get_task(db: Database, task_id: int) -> TaskView | None:
    with db.sessions() as session:
        row = session.get(HumanTask, task_id)
        return _task_view(row) if row else None


def get_instance(db: Database, instance_id: int) -> InstanceView | None:
    with db.sessions() as session:
        row = session.get(ProcessInstance, instance_id)
        if row is None:
            return None
        return InstanceView(row.id, row.process_key, row.version.version, row.business_key, row.status,
                            row.started_at, row.ended_at, row.next_due_at)


def list_instances(db: Database, process_key: str | None = None, limit: int = 100) -> list[InstanceView]:
    query = select(ProcessInstance).order_by(ProcessInstance.id.desc()).limit(limit)
    if process_key:
        query = query.where(ProcessInstance.process_key == process_key)
    with db.sessions() as session:
        return [InstanceView(r.id, r.process_key, r.version.version, r.business_key, r.status, r.started_at,
                             r.ended_at, r.next_due_at) for r in session.scalars(query)]


def audit_trail(db: Database, instance_id: int | None = None, kind: str | None = None) -> list[EventView]:
    query = select(AuditEvent).order_by(AuditEvent.id)
    if instance_id is not None:
        query = query.where(AuditEvent.instance_id == instance_id)
    if kind:
        query = query.where(AuditEvent.kind == kind)
    with db.sessions() as session:
        return [EventView(e.at, e.kind, e.actor, e.element_id, e.detail) for e in session.scalars(query)]


def list_incidents(db: Database, status: str | None = "open", instance_id: int | None = None) -> list[IncidentView]:
    """Incidents (open ones unless another status or None is asked), of one case when given, oldest first."""
    query = (select(Incident, ProcessInstance.business_key)  # no case yet: a scheduled start that failed
             .outerjoin(ProcessInstance, ProcessInstance.id == Incident.instance_id).order_by(Incident.id))
    if status:
        query = query.where(Incident.status == status)
    if instance_id is not None:
        query = query.where(Incident.instance_id == instance_id)
    with db.sessions() as session:
        return [IncidentView(i.id, i.instance_id, i.process_key, business_key, i.element_id, i.topic, i.status,
                             i.attempts, i.error, i.opened_at, i.last_attempt_at, i.next_retry_at, i.resolved_at,
                             i.reason)
                for i, business_key in session.execute(query)]


@dataclass(frozen=True)
class SlaView:
    """One measured limit or duty occurrence of a case (see engine/timing/sla.py)."""

    id: int
    instance_id: int
    business_key: str | None
    kind: str
    element_id: str
    name: str
    department: str
    person: str | None
    status: str
    started_at: datetime
    due_at: datetime
    warned_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None
    paused_seconds: int
    holders: list[dict[str, Any]]
    source: str | None = None  # procedure / company (None: recorded before sources were kept)


def sla_records(db: Database, instance_id: int | None = None, status: str | None = None) -> list[SlaView]:
    query = select(SlaRecord).order_by(SlaRecord.id)
    if instance_id is not None:
        query = query.where(SlaRecord.instance_id == instance_id)
    if status:
        query = query.where(SlaRecord.status == status)
    with db.sessions() as session:
        return [SlaView(r.id, r.instance_id, r.business_key, r.kind, r.element_id, r.name, r.department, r.person,
                        r.status, r.started_at, r.due_at, r.warned_at, r.met_at, r.breached_at, r.paused_seconds,
                        list(r.holders or []), r.source) for r in session.scalars(query)]


@dataclass(frozen=True)
class ProcessSummary:
    """The latest deployed version of a process as the web pages need it."""

    process_key: str
    name: str
    version: int
    version_id: int
    start_form: dict[str, Any] | None
    starters: tuple[str, ...]
    # Names of the coded values of the diagram's enum fields: field id -> value -> (Chinese, English).
    option_labels: dict[str, dict[str, tuple[str, str | None]]]
    # The case's category field(s), as the process property case_category names them.
    category_fields: tuple[str, ...]

    @property
    def category_labels(self) -> dict[str, tuple[str, str | None]]:
        labels: dict[str, tuple[str, str | None]] = {}
        for field_id in self.category_fields:
            for value, label in self.option_labels.get(field_id, {}).items():
                labels.setdefault(value, label)
        return labels


def latest_versions(db: Database) -> dict[str, int]:
    """The latest deployed version id of each process (cheap: no catalogs are read)."""
    query = select(ProcessVersion.process_key, func.max(ProcessVersion.id)).group_by(ProcessVersion.process_key)
    with db.sessions() as session:
        return dict(session.execute(query).all())


def process_summary(db: Database, version_id: int) -> ProcessSummary | None:
    """One deployed version as the pages need it; versions never change, so callers may keep it."""
    with db.sessions() as session:
        v = session.get(ProcessVersion, version_id)
        if v is None:
            return None
        return ProcessSummary(v.process_key, v.name, v.version, v.id, v.catalog.get("start_form"),
                              tuple(v.catalog.get("starters", ())), option_labels(v.catalog),
                              tuple(v.catalog.get("case_fields", {}).get("category") or ()))
