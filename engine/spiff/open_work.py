"""What a workflow holds open, read for the engine as plain values: the person tasks ready, the timers
waiting (and the limits guarding each task), service tasks waiting for a retry, the elements passed and
where the case stands, and its data. `ProcessRun` runs the workflow; these are its readings."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.util.task import TaskState

from engine.spiff.definitions import ExternalServiceTask
from engine.spiff.multi_instance import enclosing_multi_instance
from engine.spiff.timer_state import due_at as _due_at
from engine.spiff.timer_state import paused_remaining as _paused_remaining


@dataclass(frozen=True)
class ReadyHumanTask:
    task_id: str
    element_id: str
    name: str
    lane: str | None
    data: dict[str, Any]
    guarding_timers: list[tuple[str, datetime]]  # (timer element id, due) on the task or around it


@dataclass(frozen=True)
class WaitingTimer:
    task_id: str
    element_id: str
    due_at: datetime | None
    paused: bool = False


@dataclass(frozen=True)
class StuckServiceTask:
    task_id: str
    element_id: str
    topic: str


class OpenWork:
    """Readings of `workflow`; `_completed_before` holds the tasks already finished when the command began."""

    workflow: Any
    _completed_before: set

    def _task(self, task_id: str):
        try:
            return self.workflow.get_task_from_id(UUID(task_id))
        except Exception:  # SpiffWorkflow raises its own not-found exception
            return None

    def _all_tasks(self) -> list:
        """Every task of the workflow and its subprocesses, read from their task maps (no tree walk:
        the tree may be deeper than the recursion limit)."""
        workflows = [self.workflow, *self.workflow.subprocesses.values()]
        return [task for workflow in workflows for task in workflow.tasks.values()]

    def elements_passed(self) -> dict[str, int]:
        """The diagram elements (tasks, events, gateways, subprocess children) finished during this
        command, with how many times each was passed (a loop passes one several times). Read it before
        `dump`: compaction forgets finished tasks. The instances of a multi-instance or loop task count
        as one pass of it."""
        passes: dict[str, int] = {}
        for task in self._all_tasks():
            element_id = task.task_spec.bpmn_id
            if (element_id is None or task.state != TaskState.COMPLETED or task.id in self._completed_before
                    or (task.parent is not None and isinstance(task.parent.task_spec, LoopTask))):
                continue
            passes[element_id] = passes.get(element_id, 0) + 1
        return passes

    def active_elements(self) -> list[str]:
        """The diagram elements the case is at now: ready, waiting (timers, joins, events) or started
        (a service task waiting for a retry)."""
        active = {t.task_spec.bpmn_id for t in self._all_tasks()
                  if t.task_spec.bpmn_id is not None and t.state in _ACTIVE_STATES}
        return sorted(active)

    def case_data(self) -> dict[str, Any]:
        """The case data as it stands: the data of the unfinished diagram elements merged, the latest
        last, or the last finished task's data when the case is over. A waiting element (a join, a
        timer) gets its data only when it runs: until then it stands for the data it was reached with."""
        sources = []
        for task in self._all_tasks():
            if task.task_spec.bpmn_id is None or task.state not in _ACTIVE_STATES:
                continue
            reached_with = task.parent if task.state == TaskState.WAITING and task.parent is not None else None
            if reached_with is not None and reached_with.state == TaskState.COMPLETED:
                sources.append((reached_with.last_state_change, {**reached_with.data, **task.data}))
            else:
                sources.append((task.last_state_change, task.data))
        if not sources:
            last = self.workflow.last_task
            return dict(last.data) if last is not None else dict(self.workflow.data)
        merged: dict[str, Any] = {}
        for _, data in sorted(sources, key=lambda source: source[0]):
            merged.update(data)
        return merged

    def ready_human_tasks(self) -> list[ReadyHumanTask]:
        result = []
        for task in self.workflow.get_tasks(state=TaskState.READY, manual=True):
            result.append(ReadyHumanTask(
                task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                name=task.task_spec.bpmn_name or task.task_spec.bpmn_id, lane=task.task_spec.lane,
                data=dict(task.data), guarding_timers=self._guarding_timers(task)))
        return result

    def waiting_timers(self) -> list[WaitingTimer]:
        result = []
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, TimerEventDefinition):
                paused = _paused_remaining(task) is not None
                result.append(WaitingTimer(str(task.id), task.task_spec.bpmn_id,
                                           None if paused else _due_at(task), paused))
        return result

    def guarded_activity_cancelled(self, timer_task_id: str) -> bool:
        """Whether the activity a boundary timer guarded was taken away (by another limit, an error or
        escalation boundary, a cancelled case) rather than finished: its limit then no longer applies."""
        timer = self._task(timer_task_id)
        split = timer.parent if timer is not None else None
        if split is None or not isinstance(split.task_spec, BoundaryEventSplit):
            return False
        activity = next((t for t in split.children if getattr(t.task_spec, "event_definition", None) is None), None)
        return activity is not None and activity.state == TaskState.CANCELLED

    def stuck_service_tasks(self) -> list[StuckServiceTask]:
        return [StuckServiceTask(str(t.id), t.task_spec.bpmn_id, t.task_spec.topic)
                for t in self.workflow.get_tasks(state=TaskState.STARTED)
                if isinstance(t.task_spec, ExternalServiceTask)]

    def next_due_at(self) -> datetime | None:
        dues = [t.due_at for t in self.waiting_timers() if t.due_at is not None]
        return min(dues) if dues else None

    def _guarding_timers(self, task) -> list[tuple[str, datetime]]:
        """Timers attached to the task and to every subprocess that encloses it."""
        found: list[tuple[str, datetime]] = []
        current = task
        while current is not None:
            current = enclosing_multi_instance(current) or current  # a limit on the whole group
            parent = current.parent
            if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit):
                for sibling in parent.children:
                    definition = getattr(sibling.task_spec, "event_definition", None)
                    if sibling is not current and isinstance(definition, TimerEventDefinition) \
                            and sibling.state == TaskState.WAITING and _paused_remaining(sibling) is None:
                        due = _due_at(sibling)
                        if due is not None:
                            found.append((sibling.task_spec.bpmn_id, due))
            workflow = current.workflow
            parent_task_id = getattr(workflow, "parent_task_id", None)
            current = workflow.top_workflow.get_task_from_id(parent_task_id) if parent_task_id else None
        return found


_ACTIVE_STATES = (TaskState.READY, TaskState.WAITING, TaskState.STARTED, TaskState.ERROR)
