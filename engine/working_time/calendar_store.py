"""The company's business calendar in the database: extra days off, extra working days and working
hours on top of the China calendar, edited by people (through the engine's commands) and read by
every working-day and working-hour timer."""
from __future__ import annotations

import threading
import time as monotonic_time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.storage.database import Database
from engine.storage.models import CalendarDay, CalendarSettings
from engine.working_time.calendar import DEFAULT_REGION, BusinessCalendar, WorkingHours

DAY_KINDS = ("day_off", "working_day")
_SETTINGS_ID = 1


@dataclass(frozen=True)
class CalendarDayEntry:
    day: date
    kind: str
    note: str
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True)
class CalendarOverrides:
    """What the company changed on top of the China calendar (read side)."""

    hours: WorkingHours
    days: list[CalendarDayEntry]
    revision: int
    changed_by: str | None = None
    changed_at: datetime | None = None


def parse_day(value: date | str) -> date:
    """A calendar date written YYYY-MM-DD; ValueError names the bad text."""
    if isinstance(value, datetime):
        raise ValueError(f"a calendar day is a date, not a moment: got {value.isoformat()}")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"a day must be written YYYY-MM-DD, e.g. 2026-10-10; got '{value}'") from None


def calendar_revision(session: Session) -> int:
    return session.scalar(select(CalendarSettings.revision).where(CalendarSettings.id == _SETTINGS_ID)) or 0


def _hours_of(row: CalendarSettings | None) -> WorkingHours:
    if row is None:
        return WorkingHours()
    return WorkingHours(row.work_start, row.work_end, row.lunch_start, row.lunch_end)


def load_calendar(session: Session, region: str = DEFAULT_REGION) -> tuple[BusinessCalendar, int]:
    """The company calendar as stored (on top of `region`'s public holidays), with the revision it was read at.

    The revision is read first: an edit committed in between makes the copy look older than it is,
    so it is reloaded at the next check, never kept stale under a newer revision."""
    settings = session.get(CalendarSettings, _SETTINGS_ID)
    revision = settings.revision if settings is not None else 0
    days = session.scalars(select(CalendarDay)).all()
    calendar = BusinessCalendar(extra_days_off={d.day for d in days if d.kind == "day_off"},
                                extra_working_days={d.day for d in days if d.kind == "working_day"},
                                hours=_hours_of(settings), region=region)
    return calendar, revision


def read_overrides(session: Session) -> CalendarOverrides:
    settings = session.get(CalendarSettings, _SETTINGS_ID)
    days = session.scalars(select(CalendarDay).order_by(CalendarDay.day)).all()
    return CalendarOverrides(
        hours=_hours_of(settings),
        days=[CalendarDayEntry(d.day, d.kind, d.note, d.changed_by, d.changed_at) for d in days],
        revision=settings.revision if settings is not None else 0,
        changed_by=settings.changed_by if settings is not None else None,
        changed_at=settings.changed_at if settings is not None else None)


def _bump_revision(session: Session, actor: str, now: datetime, **values) -> None:
    """Move the revision (and set `values`) on the settings row, creating it at the first edit.

    The UPDATE comes first in every edit: on PostgreSQL it locks the row, so edits run one at a time."""
    result = session.execute(update(CalendarSettings).where(CalendarSettings.id == _SETTINGS_ID).values(
        revision=CalendarSettings.revision + 1, changed_by=actor, changed_at=now, **values))
    if result.rowcount == 0:
        default = WorkingHours()
        fields = {"work_start": default.start, "work_end": default.end, "lunch_start": default.lunch_start,
                  "lunch_end": default.lunch_end, **values}
        session.add(CalendarSettings(id=_SETTINGS_ID, revision=1, changed_by=actor, changed_at=now, **fields))
        session.flush()
    session.expire_all()


def set_day(session: Session, day: date | str, kind: str, actor: str, now: datetime,
            note: str = "") -> dict:
    """Make `day` a company day off or working day; returns the audit detail of the change."""
    day = parse_day(day)
    if kind not in DAY_KINDS:
        raise ValueError(f"a calendar day is one of {', '.join(DAY_KINDS)}; got '{kind}'")
    note = (note or "").strip()
    if len(note) > 200:
        raise ValueError("the note is longer than 200 characters")
    _bump_revision(session, actor, now)
    row = session.get(CalendarDay, day)
    before = row.kind if row is not None else None
    if row is None:
        row = CalendarDay(day=day)
        session.add(row)
    row.kind, row.note, row.changed_by, row.changed_at = kind, note, actor, now
    return {"change": "day", "day": day.isoformat(), "kind": kind, "before": before, "note": note}


def clear_day(session: Session, day: date | str, actor: str, now: datetime) -> dict:
    """Remove the company override of `day`: the China calendar decides again."""
    day = parse_day(day)
    _bump_revision(session, actor, now)  # the caller rolls back when the day has nothing to clear
    row = session.get(CalendarDay, day)
    if row is None:
        raise ValueError(f"{day.isoformat()} has no company override to clear")
    before = row.kind
    session.delete(row)
    return {"change": "day", "day": day.isoformat(), "kind": None, "before": before}


def set_hours(session: Session, hours: WorkingHours, actor: str, now: datetime) -> dict:
    """Store the company's working hours; returns the audit detail of the change."""
    before = _hours_of(session.get(CalendarSettings, _SETTINGS_ID)).describe()
    _bump_revision(session, actor, now, work_start=hours.start, work_end=hours.end,
                   lunch_start=hours.lunch_start, lunch_end=hours.lunch_end)
    return {"change": "hours", "hours": hours.describe(), "before": before}


class DatabaseCalendar:
    """The stored calendar kept in memory: reloaded when its revision moved, checked at most every
    `check_seconds` (operational time, not business time) or at once after `invalidate()`."""

    def __init__(self, db: Database, check_seconds: float = 5.0,
                 monotonic: Callable[[], float] = monotonic_time.monotonic, region: str = DEFAULT_REGION) -> None:
        self.db = db
        self.region = region
        self.check_seconds = check_seconds
        self._monotonic = monotonic
        self._calendar: BusinessCalendar | None = None
        self._revision: int | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def current(self) -> BusinessCalendar:
        with self._lock:
            now = self._monotonic()
            if self._calendar is not None and now - self._checked_at < self.check_seconds:
                return self._calendar
            with self.db.sessions() as session:
                if self._calendar is None or calendar_revision(session) != self._revision:
                    self._calendar, self._revision = load_calendar(session, self.region)
            self._checked_at = now
            return self._calendar

    def invalidate(self) -> None:
        """Check the database at the next use (after an edit made through this engine)."""
        with self._lock:
            self._checked_at = float("-inf")
            self._calendar = None
