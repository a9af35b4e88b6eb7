"""The engine's commands. Each is one unit of work: load the instance, act, run the engine (handlers
run here), then save state, task rows, audit events, incidents and outbox messages in one transaction."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from engine.calendar import BusinessCalendar
from engine.catalog import DiagramError, parse_xml
from engine.clock import Clock, SystemClock, using_clock
from engine.db import Database
from engine.deploy import check_diagram, department_lookup, store_version
from engine.errors import IncidentNotOpen, NotFound, TaskClaimedByOther, TaskNotOpen
from engine.forms import FormDefinition, validate_submission
from engine.handler_api import HandlerRegistry
from engine.handler_runtime import HandlerRunner
from engine.models import HumanTask, Incident, ProcessInstance, ProcessVersion
from engine.outbox import LogTransport, Transport, deliver_pending
from engine.spiff import CompiledProcess, ProcessRun, compile_process
from engine.uow import UnitOfWork

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class EngineSettings:
    """Operational settings (not process limits: those live in the diagrams)."""

    incident_backoff: tuple[timedelta, ...] = (timedelta(minutes=1), timedelta(minutes=5))
    worker_batch: int = 50

    @property
    def max_handler_attempts(self) -> int:
        return len(self.incident_backoff) + 1


@dataclass(frozen=True)
class DeployResult:
    process_key: str
    version: int
    version_id: int
    created: bool


@dataclass
class WorkerTick:
    timers_fired: int = 0
    incidents_retried: int = 0
    messages_sent: int = 0
    errors: list[str] = field(default_factory=list)


class WorkflowEngine:
    """Commands on deployed processes and their instances; the web app and the CLI call only these."""

    def __init__(self, db: Database, handlers: HandlerRegistry, clock: Clock | None = None,
                 calendar: BusinessCalendar | None = None, transport: Transport | None = None,
                 settings: EngineSettings | None = None) -> None:
        self.db = db
        self.handlers = handlers
        self.clock = clock or SystemClock()
        self.calendar = calendar or BusinessCalendar()
        self.transport = transport or LogTransport()
        self.settings = settings or EngineSettings()
        self._compiled: dict[int, CompiledProcess] = {}
        self._compile_lock = threading.Lock()

    # -- deploying --------------------------------------------------------------------------------
    def deploy(self, raw: bytes, deployed_by: str, filename: str = "diagram.bpmn") -> DeployResult:
        with using_clock(self.clock), UnitOfWork(self.db, self.clock) as uow:
            checked = check_diagram(raw, self.handlers, department_lookup(uow.session), self.calendar, filename)
            version, created = store_version(uow.session, checked, deployed_by, uow.now)
            if created:
                uow.audit("deployed", deployed_by, detail={
                    "process_key": version.process_key, "version": version.version,
                    "content_hash": version.content_hash, "file": filename})
            uow.commit()
            return DeployResult(version.process_key, version.version, version.id, created)

    def deploy_directory(self, directory: str | Path, deployed_by: str) -> list[DeployResult]:
        results = []
        for path in sorted(Path(directory).glob("*.bpmn")):
            try:
                results.append(self.deploy(path.read_bytes(), deployed_by, filename=path.name))
            except DiagramError as err:
                raise DiagramError(f"{path.name}: {err.problem}", err.element_id) from None
        return results

    def compiled(self, version: ProcessVersion) -> CompiledProcess:
        with self._compile_lock:
            compiled = self._compiled.get(version.id)
            if compiled is None:
                compiled = compile_process(parse_xml(version.bpmn), version.process_key, validate_schema=False)
                self._compiled[version.id] = compiled
            return compiled

    # -- instances --------------------------------------------------------------------------------
    def start_instance(self, process_key: str, data: dict[str, Any], started_by: str,
                       business_key: str | None = None) -> int:
        """Start the latest version; `data` is checked against the start event's form when it has one."""
        with using_clock(self.clock), UnitOfWork(self.db, self.clock) as uow:
            version = uow.session.scalars(
                select(ProcessVersion).where(ProcessVersion.process_key == process_key)
                .order_by(ProcessVersion.version.desc()).limit(1)).first()
            if version is None:
                raise NotFound(f"no process '{process_key}' is deployed")
            start_form = version.catalog.get("start_form")
            cleaned = validate_submission(FormDefinition.from_dict(start_form), data) if start_form else dict(data)
            instance = ProcessInstance(process_key=process_key, version_id=version.id, business_key=business_key,
                                       status="running", started_at=uow.now, started_by=started_by, state="")
            instance.version = version
            uow.session.add(instance)
            uow.session.flush()
            uow.audit("instance_started", started_by, instance.id, detail={
                "process_key": process_key, "version": version.version, "data": cleaned})
            runner = self._runner(uow, instance, started_by)
            run = ProcessRun.start(self.compiled(version), cleaned, self.calendar, runner)
            run.advance()
            self._save(uow, instance, run, started_by)
            uow.commit()
            return instance.id

    def complete_task(self, task_id: int, actor: str, submitted: dict[str, Any]) -> None:
        """Submit a task's form; invalid input raises InvalidForm and nothing changes."""
        with using_clock(self.clock), UnitOfWork(self.db, self.clock) as uow:
            task = self._open_task(uow, task_id)
            if task.claimed_by not in (None, actor):
                raise TaskClaimedByOther(f"task {task_id} is claimed by {task.claimed_by}")
            cleaned = validate_submission(FormDefinition.from_dict(task.form), submitted)
            instance = self._instance(uow, task.instance_id)
            run = self._load(uow, instance, actor)
            run.complete_human_task(task.task_uuid, cleaned)
            task.state, task.completed_by, task.completed_at, task.submitted = "completed", actor, uow.now, cleaned
            if task.claimed_by is None:
                task.claimed_by, task.claimed_at = actor, uow.now
            uow.audit("task_completed", actor, instance.id, task.element_id,
                      {"task": task.name, "task_id": task.id, "data": cleaned})
            self._save(uow, instance, run, actor)
            uow.commit()

    def claim_task(self, task_id: int, actor: str) -> None:
        with UnitOfWork(self.db, self.clock) as uow:
            task = self._open_task(uow, task_id)
            if task.claimed_by not in (None, actor):
                raise TaskClaimedByOther(f"task {task_id} is already claimed by {task.claimed_by}")
            task.claimed_by, task.claimed_at = actor, uow.now
            uow.audit("task_claimed", actor, task.instance_id, task.element_id, {"task_id": task.id})
            self._touch(uow, task.instance_id)
            uow.commit()

    def unclaim_task(self, task_id: int, actor: str) -> None:
        with UnitOfWork(self.db, self.clock) as uow:
            task = self._open_task(uow, task_id)
            if task.claimed_by not in (None, actor):
                raise TaskClaimedByOther(f"task {task_id} is claimed by {task.claimed_by}")
            task.claimed_by, task.claimed_at = None, None
            uow.audit("task_unclaimed", actor, task.instance_id, task.element_id, {"task_id": task.id})
            self._touch(uow, task.instance_id)
            uow.commit()

    def cancel_instance(self, instance_id: int, actor: str, reason: str) -> None:
        with using_clock(self.clock), UnitOfWork(self.db, self.clock) as uow:
            instance = self._instance(uow, instance_id)
            if instance.status != "running":
                raise TaskNotOpen(f"instance {instance_id} is {instance.status}")
            run = self._load(uow, instance, actor)
            run.cancel()
            instance.status, instance.ended_at = "cancelled", uow.now
            uow.audit("instance_cancelled", actor, instance.id, detail={"reason": reason})
            self._save(uow, instance, run, actor)
            uow.commit()

    # -- time and retries (the worker calls these) ----------------------------------------------------
    def fire_due_timers(self, limit: int | None = None) -> int:
        """Fire timers of due instances one instance per transaction; several workers share the work."""
        fired = 0
        for _ in range(limit or self.settings.worker_batch):
            with using_clock(self.clock), UnitOfWork(self.db, self.clock) as uow:
                query = (select(ProcessInstance)
                         .where(ProcessInstance.status == "running", ProcessInstance.next_due_at < uow.now)
                         .order_by(ProcessInstance.next_due_at).limit(1))
                if self.db.is_postgresql:
                    query = query.with_for_update(skip_locked=True, of=ProcessInstance)
                instance = uow.session.scalars(query).first()
                if instance is None:
                    return fired
                run = self._load(uow, instance, SYSTEM_ACTOR)
                for timer in run.fire_due_timers():
                    element = instance.version.catalog["elements"].get(timer.element_id, {})
                    props = element.get("properties", {})
                    uow.audit("timer_fired", SYSTEM_ACTOR, instance.id, timer.element_id, {
                        "name": element.get("name"), "due_at": timer.due_at.isoformat() if timer.due_at else None,
                        "sla_kind": props.get("sla_kind"), "sla_name": props.get("sla_name")})
                    fired += 1
                self._save(uow, instance, run, SYSTEM_ACTOR)
                uow.commit()
        return fired

    def retry_incident(self, incident_id: int, actor: str) -> None:
        """Run the failed handler again now (by hand or by the worker)."""
        with using_clock(self.clock), UnitOfWork(self.db, self.clock) as uow:
            incident = uow.session.get(Incident, incident_id)
            if incident is None:
                raise NotFound(f"no incident {incident_id}")
            if incident.status != "open":
                raise IncidentNotOpen(f"incident {incident_id} is already {incident.status}")
            instance = self._instance(uow, incident.instance_id)
            uow.audit("incident_retried", actor, instance.id, incident.element_id,
                      {"incident_id": incident.id, "attempt": incident.attempts + 1})
            run = self._load(uow, instance, actor)
            run.retry_service_task(incident.task_uuid)
            self._save(uow, instance, run, actor)
            uow.commit()

    def retry_due_incidents(self) -> int:
        with UnitOfWork(self.db, self.clock) as uow:
            due = uow.session.scalars(
                select(Incident.id).where(Incident.status == "open", Incident.next_retry_at <= uow.now)
                .order_by(Incident.next_retry_at).limit(self.settings.worker_batch)).all()
        for incident_id in due:
            self.retry_incident(incident_id, SYSTEM_ACTOR)
        return len(due)

    def deliver_outbox(self) -> int:
        with UnitOfWork(self.db, self.clock) as uow:
            sent = deliver_pending(uow.session, self.transport, self.clock, self.db.is_postgresql,
                                   self.settings.worker_batch)
            uow.commit()
            return sent

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

    # -- internals ---------------------------------------------------------------------------------
    def _open_task(self, uow: UnitOfWork, task_id: int) -> HumanTask:
        task = uow.session.get(HumanTask, task_id)
        if task is None:
            raise NotFound(f"no task {task_id}")
        if task.state == "completed":
            raise TaskNotOpen(f"task {task_id} ({task.name}) was already completed by {task.completed_by} "
                              f"at {task.completed_at.isoformat()}")
        if task.state != "open":
            raise TaskNotOpen(f"task {task_id} ({task.name}) is {task.state}")
        return task

    def _instance(self, uow: UnitOfWork, instance_id: int) -> ProcessInstance:
        instance = uow.session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"no instance {instance_id}")
        return instance

    def _touch(self, uow: UnitOfWork, instance_id: int) -> None:
        """Bump the instance's lock version so a claim and a concurrent completion cannot both win."""
        flag_modified(self._instance(uow, instance_id), "state")

    def _runner(self, uow: UnitOfWork, instance: ProcessInstance, actor: str) -> HandlerRunner:
        return HandlerRunner(uow, instance, self.handlers, actor, self.settings.incident_backoff)

    def _load(self, uow: UnitOfWork, instance: ProcessInstance, actor: str) -> ProcessRun:
        if instance.status != "running":
            raise TaskNotOpen(f"instance {instance.id} is {instance.status}")
        return ProcessRun.load(self.compiled(instance.version), instance.state, self.calendar,
                               self._runner(uow, instance, actor))

    def _save(self, uow: UnitOfWork, instance: ProcessInstance, run: ProcessRun, actor: str) -> None:
        instance.state = run.dump()
        instance.next_due_at = run.next_due_at() if instance.status == "running" else None
        if run.completed and instance.status == "running":
            instance.status, instance.ended_at, instance.next_due_at = "completed", uow.now, None
            uow.audit("instance_completed", actor, instance.id)
        self._sync_human_tasks(uow, instance, run)

    def _sync_human_tasks(self, uow: UnitOfWork, instance: ProcessInstance, run: ProcessRun) -> None:
        catalog = instance.version.catalog["elements"]
        ready = {t.task_id: t for t in run.ready_human_tasks()} if instance.status == "running" else {}
        open_rows = uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.state == "open")).all()
        known = {row.task_uuid for row in open_rows}
        for row in open_rows:
            if row.task_uuid not in ready:
                row.state = "cancelled"
                uow.audit("task_cancelled", SYSTEM_ACTOR, instance.id, row.element_id, {"task_id": row.id})
        for task_id, task in ready.items():
            if task_id in known:
                continue
            element = catalog.get(task.element_id, {})
            due_at, limit_name = _limit_of(task.guarding_timers, catalog)
            row = HumanTask(
                instance_id=instance.id, task_uuid=task_id, element_id=task.element_id, name=task.name,
                process_key=instance.process_key, business_key=instance.business_key,
                department=element.get("department") or "", form=element.get("form") or {"fields": []},
                data=_json_safe(task.data), state="open", created_at=uow.now, due_at=due_at, limit_name=limit_name)
            uow.session.add(row)
            uow.session.flush()
            uow.audit("task_ready", SYSTEM_ACTOR, instance.id, task.element_id, {
                "task_id": row.id, "task": task.name, "department": row.department,
                "due_at": due_at.isoformat() if due_at else None, "limit": limit_name})


def _limit_of(timers, catalog: dict[str, Any]):
    """The earliest response limit guarding a task: the due time users see."""
    limits = []
    for element_id, due in timers:
        element = catalog.get(element_id, {})
        kind = element.get("properties", {}).get("sla_kind")
        if kind == "limit" or (kind is None and element.get("interrupting")):
            limits.append((due, element.get("properties", {}).get("sla_name") or element.get("name")))
    if not limits:
        return None, None
    return min(limits, key=lambda item: item[0])


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if isinstance(v, str | int | float | bool | list | dict | type(None))}

