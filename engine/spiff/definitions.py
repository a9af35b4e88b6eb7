"""Compiling diagrams and evaluating their timers: the parser and task-spec extensions, the script
engine that runs handlers, the injected clock, and the serializer that references deployed specs."""
from __future__ import annotations

import ast
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator, full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.helpers.bpmn_converter import BpmnConverter
from SpiffWorkflow.bpmn.serializer.helpers.spec import TaskSpecConverter
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG as CAMUNDA_CONFIG
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.clock import active_clock
from engine.diagrams.catalog import CAMUNDA_NS, DiagramError, ParsedDiagram
from engine.diagrams.code_failures import DiagramCodeFailed
from engine.diagrams.expression_policy import ALLOWED_FUNCTIONS
from engine.diagrams.expression_sandbox import ExpressionSandbox, default_sandbox
from engine.diagrams.timer_bounds import TimerBoundsExceeded, check_timer_bounds
from engine.errors import N_, StatedRule
from engine.spiff.multi_instance import (
    CollectingParallelTask,
    CollectingSequentialTask,
    CollectingTaskConverter,
    MultiInstanceUserTaskParser,
)
from engine.spiff.parse_errors import plain_parse_error
from engine.working_time.calendar import BusinessCalendar


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


class TimerValueError(StatedRule):
    """A timer value that is no ISO 8601 value, cannot be evaluated, or lies outside the timer bounds."""


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
        full_tag("userTask"): (MultiInstanceUserTaskParser, CamundaParser.OVERRIDE_PARSER_CLASSES[full_tag("userTask")][1]),
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

    def step_failed(self, failure: Any) -> None:
        """A diagram element's code failed (an engine.spiff.run.StepFailure): the case holds there."""

    def step_recovered(self, task_id: str, element_id: str) -> None:
        """A failed element ran again and succeeded."""


class _NoServices:
    def run(self, call: ServiceCall) -> ServiceOutcome:
        raise RuntimeError(f"no handler runner is attached to run '{call.topic}'")

    def error_not_caught(self, call: ServiceCall, code: str) -> None:
        raise RuntimeError(code)

    def step_failed(self, failure: Any) -> None:
        pass  # kept by the run (ProcessRun.failures) for whoever runs it without an engine

    def step_recovered(self, task_id: str, element_id: str) -> None:
        pass


class RestrictedEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's task-data environment, but every condition, timer value and script is first checked
    against engine.diagrams.expression_policy and then runs in engine.diagrams.expression_sandbox: plain expressions in this
    process, anything that calls or loops in a sandbox process with bounded memory and CPU. A diagram that
    slipped past deploy checks still cannot import, reach internals, call `open` or exhaust the server.

    `spent` is the time this command's diagram code has taken; past the command's budget, code is refused."""

    def __init__(self, calendar: BusinessCalendar | None, sandbox: ExpressionSandbox | None = None) -> None:
        super().__init__({"working_days": _timer_function, "working_hours": _timer_function})
        self.calendar = calendar
        self.sandbox = sandbox or default_sandbox()
        self.spent = 0.0

    def evaluate(self, expression, context, external_context=None):
        variables = {**(external_context or {}), **context}
        variables.pop("__builtins__", None)  # case data must not bring Python's builtins back
        return self._timed(lambda left: self.sandbox.evaluate(expression, variables, active_clock().now(),
                                                              self.calendar, left))

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        variables = {**(external_context or {}), **context}
        variables.pop("__builtins__", None)
        result = self._timed(lambda left: self.sandbox.execute(script, variables, set(external_context or {}),
                                                               active_clock().now(), self.calendar, left))
        context.clear()
        context.update(result)
        return True

    def _timed(self, evaluation):
        budget = self.sandbox.limits.command_seconds
        if self.spent >= budget:
            raise DiagramCodeFailed("limit_time", seconds=budget)
        started = time.monotonic()
        try:
            return evaluation(budget - self.spent)
        finally:
            self.spent += time.monotonic() - started


def _timer_kind(definition: Any) -> str:
    if isinstance(definition, CycleTimerEventDefinition):
        return "cycle"
    return "duration" if isinstance(definition, DurationTimerEventDefinition) else "date"


def _timer_function(*args: Any) -> str:
    raise RuntimeError("timer functions run in the expression sandbox")  # a name for deploy checks only


class AftersalesScriptEngine(PythonScriptEngine):
    """Evaluates conditions and timer values, and hands service tasks to the engine's handlers."""

    def __init__(self, calendar: BusinessCalendar, services: ServiceRunner | None = None) -> None:
        self.calendar = calendar
        self.services = services or _NoServices()
        self.pending_errors: dict[UUID, str] = {}
        # Set while a case is started by its schedule: the process's timer start event fires once, now.
        self.start_timer_due = False
        super().__init__(environment=RestrictedEnvironment(calendar))

    def evaluate(self, task, expression, external_context=None):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and self.start_timer_due \
                and isinstance(task.task_spec, StartEvent) and task.workflow is task.workflow.top_workflow:
            # The engine's schedule decided this occurrence is due: SpiffWorkflow sees the start timer as
            # one occurrence that has just passed, so it fires once and never waits for the next (each
            # occurrence is a case of its own, started by the schedule).
            passed = (active_clock().now() - timedelta(seconds=1)).isoformat()
            return f"R1/{passed}/PT1S" if isinstance(definition, CycleTimerEventDefinition) else passed
        if not isinstance(definition, TimerEventDefinition):
            return super().evaluate(task, expression, external_context)
        literal = is_iso_timer_literal(expression)
        value = expression.strip() if literal else super().evaluate(task, expression, external_context)
        if isinstance(value, str):
            # A value computed from case data, or a version deployed before the bounds: SpiffWorkflow would
            # loop month by month through P99999999Y, or fire R/PT0S without end.
            try:
                check_timer_bounds(_timer_kind(definition), value.strip(), active_clock().now())
            except TimerBoundsExceeded as err:
                failure = DiagramCodeFailed("timer_rule", rule=err.template, detail=err.english(),
                                            **{k: v for k, v in err.params.items() if k not in ("rule", "detail")})
                failure.task = task  # the timer that holds the case (as SpiffWorkflow's own errors name it)
                raise failure from None
        return value

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
    config[CollectingParallelTask] = CollectingTaskConverter
    config[CollectingSequentialTask] = CollectingTaskConverter
    return config


