"""The engine's commands. Each is one unit of work: load the instance, act, run the engine (handlers
run here), then save state, task rows, audit events, incidents and outbox messages in one transaction."""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import Clock, SystemClock, using_clock
from engine.diagrams.catalog import DiagramError, parse_xml
from engine.diagrams.forms import FormDefinition, validate_submission
from engine.errors import (
    NotFound,
    NotStartable,
    TaskClaimedByOther,
    TaskNotOpen,
)
from engine.handler_api import HandlerRegistry, RecordSection
from engine.modelling.deploy import check_diagram, department_lookup, store_version
from engine.notifications.outbox import OutboxRelay, Transport, Transports
from engine.runtime.case_path import record_step
from engine.runtime.engine_core import DeployedVersion, DeployResult, EngineSettings, WarmWorkflows
from engine.runtime.handler_runtime import HandlerRunner
from engine.runtime.schedule_commands import ScheduleCommands
from engine.runtime.task_commands import TaskCommands
from engine.runtime.task_rows import sync_task_rows
from engine.runtime.worker_commands import WorkerCommands
from engine.spiff import ProcessRun, WaitingTimer, compile_process
from engine.storage.database import Database
from engine.storage.models import HumanTask, ProcessInstance, ProcessVersion
from engine.storage.unit_of_work import SYSTEM_ACTOR, UnitOfWork, retried_once
from engine.timing.schedules import sync_schedule
from engine.timing.sla import SlaBook
from engine.working_time import calendar_store
from engine.working_time.calendar import BusinessCalendar
from engine.working_time.calendar_commands import CalendarCommands


