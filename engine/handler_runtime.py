"""Running a service task's handler inside the command's transaction.

Each call runs in a savepoint: a handler that fails leaves nothing behind but an incident, and the
workflow keeps the task waiting (its last good state) until a retry succeeds.
"""
from __future__ import annotations

import traceback
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from engine.code_failures import describe
from engine.handler_api import BpmnError, HandlerContext, HandlerRegistry, OpenTask
from engine.models import HumanTask, Incident, ProcessInstance
from engine.outbox import OutboxWriter
from engine.queries import attainment_in
from engine.spiff import ServiceCall, ServiceOutcome, StepFailure
from engine.uow import UnitOfWork


class HandlerRunner:
    def __init__(self, uow: UnitOfWork, instance: ProcessInstance, catalog: dict[str, Any], handlers: HandlerRegistry,
                 actor: str, backoff: tuple[timedelta, ...]) -> None:
        self.uow = uow
        self.instance = instance
        self.catalog = catalog["elements"]
        self.handlers = handlers
        self.actor = actor
        self.backoff = backoff
        self._incidents: dict[str, Incident] | None = None

    def run(self, call: ServiceCall) -> ServiceOutcome:
        handler = self.handlers.get(call.topic)
        element = self.catalog.get(call.element_id, {})
        session = self.uow.session
        savepoint = session.begin_nested()
        context = HandlerContext(
            topic=call.topic, element_id=call.element_id, element_name=element.get("name", call.element_id),
            process_key=self.instance.process_key, instance_id=self.instance.id,
            business_key=self.instance.business_key, actor=self.actor, data=call.data,
            properties=self._properties(element), session=session, now=self.uow.now,
            outbox=OutboxWriter(session, self.uow.now, self.instance.id, f"{self.instance.id}:{call.task_id}"),
            _open_tasks=self._open_tasks,
            _attainment=lambda start, end, by, process_key, by_source=False: attainment_in(
                session, start, end, by, process_key, by_source=by_source),
            _audit=lambda kind, detail: self.uow.audit(kind, self.actor, self.instance.id, call.element_id, detail))
        try:
            if handler is None:
                raise LookupError(f"no handler is registered for topic '{call.topic}'")
            result = dict(handler(context) or {})
            session.flush()
        except BpmnError as err:
            savepoint.rollback()
            self.uow.audit("bpmn_error", self.actor, self.instance.id, call.element_id,
                           {"topic": call.topic, "code": err.code, "message": str(err)})
            self._resolve_incident(call)
            return ServiceOutcome(error_code=err.code)
        except Exception as err:  # any handler failure becomes an incident
            savepoint.rollback()
            self._record_failure(call, f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=5)}")
            return ServiceOutcome(failed=True)
        savepoint.commit()
        if context.assigned_business_key:
            self.instance.business_key = context.assigned_business_key
        self._resolve_incident(call)
        return ServiceOutcome(data=result)

    def _properties(self, element: dict) -> dict[str, str]:
        """The task's own properties over those of the boundary timer whose path it is on, so an
        escalation step knows which limit (sla_name, responsible_department) it is escalating."""
        catalog = self.catalog
        inherited: dict[str, str] = {}
        for source in element.get("incoming", []):
            if catalog.get(source, {}).get("type") == "boundaryEvent":
                inherited.update(catalog[source].get("properties", {}))
        return {**inherited, **element.get("properties", {})}

    def error_not_caught(self, call: ServiceCall, code: str) -> None:
        self._record_failure(call, f"BPMN error '{code}' was raised but no error event in the diagram catches it")

    def step_failed(self, failure: StepFailure) -> None:
        """A diagram element's code failed: an incident on that element, with the rule it broke."""
        element = self.catalog.get(failure.element_id, {})
        label = f"{element['name']} ({failure.element_id})" if element.get("name") else failure.element_id
        call = ServiceCall(task_id=failure.task_id, element_id=failure.element_id, topic="", data={})
        self._record_failure(call, describe(failure.kind, failure.params, label),
                             reason={"kind": failure.kind, "params": failure.params})

    def step_recovered(self, task_id: str, element_id: str) -> None:
        self._resolve_incident(ServiceCall(task_id=task_id, element_id=element_id, topic="", data={}))

    def _open_tasks(self) -> list[OpenTask]:
        rows = self.uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == self.instance.id, HumanTask.state == "open")).all()
        return [OpenTask(r.element_id, r.name, r.department, r.claimed_by) for r in rows]

    def _incident(self, call: ServiceCall) -> Incident | None:
        if self._incidents is None:  # one query per command, not per handler call
            self._incidents = {i.task_uuid: i for i in self.uow.session.scalars(select(Incident).where(
                Incident.instance_id == self.instance.id, Incident.status == "open"))}
        return self._incidents.get(call.task_id)

    def _record_failure(self, call: ServiceCall, error: str, reason: dict[str, Any] | None = None) -> None:
        now = self.uow.now
        incident = self._incident(call)
        if incident is None:
            incident = Incident(instance_id=self.instance.id, task_uuid=call.task_id, element_id=call.element_id,
                                topic=call.topic, error=error, attempts=0, status="open", opened_at=now,
                                last_attempt_at=now)
            self.uow.session.add(incident)
            self._incidents[call.task_id] = incident
            kind = "incident_opened"
        else:
            kind = "incident_failed_again"
        incident.attempts += 1
        incident.error = error
        incident.reason = reason
        incident.last_attempt_at = now
        retries_done = incident.attempts - 1
        incident.next_retry_at = now + self.backoff[retries_done] if retries_done < len(self.backoff) else None
        self.uow.session.flush()
        self.uow.audit(kind, self.actor, self.instance.id, call.element_id, {
            "incident_id": incident.id, "topic": call.topic, "attempts": incident.attempts,
            "error": error.splitlines()[0], "next_retry_at": incident.next_retry_at.isoformat()
            if incident.next_retry_at else None})

    def _resolve_incident(self, call: ServiceCall) -> None:
        incident = self._incident(call)
        if incident is None:
            return
        incident.status, incident.resolved_at, incident.next_retry_at = "resolved", self.uow.now, None
        del self._incidents[call.task_id]
        self.uow.audit("incident_resolved", self.actor, self.instance.id, call.element_id,
                       {"incident_id": incident.id, "attempts": incident.attempts + 1})
