"""When one item of the worker's queue fails: an incident on it, its due time moved past the backoff,
and the round goes on with the next item.

The worker takes the earliest due item first. An item that fails every time (a case whose due timer
leads to a step that cannot be routed, a scheduled process whose start fails) would otherwise be taken
first again at every round and stop the queue behind it. So its failure is recorded in a unit of work of
its own, after the failed command rolled back: an incident that names the case (or the process) and
the timers, with the attempt counted and the next retry after the engine's backoff; the case's due time
(or the schedule's retry) moves to that retry, so the healthy items behind it are fired on time. Once
the attempts are used up the item waits for a person (重试 on the incidents page).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from engine.runtime.handler_runtime import count_attempt, describe_failure
from engine.storage.models import Incident, ProcessInstance
from engine.storage.unit_of_work import SYSTEM_ACTOR, UnitOfWork

log = logging.getLogger("aftersales.worker")

# The incidents' topics for work the engine does by itself (handlers have their diagram's topic).
FIRING_TOPIC = "engine.timers"  # firing a case's due timers
START_TOPIC = "engine.scheduled_start"  # starting the case of a timer start event's occurrence
WORKER_TOPICS = (FIRING_TOPIC, START_TOPIC)


def firing_failed(uow: UnitOfWork, instance: ProcessInstance, element_id: str, task_id: str, error: BaseException,
                  backoff: tuple[timedelta, ...]) -> Incident:
    """Count the failed firing on the case's incident (naming the timer, when known) and move the
    case's due time to its next retry (none once the attempts are used up: it then waits for a person)."""
    log.warning("firing the timers of case %s failed", instance.id, exc_info=error)
    incident = _open_incident(uow, FIRING_TOPIC, instance_id=instance.id)
    opened = incident is None
    if incident is None:
        incident = Incident(instance_id=instance.id, process_key=instance.process_key, task_uuid=task_id,
                            element_id=element_id, topic=FIRING_TOPIC, error="", attempts=0, status="open",
                            opened_at=uow.now, last_attempt_at=uow.now)
        uow.session.add(incident)
    _count(uow, incident, error, backoff, opened)
    instance.next_due_at = incident.next_retry_at
    return incident


def firing_recovered(uow: UnitOfWork, instance_id: int, actor: str = SYSTEM_ACTOR) -> None:
    """The case's timers fired: an open firing incident on it is resolved."""
    incident = _open_incident(uow, FIRING_TOPIC, instance_id=instance_id)
    if incident is not None:
        _resolve(uow, incident, actor)


def start_failed(uow: UnitOfWork, process_key: str, element_id: str, error: BaseException,
                 backoff: tuple[timedelta, ...]) -> Incident:
    """Count the failed start of a scheduled occurrence on the process's incident; the occurrence stays
    due and is tried again after the backoff (`start_retry_blocked` keeps it out of the rounds until then)."""
    incident = _open_incident(uow, START_TOPIC, process_key=process_key)
    opened = incident is None
    if incident is None:
        incident = Incident(instance_id=None, process_key=process_key, task_uuid="", element_id=element_id,
                            topic=START_TOPIC, error="", attempts=0, status="open", opened_at=uow.now,
                            last_attempt_at=uow.now)
        uow.session.add(incident)
    _count(uow, incident, error, backoff, opened)
    return incident


def start_recovered(uow: UnitOfWork, process_key: str, actor: str = SYSTEM_ACTOR) -> None:
    incident = _open_incident(uow, START_TOPIC, process_key=process_key)
    if incident is not None:
        _resolve(uow, incident, actor)


def starts_waiting_for_retry(now: datetime):
    """The processes whose scheduled start failed and whose retry is not due yet (or is by hand only):
    a subquery for the schedule rounds to leave them out."""
    return (select(Incident.process_key).where(
        Incident.topic == START_TOPIC, Incident.status == "open",
        or_(Incident.next_retry_at.is_(None), Incident.next_retry_at > now)))


def _open_incident(uow: UnitOfWork, topic: str, instance_id: int | None = None,
                   process_key: str | None = None) -> Incident | None:
    query = select(Incident).where(Incident.topic == topic, Incident.status == "open")
    if instance_id is not None:
        query = query.where(Incident.instance_id == instance_id)
    else:
        query = query.where(Incident.process_key == process_key, Incident.instance_id.is_(None))
    return uow.session.scalars(query.order_by(Incident.id).limit(1)).first()


def _count(uow: UnitOfWork, incident: Incident, error: BaseException, backoff: tuple[timedelta, ...],
           opened: bool) -> None:
    text = describe_failure(error)
    count_attempt(incident, text, uow.now, backoff)
    incident.reason = {"kind": "timers_failed" if incident.topic == FIRING_TOPIC else "start_failed",
                       "params": {"detail": text.splitlines()[0][:500]}}
    uow.session.flush()
    uow.audit("incident_opened" if opened else "incident_failed_again", SYSTEM_ACTOR, incident.instance_id,
              incident.element_id, _detail(incident))


def close_incident(uow: UnitOfWork, incident: Incident, actor: str, reason: str) -> None:
    """Nothing is left to retry (the case moved on or ended, no occurrence is due): closed, not retried
    for ever."""
    incident.status, incident.resolved_at, incident.next_retry_at = "closed", uow.now, None
    uow.audit("incident_closed", actor, incident.instance_id, incident.element_id, {
        "incident_id": incident.id, "process_key": incident.process_key, "reason": reason})


def _resolve(uow: UnitOfWork, incident: Incident, actor: str) -> None:
    incident.status, incident.resolved_at, incident.next_retry_at = "resolved", uow.now, None
    uow.audit("incident_resolved", actor, incident.instance_id, incident.element_id,
              {"incident_id": incident.id, "topic": incident.topic, "attempts": incident.attempts + 1})


def _detail(incident: Incident) -> dict[str, Any]:
    return {"incident_id": incident.id, "topic": incident.topic, "process_key": incident.process_key,
            "attempts": incident.attempts, "error": incident.error.splitlines()[0] if incident.error else "",
            "next_retry_at": incident.next_retry_at.isoformat() if incident.next_retry_at else None}
