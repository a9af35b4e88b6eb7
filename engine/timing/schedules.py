"""Processes that start on a timer (monthly reviews, maintenance plans): one schedule row per process
with a timer start event, kept by deploy, and when each is next due. The commands that start the cases
are the engine's (engine.runtime.schedule_commands).

The worker starts one case per occurrence, exactly once even with several workers (the schedule row is
locked with FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer and the row's lock version),
in one transaction with moving the schedule on. After an outage every missed occurrence starts, in
order, each with its own `scheduled_for`, so no month goes without its report."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.diagrams.start_timers import StartTimer
from engine.storage.database import Database
from engine.storage.models import ProcessSchedule, ProcessVersion

SCHEDULED_FOR = "scheduled_for"  # the case variable: ISO date-time (UTC) of the occurrence


@dataclass(frozen=True)
class ScheduleView:
    process_key: str
    name: str
    version: int
    start_event_id: str
    timer: str
    next_due_at: datetime | None
    last_started_for: datetime | None
    occurrences_started: int


def sync_schedule(session: Session, version: ProcessVersion, now: datetime) -> ProcessSchedule | None:
    """Give the process's newly deployed version the schedule its timer start event draws (or drop the
    schedule when it has none). An unchanged timer keeps its place, so an occurrence already due is
    neither started twice nor skipped; a changed one counts from now (never again for an occurrence
    already started)."""
    timer_start = version.catalog.get("timer_start")
    schedule = session.get(ProcessSchedule, version.process_key)
    if timer_start is None:
        if schedule is not None:
            session.delete(schedule)
        return None
    kind, value = timer_start["kind"], timer_start["value"]
    timer = StartTimer.parse(kind, value)
    if schedule is None:
        schedule = ProcessSchedule(process_key=version.process_key, occurrences_started=0)
        session.add(schedule)
        index = 0 if kind == "date" else timer.first_index_from(now)
    elif (schedule.timer_kind, schedule.timer_value) == (kind, value):
        index = schedule.next_index if schedule.next_due_at is not None else None
    else:
        index = 0 if kind == "date" else timer.first_index_from(now)
        last = schedule.last_started_for
        at = timer.occurrence(index) if index is not None else None
        if last is not None and at is not None and at <= last:
            index = timer.first_index_from(last, strictly_after=True)
    schedule.version_id, schedule.start_event_id = version.id, timer_start["element_id"]
    schedule.timer_kind, schedule.timer_value = kind, value
    schedule.next_index = index if index is not None else -1
    schedule.next_due_at = timer.occurrence(index) if index is not None else None
    schedule.updated_at = now
    return schedule


def earliest_due(session: Session) -> datetime | None:
    """When the next scheduled case is due (for the worker's wake-up)."""
    return session.scalar(select(ProcessSchedule.next_due_at).where(ProcessSchedule.next_due_at.is_not(None))
                          .order_by(ProcessSchedule.next_due_at).limit(1))


def list_schedules(db: Database) -> list[ScheduleView]:
    with db.sessions() as session:
        rows = session.execute(select(ProcessSchedule, ProcessVersion)
                               .join(ProcessVersion, ProcessVersion.id == ProcessSchedule.version_id)
                               .order_by(ProcessSchedule.process_key)).all()
        return [ScheduleView(s.process_key, v.name, v.version, s.start_event_id, s.timer_value, s.next_due_at,
                             s.last_started_for, s.occurrences_started) for s, v in rows]
