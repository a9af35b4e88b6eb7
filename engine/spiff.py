"""The one module that imports SpiffWorkflow: parsing, execution, timers and serialization.

SpiffWorkflow's API moves between releases; everything the engine needs from it is absorbed here
behind `compile_process` and `ProcessRun`, so the rest of the engine works with plain values.
Extensions follow SpiffWorkflow's own hooks: a parser class for external service tasks, a task spec
with its converter, a script engine that runs handlers and evaluates timer values, and a workflow
converter that stores a reference to the deployed definition instead of a copy of it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator, full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.helpers.bpmn_converter import BpmnConverter
from SpiffWorkflow.bpmn.serializer.helpers.spec import TaskSpecConverter
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.bpmn.specs.event_definitions import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG as CAMUNDA_CONFIG
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.calendar import BusinessCalendar
from engine.catalog import CAMUNDA_NS, DiagramError, ParsedDiagram
from engine.clock import active_clock


# --- the clock ---------------------------------------------------------------------------------
class _ClockedDatetime(datetime):
    """`datetime` whose `now()` is the engine's active clock; SpiffWorkflow's timers read it."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        moment = active_clock().now()
        return moment.astimezone(tz) if tz is not None else moment.astimezone(UTC).replace(tzinfo=None)


# SpiffWorkflow computes and checks timer due times with `datetime.now(timezone.utc)` in this one
# module and offers no hook; this is the single place where the engine's clock is installed.
spiff_timer.datetime = _ClockedDatetime


# --- timer values ------------------------------------------------------------------------------
_ISO_DURATION = re.compile(r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+W)?(\d+(\.\d+)?D)?"
                           r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$")
_ISO_CYCLE = re.compile(r"^R\d*/")


def is_iso_timer_literal(value: str) -> bool:
    """True when `value` is written as the modellers write timers: ISO 8601 duration, date or cycle."""
    text = value.strip()
    if _ISO_DURATION.match(text) or _ISO_CYCLE.match(text):
        return True
    try:
        datetime.fromisoformat(text)
        return True
    except ValueError:
        return False


class TimerValueError(ValueError):
    pass


# --- service tasks -----------------------------------------------------------------------------
class ExternalServiceTask(ServiceTask):
    """A service task bound by `camunda:topic` to a handler that the engine runs."""

    def __init__(self, wf_spec, bpmn_id, topic, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic

    def _execute(self, task):
        return task.workflow.script_engine.call_service(task, topic=self.topic)


class ExternalServiceTaskParser(CamundaTaskParser):
    """Reads `camunda:type="external" camunda:topic="…"`, which the stock Camunda parser ignores."""

    def create_task(self):
        topic = self.node.get(f"{{{CAMUNDA_NS}}}topic")
        implementation = self.node.get(f"{{{CAMUNDA_NS}}}type")
        if implementation != "external" or not topic:
            self.raise_validation_exception(
                "a service task needs Implementation 'External' with a topic (camunda:type=\"external\" "
                "camunda:topic=\"…\") naming its handler")
        return ExternalServiceTask(self.spec, self.bpmn_id, topic=topic.strip(), **self.bpmn_attributes)


class ExternalServiceTaskConverter(TaskSpecConverter):
    def to_dict(self, spec):
        dct = self.get_default_attributes(spec)
        dct["topic"] = spec.topic
        return dct

    def from_dict(self, dct):
        return self.task_spec_from_dict(dct)


class AftersalesParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ExternalServiceTaskParser, ExternalServiceTask),
    }


# --- service calls as seen by the engine ---------------------------------------------------------
@dataclass(frozen=True)
class ServiceCall:
    task_id: str
    element_id: str
    topic: str
    data: dict[str, Any]


@dataclass(frozen=True)
class ServiceOutcome:
    """What running a handler came to: data to merge, a BPMN error code, or a failure (incident)."""

    data: dict[str, Any] | None = None
    error_code: str | None = None
    failed: bool = False


