"""The engine's commands on processes that start on a timer (mixed into WorkflowEngine): start every due
occurrence, start one now, retry a failed start. Each start is one transaction with moving the schedule
on (engine.timing.schedules keeps the rows)."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from engine.clock import using_clock
from engine.diagrams.start_timers import StartTimer
from engine.errors import ConcurrencyConflict, NotFound
from engine.runtime.engine_core import EngineCore
from engine.runtime.worker_incidents import (
    close_incident,
    start_failed,
    start_recovered,
    starts_waiting_for_retry,
)
from engine.storage.models import Incident, ProcessSchedule, ProcessVersion
from engine.storage.unit_of_work import SYSTEM_ACTOR, UnitOfWork
from engine.timing.schedules import SCHEDULED_FOR, ScheduleView, list_schedules

log = logging.getLogger("aftersales.schedules")


class ScheduleCommands(EngineCore):
    """The engine's commands on scheduled processes (mixed into WorkflowEngine)."""

    def start_due_occurrences(self, limit: int | None = None) -> int:
        """Start a case for every due occurrence, oldest first, one transaction each; returns how many.
        A schedule whose start fails gets an incident and is left due, tried again after the backoff
        (engine.runtime.worker_incidents); the others start meanwhile."""
        started, tried = 0, set()
        for _ in range(limit or self.settings.worker_batch):
            try:
                outcome = self._start_next_occurrence(skip=tried)
            except ConcurrencyConflict:
                continue  # another worker took the same occurrence at the same moment
            except _OccurrenceFailed as failed:
                tried.add(failed.process_key)
                self._scheduled_start_failed(failed)
                continue
            if outcome is None:
                break
            started += 1
        return started

    def retry_scheduled_start(self, incident_id: int, process_key: str | None, actor: str) -> bool:
        """重试 on a failed scheduled start: start the due occurrence now. False when the process has no
        due occurrence any more (the incident is closed instead); a failure counts one more attempt."""
        with UnitOfWork(self.db, self.clock) as uow:
            schedule = uow.session.get(ProcessSchedule, process_key) if process_key else None
            if schedule is None or schedule.next_due_at is None or schedule.next_due_at > uow.now:
                close_incident(uow, uow.session.get(Incident, incident_id), actor,
                               "no scheduled occurrence of the process is due")
                uow.commit()
                return False
        try:
            self._start_next_occurrence(skip=set(), only=process_key, actor=actor)
        except _OccurrenceFailed as failed:
            self._scheduled_start_failed(failed)
        return True

    def _scheduled_start_failed(self, failed: _OccurrenceFailed) -> None:
        with UnitOfWork(self.db, self.clock) as uow:
            start_failed(uow, failed.process_key, failed.element_id, failed.error, self.settings.incident_backoff)
            uow.commit()

    def start_scheduled_now(self, process_key: str, actor: str) -> int:
        """Start a case of a scheduled process at once ("run now"), with `scheduled_for` = now; the
        schedule's own occurrences are unchanged."""
        with using_clock(self.clock), UnitOfWork(self.db, self.clock) as uow:
            schedule = uow.session.get(ProcessSchedule, process_key)
            if schedule is None:
                raise NotFound(f"process '{process_key}' has no schedule (no timer start event)")
            version = self._latest_version(uow, process_key)
            uow.audit("schedule_run_now", actor, detail={"process_key": process_key, "scheduled_for":
                                                         uow.now.isoformat()})
            return self._start_case(uow, version, {SCHEDULED_FOR: uow.now.isoformat()}, actor, by_timer=True)

    def schedules(self) -> list[ScheduleView]:
        return list_schedules(self.db)

    def _start_next_occurrence(self, skip: set[str], only: str | None = None,
                               actor: str = SYSTEM_ACTOR) -> int | None:
        """Start the earliest due occurrence (of `only`, when given: a retry by hand, which does not
        wait out the backoff) and move its schedule on, in one transaction."""
        with using_clock(self.clock), UnitOfWork(self.db, self.clock) as uow:
            query = (select(ProcessSchedule).where(ProcessSchedule.next_due_at <= uow.now)
                     .order_by(ProcessSchedule.next_due_at).limit(1))
            if only is not None:
                query = query.where(ProcessSchedule.process_key == only)
            else:
                query = query.where(ProcessSchedule.process_key.not_in(starts_waiting_for_retry(uow.now)))
            if skip:
                query = query.where(ProcessSchedule.process_key.not_in(skip))
            if self.db.is_postgresql:
                query = query.with_for_update(skip_locked=True)
            schedule = uow.session.scalars(query).first()
            if schedule is None:
                return None
            occurrence = schedule.next_due_at
            timer = StartTimer.parse(schedule.timer_kind, schedule.timer_value)
            schedule.next_index += 1
            schedule.next_due_at = timer.occurrence(schedule.next_index)
            schedule.last_started_for = occurrence
            schedule.occurrences_started += 1
            schedule.updated_at = uow.now
            version = uow.session.get(ProcessVersion, schedule.version_id)
            data: dict[str, Any] = {SCHEDULED_FOR: occurrence.isoformat()}
            def before_commit(instance_id: int) -> None:
                schedule.last_instance_id = instance_id
                start_recovered(uow, schedule.process_key, actor)

            try:
                return self._start_case(uow, version, data, SYSTEM_ACTOR, by_timer=True, before_commit=before_commit)
            except (ConcurrencyConflict, StaleDataError, OperationalError, InterfaceError):
                raise  # another worker started this occurrence, or the database is away: nothing is saved here
            except Exception as err:  # the case could not start: the occurrence stays due
                log.error("starting %s for %s failed: %s", schedule.process_key, occurrence, err)
                raise _OccurrenceFailed(schedule.process_key, schedule.start_event_id, err) from err


class _OccurrenceFailed(Exception):
    def __init__(self, process_key: str, element_id: str, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.process_key, self.element_id, self.error = process_key, element_id, error
