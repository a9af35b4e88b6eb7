"""Running a service task's handler inside the command's transaction.

Each call runs in a savepoint: a handler that fails leaves nothing behind but an incident, and the
workflow keeps the task waiting (its last good state) until a retry succeeds.

Whatever a handler hands back is checked inside its savepoint too (its result can be saved, its
business key fits): a step that would only fail later, at the command's save, would roll back its own
incident's attempt counter with it and be retried at every worker round, for ever.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DataError

from engine.diagrams.code_failures import describe
from engine.handler_api import BpmnError, HandlerContext, HandlerRegistry, OpenTask
from engine.notifications.outbox import OutboxWriter
from engine.spiff import ServiceCall, ServiceOutcome, StepFailure
from engine.storage.models import HumanTask, Incident, ProcessInstance
from engine.storage.unit_of_work import SYSTEM_ACTOR, UnitOfWork
from engine.timing.attainment import attainment_in

log = logging.getLogger("aftersales.handlers")
BUSINESS_KEY_LENGTH = 120  # ProcessInstance.business_key


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
            _check_result(result, context.assigned_business_key)
            session.flush()
        except BpmnError as err:
            savepoint.rollback()
            self.uow.audit("bpmn_error", self.actor, self.instance.id, call.element_id,
                           {"topic": call.topic, "code": err.code, "message": str(err)})
            self._resolve_incident(call)
            return ServiceOutcome(error_code=err.code)
        except Exception as err:  # any handler failure becomes an incident
            savepoint.rollback()
            log.warning("handler %s at %s (case %s) failed", call.topic, call.element_id, self.instance.id,
                        exc_info=True)
            self._record_failure(call, describe_failure(err))
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
            incident = Incident(instance_id=self.instance.id, process_key=self.instance.process_key,
                                task_uuid=call.task_id, element_id=call.element_id, topic=call.topic, error=error,
                                attempts=0, status="open", opened_at=now, last_attempt_at=now)
            self.uow.session.add(incident)
            self._incidents[call.task_id] = incident
            kind = "incident_opened"
        else:
            kind = "incident_failed_again"
        count_attempt(incident, error, now, self.backoff)
        incident.reason = reason
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


def count_attempt(incident: Incident, error: str, now: datetime, backoff: tuple[timedelta, ...]) -> None:
    """One more failed attempt: the next retry after the backoff for it, none (by hand only) once the
    configured attempts are used up, so a step that fails the same way every time stops being retried."""
    incident.attempts += 1
    incident.error = error
    incident.last_attempt_at = now
    retries_done = incident.attempts - 1
    incident.next_retry_at = now + backoff[retries_done] if retries_done < len(backoff) else None


def count_failed_retry(uow: UnitOfWork, incident_id: int, err: BaseException,
                       backoff: tuple[timedelta, ...]) -> None:
    """A retry whose command failed after the handler (at the save, say) rolled back everything, the
    incident's attempt included: count the attempt in a unit of work of its own."""
    log.warning("retrying incident %s failed", incident_id, exc_info=err)
    incident = uow.session.get(Incident, incident_id)
    if incident is None or incident.status != "open":
        return
    count_attempt(incident, describe_failure(err), uow.now, backoff)
    uow.audit("incident_failed_again", SYSTEM_ACTOR, incident.instance_id, incident.element_id, {
        "incident_id": incident.id, "topic": incident.topic, "attempts": incident.attempts,
        "error": incident.error.splitlines()[0],
        "next_retry_at": incident.next_retry_at.isoformat() if incident.next_retry_at else None})


def describe_failure(err: BaseException) -> str:
    """The incident's message: a stated rule for failures that repeat on every retry, else the error's
    kind and text (what the handler said); never a traceback (the log has it)."""
    if isinstance(err, OverflowError) or (isinstance(err, DataError) and _out_of_range(err)):
        return ("数值超出可保存的范围：处理程序要保存的数值太大或太小（整数最多 2,147,483,647），每次重试都会同样失败。"
                "请更正案件数据或处理程序后再手动重试。")
    if isinstance(err, UnsavableResult):
        return f"处理程序返回的数据无法保存：{err}。每次重试都会同样失败，请修正处理程序后再手动重试。"
    if isinstance(err, DataError):
        return "数据库拒绝保存处理程序的数据（数据格式或长度不符），每次重试都会同样失败。请更正案件数据或处理程序后再手动重试。"
    text = str(err).replace("\x00", "").splitlines()[0] if str(err) else ""  # PostgreSQL stores no NUL
    return f"{type(err).__name__}: {text}"[:2000]


def _out_of_range(err: DataError) -> bool:
    text = str(err.orig).lower()
    return "out of range" in text or "too large" in text or "overflow" in text


class UnsavableResult(ValueError):
    """A handler handed back data the engine cannot keep with the case."""


def _check_result(result: dict[str, Any], business_key: str | None) -> None:
    """Fail inside the savepoint what would otherwise fail at the command's save, every time."""
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise UnsavableResult(f"结果不是可保存的 JSON 数据（{_reason(err)}）") from None
    if business_key is not None and len(business_key) > BUSINESS_KEY_LENGTH:
        raise UnsavableResult(f"案件编号长度 {len(business_key)} 超过 {BUSINESS_KEY_LENGTH} 个字符")


def _reason(err: Exception) -> str:
    text = str(err)
    if "not JSON serializable" in text:
        return "含有无法保存的值类型 " + text.split("Object of type ", 1)[-1].split(" ", 1)[0]
    if "Out of range float" in text:
        return "含有无穷大或非数"
    return "格式不符"