class ServiceRunner(Protocol):
    """The engine side of service tasks: runs handlers, records incidents."""

    def run(self, call: ServiceCall) -> ServiceOutcome: ...

    def error_not_caught(self, call: ServiceCall, code: str) -> None: ...


class _NoServices:
    def run(self, call: ServiceCall) -> ServiceOutcome:
        raise RuntimeError(f"no handler runner is attached to run '{call.topic}'")

    def error_not_caught(self, call: ServiceCall, code: str) -> None:
        raise RuntimeError(code)


class AftersalesScriptEngine(PythonScriptEngine):
    """Evaluates conditions and timer values, and hands service tasks to the engine's handlers."""

    def __init__(self, calendar: BusinessCalendar, services: ServiceRunner | None = None) -> None:
        self.calendar = calendar
        self.services = services or _NoServices()
        self.pending_errors: dict[UUID, str] = {}
        super().__init__(environment=TaskDataEnvironment({"working_days": self.working_days}))

    def working_days(self, days: float) -> str:
        """Duration from now to the same time `days` Chinese working days later (ISO 8601)."""
        now = active_clock().now()
        seconds = (self.calendar.add_working_days(now, float(days)) - now).total_seconds()
        return f"PT{int(round(seconds))}S"

    def evaluate(self, task, expression, external_context=None):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and is_iso_timer_literal(expression):
            return expression.strip()
        return super().evaluate(task, expression, external_context)

    def call_service(self, task, topic=None, **kwargs):
        outcome = self.services.run(_call_of(task))
        if outcome.failed:
            return None  # the task stays STARTED: an incident holds it until a retry succeeds
        if outcome.error_code is not None:
            self.pending_errors[task.id] = outcome.error_code
            return None
        task.data.update(outcome.data or {})
        return True


# --- compiled definitions and their serializer ----------------------------------------------------
def _call_of(task) -> ServiceCall:
    return ServiceCall(task_id=str(task.id), element_id=task.task_spec.bpmn_id, topic=task.task_spec.topic,
                       data=dict(task.data))


class _DeployedSpecReference(BpmnConverter):
    """Writes a process definition as its name; reads it back from the deployed version."""

    library: dict[str, Any] = {}

    def to_dict(self, spec):
        return {"name": spec.name}

    def from_dict(self, dct):
        return self.library[dct["name"]]


@dataclass
class CompiledProcess:
    """A deployed version's parsed definition, with the serializer that references it."""

    spec: Any
    subprocess_specs: dict[str, Any]
    serializer: Any = field(repr=False, default=None)


def _full_config() -> dict:
    config = dict(CAMUNDA_CONFIG)
    config[ExternalServiceTask] = ExternalServiceTaskConverter
    return config


def compile_process(diagram: ParsedDiagram, process_key: str, filename: str = "diagram.bpmn",
                    validate_schema: bool = True) -> CompiledProcess:
    """Parse and check one process of a diagram the way SpiffWorkflow will run it."""
    parser = AftersalesParser(validator=BpmnValidator() if validate_schema else None)
    try:
        parser.add_bpmn_xml(diagram.root, filename=filename)
        spec = parser.get_spec(process_key)
        subprocess_specs = parser.get_subprocess_specs(process_key)
    except ValidationException as err:
        raise DiagramError(_plain(err), getattr(err, "id", None) or None) from None
    except SpiffWorkflowException as err:
        raise DiagramError(_plain(err)) from None
    compiled = CompiledProcess(spec=spec, subprocess_specs=subprocess_specs)
    registry = BpmnWorkflowSerializer.configure(_full_config())
    reference = type("_SpecReference", (_DeployedSpecReference,), {
        "library": {spec.name: spec, **{k: v for k, v in subprocess_specs.items() if v is not None}}})
    reference(BpmnProcessSpec, registry)
    compiled.serializer = BpmnWorkflowSerializer(registry)
    return compiled


