"""The engine's commands on the business calendar that working-day and working-hour timers count with
(mixed into WorkflowEngine)."""
from __future__ import annotations

from datetime import date, time

from engine.clock import Clock
from engine.storage.database import Database
from engine.storage.unit_of_work import UnitOfWork
from engine.working_time import calendar_store
from engine.working_time.calendar import BusinessCalendar, WorkingHours


class CalendarCommands:
    """Company days off, extra working days and working hours."""

    db: Database
    clock: Clock
    _fixed_calendar: BusinessCalendar | None  # a calendar the engine was given (tests, benchmarks)
    _stored_calendar: calendar_store.DatabaseCalendar  # else the company calendar in the database

    @property
    def calendar(self) -> BusinessCalendar:
        """What every working-day/-hour timer counts with: the calendar this engine was given, else the
        company calendar stored in the database (reloaded when someone changed it)."""
        return self._fixed_calendar if self._fixed_calendar is not None else self._stored_calendar.current()

    def set_calendar_day(self, day: date | str, kind: str, actor: str, note: str = "") -> None:
        """Make a date a company day off (`day_off`) or working day (`working_day`); timers started
        from now on count with it, timers already waiting keep their due time."""
        self._edit_calendar(actor, lambda session, now: calendar_store.set_day(session, day, kind, actor, now, note))

    def clear_calendar_day(self, day: date | str, actor: str) -> None:
        """Drop the company's override of a date: the China calendar decides it again."""
        self._edit_calendar(actor, lambda session, now: calendar_store.clear_day(session, day, actor, now))

    def set_working_hours(self, start: time | str, end: time | str, actor: str,
                          lunch_start: time | str | None = None, lunch_end: time | str | None = None) -> None:
        """The company's working hours (HH:MM) for working-hour limits; ValueError when they make no sense."""
        hours = WorkingHours.parse(start, end, lunch_start, lunch_end)
        self._edit_calendar(actor, lambda session, now: calendar_store.set_hours(session, hours, actor, now))

    def calendar_overrides(self) -> calendar_store.CalendarOverrides:
        with self.db.sessions() as session:
            return calendar_store.read_overrides(session)

    def _edit_calendar(self, actor: str, change) -> None:
        with UnitOfWork(self.db, self.clock) as uow:
            uow.audit("calendar_changed", actor, detail=change(uow.session, uow.now))
            uow.commit()
        self._stored_calendar.invalidate()