def compile_process(diagram: ParsedDiagram, process_key: str, filename: str = "diagram.bpmn",
                    validate_schema: bool = True) -> CompiledProcess:
    """Parse and check one process of a diagram the way SpiffWorkflow will run it."""
    parser = AftersalesParser(validator=BpmnValidator() if validate_schema else None)
    try:
        parser.add_bpmn_xml(diagram.root, filename=filename)
        spec = parser.get_spec(process_key)
        subprocess_specs = parser.get_subprocess_specs(process_key)
    except (ValidationException, SpiffWorkflowException) as err:
        raise plain_parse_error(err, getattr(err, "id", None) or None) from None
    except RecursionError:
        raise DiagramError(N_("the diagram nests or chains its elements too deeply for the engine to read; "
                              "split it into smaller processes")) from None
    except (KeyError, TypeError, AttributeError, ValueError, NotImplementedError) as err:
        # SpiffWorkflow's parser fails this way on references and attributes it expects (the deploy checks
        # refuse the known cases first, with their rule): never show Python's text.
        raise plain_parse_error(err, None) from None
    compiled = CompiledProcess(spec=spec, subprocess_specs=subprocess_specs)
    registry = BpmnWorkflowSerializer.configure(_full_config())
    reference = type("_SpecReference", (_DeployedSpecReference,), {
        "library": {spec.name: spec, **{k: v for k, v in subprocess_specs.items() if v is not None}}})
    reference(BpmnProcessSpec, registry)
    compiled.serializer = BpmnWorkflowSerializer(registry)
    return compiled


def full_serializer() -> Any:
    """A serializer that embeds the definition (what SpiffWorkflow does by default); benchmarks use it."""
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_full_config()))


def case_variables_in(expression: str, functions: dict[str, Any]) -> set[str]:
    """Names a timer expression reads from the case (its data is known only at run time). A name that is
    called must be one of the timer functions (working_days…) or a Python builtin: a misspelt function is
    refused at deploy rather than when the timer is reached."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as err:
        raise TimerValueError(N_("cannot evaluate '%(value)s': %(reason)s"), value=expression,
                              reason=err.msg) from None
    known = set(functions) | ALLOWED_FUNCTIONS
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    unknown = sorted(called - known)
    if unknown:
        raise TimerValueError(N_("'%(value)s' calls %(names)s, which is no timer function (use working_days, "
                                 "working_hours or an ISO 8601 value)"), value=expression, names=", ".join(unknown))
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    odd = sorted(name for name in names - known if name != name.lower())
    if odd:  # case variables are lower-case (form field ids); `P7` or `PT2h` is a mistyped ISO value
        raise TimerValueError(N_("'%(value)s' is not an ISO 8601 value, and %(names)s is no case variable"),
                              value=expression, names=", ".join(odd))
    return names - known


def check_timer_value(kind: str, expression: str, calendar: BusinessCalendar) -> None:
    """Evaluate a diagram's timer value as it would be at run time; raises TimerValueError if bad.

    `kind` is duration, date or cycle (timeDuration, timeDate, timeCycle in the diagram).
    """
    text = (expression or "").strip()
    if not text:
        raise TimerValueError(N_("the timer has no value"))
    if not is_iso_timer_literal(text):
        engine = AftersalesScriptEngine(calendar)
        if case_variables_in(text, engine.environment.globals):
            return  # e.g. f"PT{agreed_response_hours}H": checked when a case reaches the timer
        try:
            text = engine.environment.evaluate(text, {})
        except Exception as err:  # the expression itself is broken
            raise TimerValueError(N_("cannot evaluate '%(value)s': %(reason)s"), value=expression,
                                  reason=str(err) or type(err).__name__) from None
        if not isinstance(text, str):
            raise TimerValueError(N_("'%(value)s' gives %(result)s, not an ISO 8601 value"), value=expression,
                                  result=repr(text)[:80])
    # The bounds first: SpiffWorkflow's own parsing of a cycle computes its interval month by month.
    try:
        check_timer_bounds(kind, text, active_clock().now())
    except TimerBoundsExceeded as err:
        raise TimerValueError(err.template, **err.params) from None
    try:
        if kind == "cycle":
            TimerEventDefinition.parse_iso_recurring_interval(text)
        elif kind == "duration":
            TimerEventDefinition.parse_iso_duration(text)
        else:
            TimerEventDefinition.get_datetime(text)
    except Exception:
        expected = {"cycle": N_("'%(value)s' is not an ISO 8601 cycle such as R/PT2H"),
                    "duration": N_("'%(value)s' is not an ISO 8601 duration such as P3D"),
                    "date": N_("'%(value)s' is not an ISO 8601 date-time")}[kind]
        raise TimerValueError(expected, value=expression) from None