def _plain(err: Exception) -> str:
    message = str(err.args[0]) if err.args else str(err)
    return message.strip()


def full_serializer() -> Any:
    """A serializer that embeds the definition (what SpiffWorkflow does by default); benchmarks use it."""
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_full_config()))


# --- a live workflow ---------------------------------------------------------------------------
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


@dataclass(frozen=True)
class StuckServiceTask:
    task_id: str
    element_id: str
    topic: str


class ProcessRun:
    """One workflow in memory for the duration of a command."""

    def __init__(self, compiled: CompiledProcess, workflow: Any, calendar: BusinessCalendar,
                 services: ServiceRunner) -> None:
        self.compiled = compiled
        self.workflow = workflow
        self.script_engine = AftersalesScriptEngine(calendar, services)
        # A deserialized workflow comes back with a default script engine: reattach ours every time.
        self.workflow.script_engine = self.script_engine

    @classmethod
    def start(cls, compiled: CompiledProcess, data: dict[str, Any], calendar: BusinessCalendar,
              services: ServiceRunner) -> ProcessRun:
        workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs)
        run = cls(compiled, workflow, calendar, services)
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
            dropped += _compact_tree(top, workflow)
        return dropped

    # -- running --
    def advance(self) -> None:
        """Run engine steps (gateways, handlers, due timers) until only people or time can move it."""
        while True:
            self.workflow.do_engine_steps(did_complete_task=self._deliver_bpmn_error)
            if not any(not t.task_spec.manual for t in self.workflow.get_tasks(state=TaskState.READY)):
                break

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

    def complete_human_task(self, task_id: str, data: dict[str, Any]) -> None:
        task = self._task(task_id)
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise LookupError(f"task {task_id} is not waiting for a person")
        task.data.update(data)
        task.run()
        self.advance()

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
            self.workflow.refresh_timers()
            self.advance()
        return due

    def cancel(self) -> None:
        self.workflow.cancel()

    # -- reading --
    @property
    def completed(self) -> bool:
        return self.workflow.completed

    @property
    def data(self) -> dict[str, Any]:
        return self.workflow.data

    def _task(self, task_id: str):
        try:
            return self.workflow.get_task_from_id(UUID(task_id))
        except Exception:  # SpiffWorkflow raises its own not-found exception
            return None

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
                result.append(WaitingTimer(str(task.id), task.task_spec.bpmn_id, _due_at(task)))
        return result

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
            parent = current.parent
            if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit):
                for sibling in parent.children:
                    definition = getattr(sibling.task_spec, "event_definition", None)
                    if sibling is not current and isinstance(definition, TimerEventDefinition) \
                            and sibling.state == TaskState.WAITING:
                        due = _due_at(sibling)
                        if due is not None:
                            found.append((sibling.task_spec.bpmn_id, due))
            workflow = current.workflow
            parent_task_id = getattr(workflow, "parent_task_id", None)
            current = workflow.top_workflow.get_task_from_id(parent_task_id) if parent_task_id else None
        return found