class WorkflowEngine(TaskCommands, CalendarCommands, ScheduleCommands, WorkerCommands):
    """Commands on deployed processes and their instances; the web app and the CLI call only these."""

    def __init__(self, db: Database, handlers: HandlerRegistry, clock: Clock | None = None,
                 calendar: BusinessCalendar | None = None, transport: Transport | Transports | None = None,
                 settings: EngineSettings | None = None) -> None:
        self.db = db
        self.handlers = handlers
        self.clock = clock or SystemClock()
        # No calendar given: the company calendar in the database (China calendar + company overrides).
        self._fixed_calendar = calendar
        # One transport for every channel, or a Transports registry (email -> SMTP, webhook -> robot).
        self.transports = Transports.of(transport)
        self.settings = settings or EngineSettings()
        self.outbox = OutboxRelay(db, self.transports, self.clock, batch=self.settings.worker_batch)
        self._stored_calendar = calendar_store.DatabaseCalendar(
            db, self.settings.calendar_check_seconds, region=self.settings.calendar_region)
        self._versions: dict[int, DeployedVersion] = {}
        self._versions_lock = threading.Lock()
        self._warm = WarmWorkflows(self.settings.warm_workflows)

    # -- deploying --------------------------------------------------------------------------------
    def deploy(self, raw: bytes, deployed_by: str, filename: str = "diagram.bpmn") -> DeployResult:
        with using_clock(self.clock), UnitOfWork(self.db, self.clock) as uow:
            checked = check_diagram(raw, self.handlers, department_lookup(uow.session), self.calendar, filename)
            version, created = store_version(uow.session, checked, deployed_by, uow.now)
            if created:
                schedule = sync_schedule(uow.session, version, uow.now)
                uow.audit("deployed", deployed_by, detail={
                    "process_key": version.process_key, "version": version.version,
                    "content_hash": version.content_hash, "file": filename,
                    "next_start": schedule.next_due_at.isoformat() if schedule and schedule.next_due_at else None})
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

    def deployed(self, session: Session, version_id: int) -> DeployedVersion:
        """A deployed version compiled once per process: versions never change after deploy."""
        with self._versions_lock:
            deployed = self._versions.get(version_id)
            if deployed is None:
                row = session.get(ProcessVersion, version_id)
                if row is None:
                    raise NotFound(f"no process version {version_id}")
                compiled = compile_process(parse_xml(row.bpmn), row.process_key, validate_schema=False)
                deployed = DeployedVersion(row.id, row.process_key, row.version, row.catalog, compiled)
                self._versions[version_id] = deployed
            return deployed

    # -- instances --------------------------------------------------------------------------------
    def start_instance(self, process_key: str, data: dict[str, Any], started_by: str,
                       business_key: str | None = None) -> int:
        """Start the latest version; `data` is checked against the start event's form when it has one."""
        with using_clock(self.clock), UnitOfWork(self.db, self.clock) as uow:
            version = self._latest_version(uow, process_key)
            if version.catalog.get("timer_start"):
                raise NotStartable(f"process '{process_key}' starts on its schedule (timer start event); "
                                   "start an occurrence at once with start_scheduled_now")
            start_form = version.catalog.get("start_form")
            cleaned = validate_submission(FormDefinition.from_dict(start_form), data) if start_form else dict(data)
            return self._start_case(uow, version, cleaned, started_by, business_key)

    def _latest_version(self, uow: UnitOfWork, process_key: str) -> ProcessVersion:
        version = uow.session.scalars(
            select(ProcessVersion).where(ProcessVersion.process_key == process_key)
            .order_by(ProcessVersion.version.desc()).limit(1)).first()
        if version is None:
            raise NotFound(f"no process '{process_key}' is deployed")
        return version

    def _start_case(self, uow: UnitOfWork, version: ProcessVersion, data: dict[str, Any], started_by: str,
                    business_key: str | None = None, by_timer: bool = False,
                    before_commit: Callable[[int], None] | None = None) -> int:
        """Create the instance, run it to its first wait and commit (the command's last step)."""
        instance = ProcessInstance(process_key=version.process_key, version_id=version.id, business_key=business_key,
                                   status="running", started_at=uow.now, started_by=started_by, state="")
        uow.session.add(instance)
        uow.session.flush()
        uow.audit("instance_started", started_by, instance.id, detail={
            "process_key": version.process_key, "version": version.version, "data": data})
        deployed = self.deployed(uow.session, version.id)
        run = ProcessRun.start(deployed.compiled, data, self.calendar,
                               self._runner(uow, instance, deployed, started_by), by_timer=by_timer)
        run.advance()
        self._save(uow, instance, run, started_by)
        if before_commit is not None:
            before_commit(instance.id)
        self._commit(uow, instance, run.workflow)
        return instance.id

    @retried_once
    def complete_task(self, task_id: int, actor: str, submitted: dict[str, Any]) -> list[str]:
        """Submit a task's form; invalid input raises InvalidForm and nothing changes. Returns the diagram
        elements whose code failed after it (the submission is kept; each failure is an incident)."""
        with using_clock(self.clock), UnitOfWork(self.db, self.clock) as uow:
            task = self._open_task(uow, task_id)
            if task.claimed_by not in (None, actor):
                raise TaskClaimedByOther(f"task {task_id} is claimed by {task.claimed_by}")
            self._check_may_act(uow, task, actor)
            cleaned = validate_submission(FormDefinition.from_dict(task.form), submitted)
            instance = uow.session.get(ProcessInstance, task.instance_id)  # locked by _open_task
            run = self._load(uow, instance, actor)
            run.complete_human_task(task.task_uuid, cleaned, actor, uow.now)
            task.state, task.completed_by, task.completed_at, task.submitted = "completed", actor, uow.now, cleaned
            if task.claimed_by is None:
                task.claimed_by, task.claimed_at = actor, uow.now
            uow.audit("task_completed", actor, instance.id, task.element_id,
                      {"task": task.name, "task_id": task.id, "data": cleaned})
            self._save(uow, instance, run, actor, completed=task)
            self._commit(uow, instance, run.workflow)
            return [failure.element_id for failure in run.failures()]

    @retried_once
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
            self._commit(uow, instance, run.workflow)

    def case_records(self, instance_id: int) -> list[RecordSection]:
        """The business records of a case (feedback form, sample ledger…) from every business area."""
        with self.db.sessions() as session:
            return [section for reader in self.handlers.record_readers()
                    if (section := reader(session, instance_id)) is not None]

    # -- internals ---------------------------------------------------------------------------------
    def _instance(self, uow: UnitOfWork, instance_id: int) -> ProcessInstance:
        """The case's row, locked for this command (SELECT … FOR UPDATE; SQLite's unit of work holds the
        write lock already)."""
        instance = uow.session.scalars(select(ProcessInstance).where(ProcessInstance.id == instance_id)
                                       .with_for_update().execution_options(populate_existing=True)).first()
        if instance is None:
            raise NotFound(f"no instance {instance_id}")
        return instance

    def _runner(self, uow: UnitOfWork, instance: ProcessInstance, deployed: DeployedVersion,
                actor: str) -> HandlerRunner:
        return HandlerRunner(uow, instance, deployed.catalog, self.handlers, actor, self.settings.incident_backoff)

    def _load(self, uow: UnitOfWork, instance: ProcessInstance, actor: str) -> ProcessRun:
        if instance.status != "running":
            raise TaskNotOpen(f"instance {instance.id} is {instance.status}")
        deployed = self.deployed(uow.session, instance.version_id)
        runner = self._runner(uow, instance, deployed, actor)
        workflow = self._warm.take(instance.id, instance.lock_version)
        if workflow is not None:
            return ProcessRun(deployed.compiled, workflow, self.calendar, runner)
        return ProcessRun.load(deployed.compiled, instance.state, self.calendar, runner)

    def _commit(self, uow: UnitOfWork, instance: ProcessInstance, workflow: Any | None) -> None:
        """Commit, then keep the workflow warm under the lock version it was saved with."""
        uow.session.flush()
        saved_as = instance.lock_version
        uow.commit()
        if workflow is not None and instance.status == "running":
            self._warm.put(instance.id, saved_as, workflow)

    def _save(self, uow: UnitOfWork, instance: ProcessInstance, run: ProcessRun, actor: str,
              fired: list[WaitingTimer] | None = None, completed: HumanTask | None = None) -> None:
        completed_now = run.completed and instance.status == "running"
        if completed_now:
            instance.status, instance.ended_at = "completed", uow.now
        deployed = self.deployed(uow.session, instance.version_id)
        # Timers the worker fired, and those already due when the case reached them (a limit that runs
        # from receipt, reached after it ran out): both went off in this command and both are recorded.
        fired = list(fired or [])
        late = [t for t in run.timers_passed() if t.task_id not in {f.task_id for f in fired}]
        catalog = deployed.catalog["elements"]
        for timer in [*fired, *late]:
            element = catalog.get(timer.element_id, {})
            props = element.get("properties", {})
            uow.audit("timer_fired", SYSTEM_ACTOR, instance.id, timer.element_id, {
                "name": element.get("name"), "due_at": timer.due_at.isoformat() if timer.due_at else None,
                "sla_kind": props.get("sla_kind"), "sla_name": props.get("sla_name"),
                **({"reached_after_due": True} if timer in late else {})})
        # SLA bookkeeping pauses or resumes timers, so it runs before task rows and serialization.
        sla = SlaBook(uow, instance, run, deployed.catalog, self.settings.default_warn_share, completed)
        sla.settle_pauses(fired, late)
        sync_task_rows(uow, instance, run, deployed.catalog, self.settings.default_warn_share)
        sla_due = sla.track([*fired, *late])
        if completed_now:
            uow.audit("instance_completed", actor, instance.id)
        record_step(uow, instance, run, actor)  # the path taken and the data, before dump compacts them
        instance.state = run.dump()
        dues = [due for due in (run.next_due_at(), sla_due) if due is not None]
        instance.next_due_at = min(dues) if dues and instance.status == "running" else None
