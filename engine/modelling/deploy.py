"""Deploying a diagram: validate everything that can be checked before it runs, then store it as an
immutable version. A bad file is rejected with the element named and nothing is stored."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import active_clock
from engine.diagrams.catalog import (
    BPMN_NS,
    CAMUNDA_NS,
    FLOW_NODE_TAGS,
    SLA_SOURCES,
    DiagramError,
    ParsedDiagram,
    build_catalog,
    executable_processes,
    parse_xml,
)
from engine.diagrams.expression_policy import ExpressionRejected, Mode
from engine.diagrams.expression_policy import check as check_expression
from engine.diagrams.satisfaction import SatisfactionFieldError, question_of
from engine.diagrams.start_timers import StartTimer, StartTimerError
from engine.diagrams.timer_bounds import TimerBoundsExceeded, check_timer_bounds
from engine.errors import N_, Term
from engine.handler_api import HandlerRegistry
from engine.modelling.condition_names import check_condition_names
from engine.modelling.deploy_rules import check_condition_dialect, check_size, check_structure
from engine.spiff import (
    CompiledProcess,
    TimerValueError,
    check_timer_value,
    compile_process,
    is_iso_timer_literal,
)
from engine.storage.models import Department, ProcessVersion
from engine.working_time.calendar import BusinessCalendar

_B = f"{{{BPMN_NS}}}"
RESERVED_IDS = {"Start", "End"}  # SpiffWorkflow names its own start/end task specs so


@dataclass(frozen=True)
class CheckedDiagram:
    process_key: str
    name: str
    raw: bytes
    content_hash: str
    catalog: dict[str, Any]
    compiled: CompiledProcess


def check_diagram(raw: bytes, handlers: HandlerRegistry, departments: dict[str, str],
                  calendar: BusinessCalendar, filename: str = "diagram.bpmn") -> CheckedDiagram:
    """Run every deploy check; `departments` maps codes and Chinese names to department codes."""
    diagram = parse_xml(raw)
    processes = executable_processes(diagram)
    if len(processes) != 1:
        raise DiagramError(N_("a diagram must hold exactly one executable process (isExecutable=\"true\"), "
                              "found %(count)d"), count=len(processes))
    process = processes[0]
    process_key = process.get("id")
    check_size(diagram, process)
    catalog = build_catalog(diagram, process)
    check_condition_dialect(diagram)
    _check_expressions(diagram)
    check_structure(diagram)
    _check_flows(process)
    check_condition_names(diagram, process, catalog, handlers)
    for element_id, element in catalog["elements"].items():
        if "multi_instance" in element:
            _check_multi_instance(element_id, element)
    compiled = compile_process(diagram, process_key, filename=filename)
    _check_layout(diagram, catalog)
    catalog["timer_start"] = _timer_start(catalog)
    for element_id, element in catalog["elements"].items():
        kind = element["type"]
        if element_id in RESERVED_IDS:
            raise DiagramError(N_("the id '%(id)s' is used by the engine itself; rename the element"),
                               element_id, id=element_id)
        if kind == "serviceTask" and element.get("topic") not in handlers:
            raise DiagramError(N_("no handler is registered for topic '%(topic)s'"), element_id,
                               topic=element.get("topic"))
        if kind in ("task", "manualTask"):  # people's tasks without a form: an inbox must show them too
            element["department"] = _department_of(element_id, element, departments)
        if kind == "userTask":
            element["department"] = _department_of(element_id, element, departments)
            _check_assignee(element_id, element)
            for form_field in element["form"]["fields"]:
                try:
                    question_of(element_id, form_field)
                except SatisfactionFieldError as err:
                    raise DiagramError(str(err), element_id) from None
        if "timer" in element and element_id != (catalog["timer_start"] or {}).get("element_id"):
            try:
                check_timer_value(element["timer"]["kind"], element["timer"]["value"], calendar)
            except TimerValueError as err:
                raise DiagramError(N_("bad timer: %(reason)s"), element_id, reason=err) from None
            _check_sla_source(element_id, element)
            if element["type"] == "boundaryEvent":
                _check_sla_properties(element_id, element, departments)
    catalog["has_pauses"] = False
    for element_id, element in catalog["elements"].items():
        pause = element.get("properties", {}).get("sla_pause")
        if pause is not None and pause.lower() not in ("true", "false"):
            raise DiagramError(N_("sla_pause must be 'true' or 'false', not '%(value)s'"), element_id, value=pause)
        catalog["has_pauses"] |= (pause or "").lower() == "true"
        if element.get("properties", {}).get("sla_kind"):
            element["sla_department"] = _sla_department(element, catalog["elements"], departments)
    unknown_starters = [g for g in catalog["starters"] if g not in departments]
    if unknown_starters:
        raise DiagramError(N_("starter group '%(group)s' is not a known department"), process_key,
                           group=unknown_starters[0])
    catalog["starters"] = sorted({departments[g] for g in catalog["starters"]})
    return CheckedDiagram(process_key=process_key, name=catalog["name"], raw=diagram.raw,
                          content_hash=hashlib.sha256(diagram.raw).hexdigest(), catalog=catalog,
                          compiled=compiled)


SLA_KINDS = ("limit", "reminder", "duty")
_NOTIFY_WORDS = ("assignee", "head")
_NOTIFY_PREFIXES = ("department:", "head:", "user:")


def _check_sla_source(element_id: str, element: dict[str, Any]) -> None:
    source = element.get("properties", {}).get("sla_source")
    if source is not None and source not in SLA_SOURCES:
        raise DiagramError(N_("sla_source must be 'procedure' (the procedure text states the limit) or 'company' "
                              "(a company rule), not '%(value)s'"), element_id, value=source)


def _check_sla_properties(element_id: str, element: dict[str, Any], departments: dict[str, str]) -> None:
    props = element.get("properties", {})
    sla_kind = props.get("sla_kind")
    if sla_kind not in (None, *SLA_KINDS):
        raise DiagramError(N_("sla_kind must be one of %(kinds)s, not '%(value)s'"), element_id,
                           kinds=", ".join(SLA_KINDS), value=sla_kind)
    if sla_kind == "duty" and (element["timer"]["kind"] != "cycle" or element.get("interrupting")):
        raise DiagramError(N_("a duty (sla_kind=duty) is a non-interrupting cycle timer such as R/PT2H"), element_id)
    share = props.get("sla_warn_share")
    if share is not None and not _is_share(share):
        raise DiagramError(N_("sla_warn_share must be a number between 0 and 1, not '%(value)s'"), element_id,
                           value=share)
    for token in (t.strip() for t in (props.get("sla_notify") or "").split(",") if t.strip()):
        prefix = next((p for p in _NOTIFY_PREFIXES if token.startswith(p)), None)
        if token not in _NOTIFY_WORDS and prefix is None:
            raise DiagramError(N_("sla_notify entry '%(value)s' is none of assignee, head, department:<code>, "
                                  "head:<code>, user:<name>"), element_id, value=token)
        if prefix in ("department:", "head:") and token[len(prefix):] not in departments:
            raise DiagramError(N_("sla_notify entry '%(value)s' names an unknown department"), element_id,
                               value=token)
    responsible = props.get("responsible_department")
    if responsible and responsible not in departments:
        raise DiagramError(N_("responsible_department '%(value)s' is not a known department"), element_id,
                           value=responsible)


def _sla_department(timer: dict[str, Any], elements: dict[str, dict[str, Any]], departments: dict[str, str]) -> str:
    """The department a limit is counted against until someone holds the work: the diagram's
    responsible_department, else the guarded task's department, else the guarded activity's lane."""
    responsible = timer.get("properties", {}).get("responsible_department")
    if responsible:
        return departments[responsible]
    guarded = elements.get(timer.get("attached_to") or "", {})
    if guarded.get("department"):
        return guarded["department"]
    return departments.get(guarded.get("lane") or "", "")


def _is_share(text: str) -> bool:
    try:
        return 0 < float(text) < 1
    except ValueError:
        return False


HEAD_PREFIX = "head:"


def _department_of(element_id: str, element: dict[str, Any], departments: dict[str, str]) -> str:
    groups = list(element.get("candidate_groups") or [])
    if any(g.startswith(HEAD_PREFIX) for g in groups):
        # `head:<code>` (or `head:${variable}`): the department's task, but only its heads may work it.
        # A task lives in one department, so a heads-only task names exactly one.
        if len(groups) > 1:
            raise DiagramError(N_("a task for a department head names one department: camunda:candidateGroups="
                                  "\"head:<code>\" or \"head:${variable}\" alone, not '%(groups)s'"),
                               element_id, groups=",".join(groups))
        groups = [groups[0][len(HEAD_PREFIX):].strip()]
        element["heads_only"] = True
    variable = re.fullmatch(r"\$\{\s*([A-Za-z_]\w*)\s*\}", groups[0]) if len(groups) == 1 else None
    if variable:
        # The department is chosen at run time (a form field holding a department code).
        element["department_variable"] = variable.group(1)
        return departments.get(element.get("lane") or "", "")
    if groups:
        unknown = [g for g in groups if g not in departments]
        if unknown:
            raise DiagramError(N_("candidate group '%(group)s' is not a known department code"), element_id,
                               group=unknown[0])
        return departments[groups[0]]
    lane = element.get("lane")
    if lane is None:
        raise DiagramError(N_("the task has neither camunda:candidateGroups nor a lane naming a department, so no "
                              "inbox would show it; draw it in a department's lane"), element_id)
    if lane not in departments:
        raise DiagramError(N_("lane '%(lane)s' is not a known department"), element_id, lane=lane)
    return departments[lane]


_VARIABLE = re.compile(r"\$\{\s*([A-Za-z_]\w*)\s*\}")
_USERNAME = re.compile(r"[A-Za-z0-9_.@-]+")


def _check_assignee(element_id: str, element: dict[str, Any]) -> None:
    """`camunda:assignee` names the person (a user name) or the case variable holding one (`${var}`);
    whether that person exists is checked when the task becomes ready (users change after deploy)."""
    assignee = element.get("assignee")
    if not assignee:
        return
    variable = _VARIABLE.fullmatch(assignee)
    if variable:
        element["assignee_variable"] = variable.group(1)
    elif not _USERNAME.fullmatch(assignee):
        raise DiagramError(N_("camunda:assignee must be a user name or ${variable}, not '%(value)s'"), element_id,
                           value=assignee)


_NAME = re.compile(r"[A-Za-z_]\w*")


def _check_multi_instance(element_id: str, element: dict[str, Any]) -> None:
    """One person's task per item of a case list; what the engine runs of the standard's options."""
    loop = element["multi_instance"]
    if element["type"] != "userTask":
        raise DiagramError(N_("multi-instance is supported on user tasks only"), element_id)
    if loop["unsupported"]:
        raise DiagramError(N_("multi-instance %(option)s is not supported; use camunda:collection and "
                              "camunda:elementVariable"), element_id, option=loop["unsupported"][0])
    collection = _VARIABLE.fullmatch(loop["collection"])
    collection_name = collection.group(1) if collection else loop["collection"]
    if not _NAME.fullmatch(collection_name) or not _NAME.fullmatch(loop["element_variable"]):
        raise DiagramError(N_("a multi-instance user task needs camunda:collection (the case variable holding the "
                              "list) and camunda:elementVariable (the name each instance sees its item under)"),
                           element_id)
    loop["collection"] = collection_name
    collect_as = element.get("properties", {}).get("collect_as")
    if collect_as is not None and not _NAME.fullmatch(collect_as):
        raise DiagramError(N_("collect_as must be a variable name, not '%(value)s'"), element_id, value=collect_as)
    if (element.get("form") or {}).get("fields") and not collect_as:
        raise DiagramError(N_("a multi-instance user task with a form needs the property collect_as (the list "
                              "variable that keeps every instance's submission)"), element_id)
    if collect_as in (collection_name, loop["element_variable"]):
        raise DiagramError(N_("collect_as must differ from the collection and the element variable"), element_id)


def _timer_start(catalog: dict[str, Any]) -> dict[str, str] | None:
    """The process's timer start event: its only start event, without a form, with a value the
    schedule can compute (a repeating interval with a start date, or a date)."""
    starts = [(element_id, catalog["elements"][element_id]) for element_id in catalog["start_events"]]
    timed = [(element_id, element) for element_id, element in starts if "timer" in element]
    if not timed:
        return None
    element_id, element = timed[0]
    if len(starts) > 1:
        raise DiagramError(N_("a process with a timer start event must have no other start event (which one "
                              "starts a case would be ambiguous); draw a second process for cases filed by hand"),
                           element_id)
    if element.get("form"):
        raise DiagramError(N_("a timer start event has no form: nobody fills it in"), element_id)
    try:
        StartTimer.parse(element["timer"]["kind"], element["timer"]["value"])
    except StartTimerError as err:
        raise DiagramError(N_("bad timer start: %(reason)s"), element_id, reason=str(err)) from None
    try:  # the schedule's own bounds: at most 10 years ahead, at most once a minute
        check_timer_bounds(element["timer"]["kind"], element["timer"]["value"], active_clock().now())
    except TimerBoundsExceeded as err:
        raise DiagramError(N_("bad timer start: %(reason)s"), element_id, reason=err) from None
    return {"element_id": element_id, **element["timer"]}


# Every place SpiffWorkflow 3.2 (Camunda parser) evaluates or executes text from the diagram.
_EXPRESSION_ELEMENTS: dict[str, tuple[str, Mode]] = {
    "conditionExpression": (N_("the condition"), "eval"),  # sequence flows
    "timeDuration": (N_("the timer"), "eval"), "timeDate": ("the timer", "eval"), "timeCycle": ("the timer", "eval"),
    "script": (N_("the script"), "exec"),  # script tasks
    "loopCardinality": (N_("the loop cardinality"), "eval"),  # multi-instance
    "completionCondition": (N_("the completion condition"), "eval"),  # multi-instance, ad hoc subprocess
    "loopCondition": (N_("the loop condition"), "eval"),  # standard loops
    "condition": ("the condition", "eval"),  # conditional events
    "formalExpression": (N_("the correlation expression"), "eval"),  # message correlation retrieval
}
# Elements an author can find in the modeller: the one named when an expression inside is refused.
_NAMED_ELEMENTS = FLOW_NODE_TAGS | {"sequenceFlow", "adHocSubProcess", "process", "correlationProperty"}


def _check_expressions(diagram: ParsedDiagram) -> None:
    """Refuse, before anything is compiled or evaluated, a diagram whose conditions, timers, scripts or
    loop expressions do what diagrams may not (import, `_`-names, calls outside the whitelist)."""
    for node in diagram.root.iter(f"{_B}*"):
        tag = node.tag[len(_B):]
        if tag in _EXPRESSION_ELEMENTS:
            what, mode = _EXPRESSION_ELEMENTS[tag]
            text = node.text or ""
            if tag == "formalExpression" and _local_parent(node) != "correlationPropertyRetrievalExpression":
                continue
            if what == "the timer" and is_iso_timer_literal(text):
                continue  # read as a literal, never evaluated
        elif tag == "messageEventDefinition" and node.get(f"{{{CAMUNDA_NS}}}expression") is not None:
            what, mode, text = N_("the message payload"), "eval", node.get(f"{{{CAMUNDA_NS}}}expression")
        else:
            continue
        if not text.strip():
            continue  # an empty value is reported by the checks that need one
        try:
            check_expression(text, mode)
        except ExpressionRejected as err:
            if err.unreadable and what == "the timer":
                continue  # the timer checks below say what an ISO 8601 value looks like
            raise DiagramError(N_("%(what)s %(reason)s"), _named_element(node), what=Term(what),
                               reason=err.rule) from None


def _local_parent(node) -> str:
    parent = node.getparent()
    return parent.tag.split("}")[-1] if parent is not None and isinstance(parent.tag, str) else ""


def _named_element(node) -> str | None:
    for element in (node, *node.iterancestors()):
        if isinstance(element.tag, str) and element.tag.startswith(_B) \
                and element.tag[len(_B):] in _NAMED_ELEMENTS and element.get("id"):
            return element.get("id")
    return None


def _check_flows(process) -> None:
    """Valid BPMN that SpiffWorkflow would not run as drawn."""
    flows = {f.get("id"): f for f in process.iter(f"{_B}sequenceFlow")}
    outgoing: dict[str, list[Any]] = {}
    for flow in flows.values():
        outgoing.setdefault(flow.get("sourceRef"), []).append(flow)
    for node in process.iter():
        if not isinstance(node.tag, str):
            continue
        node_id = node.get("id")
        out = outgoing.get(node_id, [])
        if len(out) < 2:
            continue
        unconditioned = [f for f in out if f.find(f"{_B}conditionExpression") is None]
        tag = node.tag.split("}")[1]
        if tag in ("exclusiveGateway", "inclusiveGateway"):
            default = node.get("default")
            missing = [f.get("id") for f in unconditioned if f.get("id") != default]
            if missing:
                raise DiagramError(N_("gateway branch '%(flow)s' has neither a condition nor is the default flow"),
                                   node_id, flow=missing[0])
        elif tag not in ("parallelGateway", "eventBasedGateway") and len(unconditioned) > 1:
            raise DiagramError(N_("several outgoing flows without conditions; use a gateway to split"), node_id)


def _check_layout(diagram: ParsedDiagram, catalog: dict[str, Any]) -> None:
    missing = [element_id for element_id, e in catalog["elements"].items() if not e["has_shape"]]
    if missing:
        raise DiagramError(N_("the element has no layout (BPMN DI); open and save the diagram in a modeller"),
                           missing[0])


def department_lookup(session: Session) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for department in session.scalars(select(Department)):
        lookup[department.code] = department.code
        lookup[department.name_zh] = department.code
    return lookup


def store_version(session: Session, checked: CheckedDiagram, deployed_by: str, now) -> tuple[ProcessVersion, bool]:
    """Store as the next version, unless it is the same file as the latest (then nothing changes)."""
    latest = session.scalars(
        select(ProcessVersion).where(ProcessVersion.process_key == checked.process_key)
        .order_by(ProcessVersion.version.desc()).limit(1)).first()
    if latest is not None and latest.content_hash == checked.content_hash:
        return latest, False
    number = (session.scalar(select(func.max(ProcessVersion.version))
                             .where(ProcessVersion.process_key == checked.process_key)) or 0) + 1
    version = ProcessVersion(process_key=checked.process_key, version=number, name=checked.name,
                             content_hash=checked.content_hash, bpmn=checked.raw, catalog=checked.catalog,
                             deployed_at=now, deployed_by=deployed_by)
    session.add(version)
    session.flush()
    return version, True