def _compact_tree(top: Any, workflow: Any) -> int:
    """Cut the finished history above everything still open, then splice finished links out of chains.

    Kept: the root; unfinished tasks; the parent of every unfinished task and of every leaf (a task
    inherits its parent's data, and a parallel join learns which incoming flows have arrived from the
    parents of its waiting and cancelled instances); the last completed task (a finishing subprocess
    hands back its data); finished tasks that still branch."""
    tasks = workflow.tasks
    root = workflow.task_tree
    unfinished = [t for t in tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not unfinished:
        return 0
    anchors = unfinished + ([workflow.last_task] if workflow.last_task is not None else [])
    dropped = _cut_above(workflow, _lowest_common_ancestor(anchors))
    protected = {root.id, *(t.id for t in anchors)}
    for task in tasks.values():
        if task._parent is not None and (not task._children or task.id in protected):
            protected.add(task._parent)
    order, stack = [], [root.id]  # pre-order without recursion: the tree may be deeper than the limit
    while stack:
        task_id = stack.pop()
        order.append(task_id)
        stack.extend(tasks[task_id]._children)
    for task_id in order:
        task = tasks.get(task_id)
        if task is None:
            continue
        children = []
        for child_id in task._children:
            while child_id not in protected and len(tasks[child_id]._children) == 1:
                spliced = tasks.pop(child_id)
                dropped.append(spliced)
                child_id = spliced._children[0]
            tasks[child_id]._parent = task_id
            children.append(child_id)
        task._children = children
    _forget_subprocesses(top, {t.id for t in dropped if t.id in top.subprocesses})
    return len(dropped)


def _lowest_common_ancestor(tasks: list) -> Any:
    by_id = tasks[0].workflow.tasks
    path, task_id = [], tasks[0].id
    while task_id is not None:
        path.append(task_id)
        task_id = by_id[task_id]._parent
    path.reverse()
    depth_of = {task_id: depth for depth, task_id in enumerate(path)}
    common = len(path) - 1
    for task in tasks[1:]:
        task_id = task.id
        while task_id not in depth_of:
            task_id = by_id[task_id]._parent
        common = min(common, depth_of[task_id])
    return by_id[path[common]]


def _cut_above(workflow: Any, keep_from: Any) -> list:
    """Hang `keep_from` directly below the root, dropping every task that is not below it."""
    root = workflow.task_tree
    if keep_from is root or keep_from.parent is root:
        return []
    keep, stack = set(), [keep_from]
    while stack:
        task = stack.pop()
        keep.add(task.id)
        stack.extend(task.children)
    dropped = [t for t in workflow.tasks.values() if t.id not in keep and t is not root]
    for task in dropped:
        del workflow.tasks[task.id]
    root.children = [keep_from]
    keep_from.parent = root
    return dropped


def _forget_subprocesses(top: Any, task_ids: set) -> None:
    """Remove finished subprocesses whose task was dropped, and every subprocess nested in them."""
    doomed = {task_id: top.subprocesses[task_id] for task_id in task_ids}
    grew = bool(doomed)
    while grew:
        nested = {task_id: sp for task_id, sp in top.subprocesses.items()
                  if task_id not in doomed and any(sp.parent_workflow is d for d in doomed.values())}
        doomed.update(nested)
        grew = bool(nested)
    for task_id in doomed:
        del top.subprocesses[task_id]


def _due_at(task) -> datetime | None:
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
        if not isinstance(value, dict) or value.get("cycles") == 0:
            return None
        value = value["next"]
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def check_timer_value(kind: str, expression: str, calendar: BusinessCalendar) -> None:
    """Evaluate a diagram's timer value as it would be at run time; raises TimerValueError if bad.

    `kind` is duration, date or cycle (timeDuration, timeDate, timeCycle in the diagram).
    """
    text = (expression or "").strip()
    if not text:
        raise TimerValueError("the timer has no value")
    if not is_iso_timer_literal(text):
        engine = AftersalesScriptEngine(calendar)
        try:
            text = engine.environment.evaluate(text, {})
        except Exception as err:  # the expression itself is broken
            raise TimerValueError(f"cannot evaluate '{expression}': {err}") from None
        if not isinstance(text, str):
            raise TimerValueError(f"'{expression}' gives {text!r}, not an ISO 8601 value")
    try:
        if kind == "cycle":
            TimerEventDefinition.parse_iso_recurring_interval(text)
        elif kind == "duration":
            TimerEventDefinition.parse_iso_duration(text)
        else:
            TimerEventDefinition.get_datetime(text)
    except Exception:
        expected = {"cycle": "an ISO 8601 cycle such as R/PT2H", "duration": "an ISO 8601 duration such as P3D",
                    "date": "an ISO 8601 date-time"}[kind]
        raise TimerValueError(f"'{expression}' is not {expected}") from None
