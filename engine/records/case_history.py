"""The path a case took and its data after each step, read back for auditors as plain dataclasses (the
engine records them as it runs: engine.runtime.case_path)."""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.storage.database import Database
from engine.storage.models import (
    AuditEvent,
    CaseSnapshot,
    ElementPass,
    HumanTask,
    ProcessInstance,
    ProcessVersion,
    SlaRecord,
)


# --- reading (auditors' pages) -----------------------------------------------------------------------
@dataclass(frozen=True)
class CaseHeader:
    """One case as its page header shows it, with the names of its version's elements."""

    id: int
    process_key: str
    process_name: str
    version: int
    version_id: int
    business_key: str | None
    status: str
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    element_names: dict[str, str]
    # The version's form fields by id: (Chinese label, English label), so data reads by its labels.
    field_labels: dict[str, tuple[str, str | None]]


@dataclass(frozen=True)
class PathTaken:
    """What the diagram marks: elements passed (with how often), where the case is, limits missed."""

    passes: dict[str, int]
    active: tuple[str, ...]
    breached: tuple[str, ...]


@dataclass(frozen=True)
class TimelineStep:
    """One audit event, with the case data as it stood after the command it ended (if the data changed)."""

    id: int
    at: datetime
    kind: str
    actor: str
    element_id: str | None
    detail: dict[str, Any]
    data_after: dict[str, Any] | None


@dataclass(frozen=True)
class SnapshotView:
    id: int
    at: datetime
    actor: str
    after_event_id: int | None
    data: dict[str, Any]


def case_header(db: Database, instance_id: int) -> CaseHeader | None:
    with db.sessions() as session:
        row = session.get(ProcessInstance, instance_id)
        if row is None:
            return None
        version = row.version
        elements = version.catalog.get("elements") or {}
        names = {element_id: element.get("name") or element_id for element_id, element in elements.items()}
        labels: dict[str, tuple[str, str | None]] = {}
        forms = [version.catalog.get("start_form") or {}, *((e.get("form") or {}) for e in elements.values())]
        for form in forms:
            for form_field in form.get("fields", []):
                labels.setdefault(form_field["id"], (form_field.get("label") or form_field["id"],
                                                     form_field.get("label_en")))
        return CaseHeader(row.id, row.process_key, version.name, version.version, version.id, row.business_key,
                          row.status, row.started_at, row.started_by, row.ended_at, names, labels)


def case_diagram(db: Database, instance_id: int) -> bytes | None:
    """The BPMN file of the version the case runs on (not the latest one)."""
    with db.sessions() as session:
        return session.scalar(select(ProcessVersion.bpmn).join(ProcessInstance,
                              ProcessInstance.version_id == ProcessVersion.id)
                              .where(ProcessInstance.id == instance_id))


def path_taken(db: Database, instance_id: int) -> PathTaken:
    with db.sessions() as session:
        rows = session.scalars(select(ElementPass).where(ElementPass.instance_id == instance_id)
                               .order_by(ElementPass.element_id)).all()
        breached: set[str] = set()
        for timer, guarded in session.execute(select(SlaRecord.element_id, SlaRecord.guarded_element_id).where(
                SlaRecord.instance_id == instance_id, SlaRecord.status == "breached")):
            breached |= {timer, *([guarded] if guarded else [])}
        if not rows:
            return _path_from_the_audit_log(session, instance_id, breached)
        return PathTaken({r.element_id: r.passes for r in rows if r.passes},
                         tuple(r.element_id for r in rows if r.active), tuple(sorted(breached)))


def _path_from_the_audit_log(session: Session, instance_id: int, breached: set[str]) -> PathTaken:
    """A case last moved before the path was recorded: what the audit log and the task rows still tell
    (people's tasks and timers; events, gateways and service tasks are not known)."""
    passes: dict[str, int] = {}
    for element_id, count in session.execute(
            select(AuditEvent.element_id, func.count()).where(
                AuditEvent.instance_id == instance_id, AuditEvent.kind.in_(("task_completed", "timer_fired")),
                AuditEvent.element_id.is_not(None)).group_by(AuditEvent.element_id)):
        passes[element_id] = count
    active = session.scalars(select(HumanTask.element_id).distinct().where(
        HumanTask.instance_id == instance_id, HumanTask.state == "open")).all()
    return PathTaken(passes, tuple(sorted(active)), tuple(sorted(breached)))


def case_snapshots(db: Database, instance_id: int) -> list[SnapshotView]:
    with db.sessions() as session:
        return [SnapshotView(s.id, s.at, s.actor, s.after_event_id, s.data) for s in session.scalars(
            select(CaseSnapshot).where(CaseSnapshot.instance_id == instance_id).order_by(CaseSnapshot.id))]


# The events that begin a command that moves the case (the ones `record_step` follows).
STEP_KINDS = ("instance_started", "task_completed", "timer_fired", "incident_retried", "instance_cancelled")


def case_timeline(db: Database, instance_id: int) -> list[TimelineStep]:
    """Every audit event of the case in order; the data after a command hangs on the event that began it
    (the task completed, the timer fired…), or on its last event when none of those is among them."""
    with db.sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                                 .order_by(AuditEvent.id)).all()
        ids = [e.id for e in events]
        data_after: dict[int, dict[str, Any]] = {}
        since = 0  # events after the previous snapshot's belong to this one's command(s)
        for snapshot in case_snapshots(db, instance_id):
            if snapshot.after_event_id is None:
                continue
            end = bisect.bisect_right(ids, snapshot.after_event_id)
            start = bisect.bisect_right(ids, since)
            steps = [e for e in events[start:end] if e.kind in STEP_KINDS]
            anchor = steps[-1] if steps else (events[end - 1] if end > 0 else None)
            if anchor is not None:
                data_after[anchor.id] = snapshot.data
            since = snapshot.after_event_id
        return [TimelineStep(e.id, e.at, e.kind, e.actor, e.element_id, e.detail or {}, data_after.get(e.id))
                for e in events]
