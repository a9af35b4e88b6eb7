"""One workflow in memory for the duration of a command: run it, read its open work, save it."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.clock import active_clock
from engine.diagrams.code_failures import DiagramCodeFailed
from engine.spiff.compaction import compact_tree
from engine.spiff.definitions import (
    AftersalesScriptEngine,
    CompiledProcess,
    ExternalServiceTask,
    ServiceRunner,
    _call_of,
)
from engine.spiff.multi_instance import collect_submission
from engine.spiff.open_work import OpenWork, WaitingTimer
from engine.spiff.step_failures import MAX_ENGINE_STEPS, StepFailure, diagram_cause
from engine.spiff.timer_state import FAR_FUTURE as _FAR_FUTURE
from engine.spiff.timer_state import PAUSED as _PAUSED
from engine.spiff.timer_state import due_at as _due_at
from engine.spiff.timer_state import paused_remaining as _paused_remaining
from engine.spiff.timer_state import set_due as _set_due
from engine.working_time.calendar import BusinessCalendar


class ProcessRun(OpenWork):
    """One workflow in memory for the duration of a command."""

    def __init__(self, compiled: CompiledProcess, workflow: Any, calendar: BusinessCalendar,
                 services: ServiceRunner) -> None:
        self.compiled = compiled
        self.workflow = workflow
        self.script_engine = AftersalesScriptEngine(calendar, services)
        # A deserialized workflow comes back with a default script engine: reattach ours every time.
        self.workflow.script_engine = self.script_engine
        # What had already finished when the command began: the path taken is what finishes after it.
        self._completed_before = {t.id for t in self._all_tasks() if t.state == TaskState.COMPLETED}
        self._timers_passed: list[WaitingTimer] = []
        self._failures: list[StepFailure] = []
        self._steps = 0

    @classmethod
    def start(cls, compiled: CompiledProcess, data: dict[str, Any], calendar: BusinessCalendar,
              services: ServiceRunner, by_timer: bool = False) -> ProcessRun:
        """A new workflow; `by_timer`: its timer start event is due now (the engine's schedule says so)."""
        workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs)
        run = cls(compiled, workflow, calendar, services)
        run.script_engine.start_timer_due = by_timer
        workflow.data.update(data)
        start = workflow.get_next_task(state=TaskState.READY)
        if start is not None:
            start.data.update(data)
        return run

    @classmethod
    def load(cls, compiled: CompiledProcess, state: str, calendar: BusinessCalendar,
             services: ServiceRunner) -> ProcessRun:
        workflow = compiled.serializer.deserialize_json(state)
        return cls(compiled, workflow, calendar, services)

    def dump(self) -> str:
        self.compact()
        return self.compiled.serializer.serialize_json(self.workflow)

    def compact(self) -> int:
        """Forget finished history that can no longer influence the run; returns the tasks dropped.

        SpiffWorkflow never forgets a task: every loop (a rework, a failed spot check, an ineffective
        change) deepens the tree, so state and load time grow with the case's history, recursive tree
        walks hit RecursionError at ~1,000 levels, and a parallel join inside a loop counts branches
        of earlier rounds. Finished tasks that nothing unfinished depends on only hold data already
        copied down to their descendants. Our audit log, not the task tree, is the case's history."""
        dropped = 0
        top = self.workflow
        for workflow in [top, *[sp for sp in top.subprocesses.values() if not sp.completed]]:
            dropped += compact_tree(top, workflow)
        return dropped

    # -- running --
    def advance(self) -> None:
        """Run engine steps (gateways, handlers, due timers) until only people or time can move it, or until
        an element's code fails: that element then holds the case (see `failures`)."""
        with self._failures_kept():
            self._advance()

    @contextmanager
    def _failures_kept(self) -> Iterator[None]:
        """A failure of the diagram's code leaves the workflow as it was at the failing element, which is
        marked as failed (SpiffWorkflow's ERROR state); anything else is the engine's own fault and raises."""
        try:
            yield
        except Exception as err:
            failure = self._failure_of(err)
            if failure is None:
                raise
            self._failures.append(failure)
            self.script_engine.services.step_failed(failure)

    def _failure_of(self, err: Exception) -> StepFailure | None:
        cause = diagram_cause(err)
        if cause is None:
            return None
        task = getattr(err, "task", None)
        if task is None or task.state == TaskState.COMPLETED:
            task = next((t for t in self._all_tasks() if t.state == TaskState.ERROR
                         and t.id not in {UUID(f.task_id) for f in self._failures}), None) \
                or next((t for t in self.workflow.get_tasks(state=TaskState.READY) if not t.task_spec.manual), None)
        if task is None:
            return None
        if task.state != TaskState.ERROR:
            task.error()
        return StepFailure(str(task.id), task.task_spec.bpmn_id or task.task_spec.name, cause.kind, cause.params)

    def failures(self) -> list[StepFailure]:
        """The elements whose code failed during this command."""
        return list(self._failures)

    def failed_steps(self) -> list[str]:
        """Ids of the tasks that hold the case because their code failed (this command or earlier)."""
        return [str(t.id) for t in self._all_tasks() if t.state == TaskState.ERROR]

    def retry_failed_step(self, task_id: str) -> None:
        """Run a failed element again (after its cause was fixed) and go on from there."""
        task = self._task(task_id)
        if task is None or task.state != TaskState.ERROR:
            raise LookupError(f"task {task_id} is not a failed step")
        failed_before = len(self._failures)
        with self._failures_kept():
            task.reset_branch(None)
            self._advance()
        if not any(f.task_id == task_id for f in self._failures[failed_before:]):
            self.script_engine.services.step_recovered(task_id, task.task_spec.bpmn_id or task.task_spec.name)

    def _advance(self) -> None:
        while True:
            self.workflow.do_engine_steps(did_complete_task=self._after_step)
            if not any(not t.task_spec.manual for t in self.workflow.get_tasks(state=TaskState.READY)):
                # SpiffWorkflow's task walk stops 1,000 levels down: a loop that went deeper leaves its next
                # step unseen. Forget the finished history and go on (MAX_ENGINE_STEPS ends a loop for ever).
                ready_below = any(t.state == TaskState.READY and not t.task_spec.manual for t in self._all_tasks())
                if ready_below and self.compact():
                    continue
                break
        if self.script_engine.start_timer_due:
            # A one-occurrence cycle may notice it is exhausted only on a later look: let it finish.
            for _ in range(2):
                if not self._waiting_start_timer():
                    break
                self.workflow.refresh_timers()
                self.workflow.do_engine_steps(did_complete_task=self._after_step)
            self.script_engine.start_timer_due = False

    def _waiting_start_timer(self) -> bool:
        return any(isinstance(t.task_spec, StartEvent) for t in self.workflow.get_tasks(state=TaskState.WAITING)
                   if t.workflow is self.workflow)

    def _after_step(self, task) -> None:
        self._steps += 1
        if self._steps > MAX_ENGINE_STEPS:
            raise DiagramCodeFailed("limit_steps", steps=MAX_ENGINE_STEPS)
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and not isinstance(task.task_spec, StartEvent):
            self._timers_passed.append(WaitingTimer(str(task.id), task.task_spec.bpmn_id, _due_at(task), False))
        self._deliver_bpmn_error(task)

    def timers_passed(self) -> list[WaitingTimer]:
        """Every timer event that went off during this command, with its due time: those the worker fired,
        and those already due when the case reached them (a limit counted from receipt, reached late)."""
        return list(self._timers_passed)

    def _deliver_bpmn_error(self, task) -> None:
        code = self.script_engine.pending_errors.pop(task.id, None)
        if code is None:
            return
        event = BpmnEvent(ErrorEventDefinition(code, code=code), target=task.workflow)
        top = task.workflow.top_workflow
        top.catch(event)
        if event in top.bpmn_events:
            # Nothing in the diagram caught it (SpiffWorkflow parks it as an event for the outside):
            # the error is an incident like any handler failure, and the task stays where it is.
            top.bpmn_events.remove(event)
            self.script_engine.services.error_not_caught(_call_of(task), code)

    def complete_human_task(self, task_id: str, data: dict[str, Any], completed_by: str = "",
                            completed_at: datetime | None = None) -> None:
        """Complete a person's task with the submitted form data; on an instance of a multi-instance task
        the submission is also kept in the task's `collect_as` list (with who and when)."""
        task = self._task(task_id)
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise LookupError(f"task {task_id} is not waiting for a person")
        moment = completed_at or active_clock().now()
        collect_submission(task, data, completed_by, moment.astimezone(UTC).isoformat())
        task.data.update(data)
        with self._failures_kept():
            task.run()
            self._advance()

    def retry_service_task(self, task_id: str) -> None:
        task = self._task(task_id)
        if task is None or task.state != TaskState.STARTED or not isinstance(task.task_spec, ExternalServiceTask):
            raise LookupError(f"task {task_id} is not a service task waiting for a retry")
        result = task.task_spec._execute(task)
        if result is True:
            task.complete()
        else:
            self._deliver_bpmn_error(task)
        self.advance()

    def fire_due_timers(self) -> list[WaitingTimer]:
        """Fire every timer that is due by the active clock; returns those that fired."""
        now = active_clock().now()
        due = [t for t in self.waiting_timers() if t.due_at is not None and t.due_at < now]
        if due:
            with self._failures_kept():
                self.workflow.refresh_timers()
                self._advance()
        return due

    def pause_timer(self, task_id: str) -> bool:
        """Stop a waiting timer's clock (the case waits on the customer): its remaining time is kept
        with the timer and it cannot fire until resumed. False when it is not a waiting, running timer."""
        task = self._task(task_id)
        if task is None or task.state != TaskState.WAITING or _paused_remaining(task) is not None:
            return False
        due = _due_at(task)
        if due is None:
            return False
        remaining = max((due - active_clock().now()).total_seconds(), 0.0)
        task._set_internal_data(**{_PAUSED: remaining})
        _set_due(task, _FAR_FUTURE)
        return True

    def resume_timer(self, task_id: str) -> datetime | None:
        """Restart a paused timer with the time it had left; returns its new due time."""
        task = self._task(task_id)
        remaining = _paused_remaining(task) if task is not None else None
        if remaining is None:
            return None
        task.internal_data.pop(_PAUSED, None)
        due = active_clock().now() + timedelta(seconds=remaining)
        _set_due(task, due)
        return due

    def cancel(self) -> None:
        self.workflow.cancel()

    # -- reading --
    @property
    def completed(self) -> bool:
        return self.workflow.completed and not self.failed_steps()

    @property
    def data(self) -> dict[str, Any]:
        return self.workflow.data
