"""The engine's commands the timer worker runs (mixed into WorkflowEngine): fire due timers, retry due
incidents, deliver the outbox. One poisoned item never blocks the queue: a case whose firing fails gets
an incident and waits out its backoff while the round goes on (engine.runtime.worker_incidents)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from engine.clock import using_clock
from engine.errors import ConcurrencyConflict, DatabaseBusy, IncidentNotOpen, NotFound
from engine.runtime.engine_core import EngineCore
from engine.runtime.handler_runtime import count_failed_retry
from engine.runtime.worker_incidents import (
    FIRING_TOPIC,
    WORKER_TOPICS,
    close_incident,
    firing_failed,
    firing_recovered,
)
from engine.spiff import ProcessRun, WaitingTimer
from engine.storage.models import Incident, ProcessInstance
from engine.storage.unit_of_work import SYSTEM_ACTOR, UnitOfWork

# Failures that are not the case's fault: a concurrent change, or the database away for a moment. The
# case stays due and a later round fires it; no incident is counted.
NOT_THE_CASES_FAULT = (ConcurrencyConflict, DatabaseBusy, StaleDataError, OperationalError, InterfaceError)


@dataclass
class WorkerTick:
    timers_fired: int = 0
    incidents_retried: int = 0
    messages_sent: int = 0
    errors: list[str] = field(default_factory=list)


class WorkerCommands(EngineCore):
    """Due timers, due retries and pending notifications, one item per transaction."""

    def fire_due_timers(self, limit: int | None = None) -> int:
        """Fire timers of due instances one instance per transaction, then start the cases of due
        timer start events (engine.runtime.schedule_commands); several workers share the work.

        An instance someone changed at the same moment (a person completing its task) is skipped
        with nothing saved; it is still due, so a later round fires it. An instance whose firing
        fails gets an incident and its due time moves past the backoff: the round goes on."""
        fired = 0
        tried: set[int] = set()
        for _ in range(limit or self.settings.worker_batch):
            try:
                outcome = self._fire_next_due_instance(tried)
            except ConcurrencyConflict:
                continue
            if outcome is None:
                break
            fired += outcome
        return fired + self.start_due_occurrences(limit)

    def _fire_next_due_instance(self, tried: set[int]) -> int | None:
        with using_clock(self.clock), UnitOfWork(self.db, self.clock) as uow:
            query = (select(ProcessInstance)
                     .where(ProcessInstance.status == "running", ProcessInstance.next_due_at < uow.now)
                     .order_by(ProcessInstance.next_due_at).limit(1))
            if tried:  # at most one try per case and round, whatever became of it
                query = query.where(ProcessInstance.id.not_in(tried))
            if self.db.is_postgresql:
                query = query.with_for_update(skip_locked=True, of=ProcessInstance)
            instance = uow.session.scalars(query).first()
            if instance is None:
                return None
            tried.add(instance.id)
            return self._fire(uow, instance, SYSTEM_ACTOR)

    def _fire(self, uow: UnitOfWork, instance: ProcessInstance, actor: str) -> int:
        """Fire the case's due timers and commit. When that fails through the case's own diagram or
        data, what the firing did is rolled back to a savepoint and the failure is recorded instead, in
        the same transaction: the case stays locked meanwhile, so no other worker counts it twice."""
        run: ProcessRun | None = None
        fired: list[WaitingTimer] = []
        savepoint = uow.session.begin_nested()
        try:
            run = self._load(uow, instance, actor)
            fired = run.fire_due_timers()
            self._save(uow, instance, run, actor, fired)
            firing_recovered(uow, instance.id, actor)
            savepoint.commit()
        except NOT_THE_CASES_FAULT:
            raise
        except Exception as err:
            savepoint.rollback()
            timer = _first_due(fired, run, uow.now)
            firing_failed(uow, instance, timer.element_id if timer else "", timer.task_id if timer else "", err,
                          self.settings.incident_backoff)
            uow.commit()
            return 0
        self._commit(uow, instance, run.workflow)
        return len(fired)

    def retry_incident(self, incident_id: int, actor: str) -> bool:
        """Run the failed handler again now (by hand or by the worker); False when there was nothing
        left to retry and the incident was closed instead."""
        with using_clock(self.clock), UnitOfWork(self.db, self.clock) as uow:
            incident = uow.session.get(Incident, incident_id)
            if incident is None:
                raise NotFound(f"no incident {incident_id}")
            if incident.status != "open":
                raise IncidentNotOpen(f"incident {incident_id} is already {incident.status}")
            if incident.topic in WORKER_TOPICS:
                topic, instance_id, process_key = incident.topic, incident.instance_id, incident.process_key
            else:
                return self._retry_step(uow, incident, actor)
        if topic == FIRING_TOPIC:
            return self._retry_firing(incident_id, instance_id, actor)
        return self.retry_scheduled_start(incident_id, process_key, actor)

    def _retry_step(self, uow: UnitOfWork, incident: Incident, actor: str) -> bool:
        """Run a failed handler or diagram element again (retry_incident)."""
        instance = self._instance(uow, incident.instance_id)
        run = self._load(uow, instance, actor) if instance.status == "running" else None
        waiting = set() if run is None else {t.task_id for t in run.stuck_service_tasks()} | set(run.failed_steps())
        if incident.task_uuid not in waiting:
            # The case moved on without the handler (an interrupting timer or a cancellation took
            # the task away): nothing is left to retry, so the incident is closed, not retried forever.
            close_incident(uow, incident, actor, "the task is no longer waiting for its handler")
            uow.commit()
            return False
        uow.audit("incident_retried", actor, instance.id, incident.element_id,
                  {"incident_id": incident.id, "attempt": incident.attempts + 1})
        if incident.task_uuid in run.failed_steps():
            run.retry_failed_step(incident.task_uuid)
        else:
            run.retry_service_task(incident.task_uuid)
        self._save(uow, instance, run, actor)
        self._commit(uow, instance, run.workflow)
        return True

    def _retry_firing(self, incident_id: int, instance_id: int, actor: str) -> bool:
        """重试 on a case whose firing failed: fire its due timers now. False when the case no longer
        runs (the incident is closed instead); a failure counts one more attempt."""
        with using_clock(self.clock), UnitOfWork(self.db, self.clock) as uow:
            instance = self._instance(uow, instance_id)
            if instance.status != "running":
                close_incident(uow, uow.session.get(Incident, incident_id), actor, f"the case is {instance.status}")
                uow.commit()
                return False
            uow.audit("incident_retried", actor, instance.id, None, {"incident_id": incident_id})
            self._fire(uow, instance, actor)
        return True

    def retry_due_incidents(self) -> int:
        """Retry handlers and diagram steps whose retry is due (the worker's own work, firing timers
        and scheduled starts, is retried by its own rounds)."""
        with UnitOfWork(self.db, self.clock) as uow:
            due = uow.session.scalars(
                select(Incident.id).where(Incident.status == "open", Incident.next_retry_at <= uow.now,
                                          Incident.topic.not_in(WORKER_TOPICS))
                .order_by(Incident.next_retry_at).limit(self.settings.worker_batch)).all()
        for incident_id in due:
            try:
                self.retry_incident(incident_id, SYSTEM_ACTOR)
            except (ConcurrencyConflict, DatabaseBusy):
                continue  # someone changed the case meanwhile, or held the database: still due, retried later
            except Exception as err:  # the retry failed outside the handler: count it, or it repeats every round
                self._retry_failed(incident_id, err)
        return len(due)

    def _retry_failed(self, incident_id: int, err: Exception) -> None:
        try:
            with UnitOfWork(self.db, self.clock) as uow:
                count_failed_retry(uow, incident_id, err, self.settings.incident_backoff)
                uow.commit()
        except NOT_THE_CASES_FAULT:
            raise
        except Exception:  # even counting failed: push the retry back at least, so the round goes on
            with self.db.writing() as session:
                session.execute(update(Incident).where(Incident.id == incident_id).values(
                    next_retry_at=self.clock.now() + self.settings.incident_backoff[-1]))

    def deliver_outbox(self) -> int:
        """Send due notifications (claim, send, record: see engine.notifications.outbox); returns how many were sent."""
        return self.outbox.deliver_due().sent

    def worker_tick(self) -> WorkerTick:
        """One round of the timer worker: due timers, due handler retries, pending notifications."""
        tick = WorkerTick()
        for name, step in (("timers_fired", self.fire_due_timers), ("incidents_retried", self.retry_due_incidents),
                           ("messages_sent", self.deliver_outbox)):
            try:
                setattr(tick, name, step())
            except Exception as err:  # one failing step must not stop the others
                tick.errors.append(f"{name}: {type(err).__name__}: {err}")
        return tick


def _first_due(fired: list[WaitingTimer], run: ProcessRun | None, now: datetime) -> WaitingTimer | None:
    """The timer a failed firing is about: the first one fired, else the earliest due (when the run got
    that far); the incident names its element."""
    if fired:
        return fired[0]
    try:
        due = [t for t in run.waiting_timers() if t.due_at is not None and t.due_at < now] if run else []
    except Exception:  # the run itself is what failed: the incident names the case only
        return None
    return min(due, key=lambda t: t.due_at) if due else None
