"""Deploy rules read from the XML before SpiffWorkflow parses it: the size a diagram may have, the elements
the engine runs, references that must resolve, and conditions written as Python. SpiffWorkflow's parser
either fails on these with Python errors (KeyError, TypeError, RecursionError) or accepts what then cannot
run (a send task whose first save fails); each is refused here with the element named."""
from __future__ import annotations

import ast
import re
from typing import Any

from engine.diagrams.catalog import BPMN_NS, FLOW_NODE_TAGS, DiagramError, ParsedDiagram
from engine.errors import N_

_B = f"{{{BPMN_NS}}}"

MAX_FLOW_ELEMENTS = 300  # per diagram: SpiffWorkflow parses a chain of ~490 tasks recursively and fails
MAX_NESTING = 5  # subprocesses within subprocesses

_UNSUPPORTED_ELEMENTS = {
    "sendTask": N_("send tasks are not supported: the engine sends no BPMN messages; use a service task whose "
                   "handler sends the notification"),
    "receiveTask": N_("receive tasks are not supported: the engine receives no BPMN messages; use a user task "
                      "that someone completes when the answer arrives"),
    "businessRuleTask": N_("business rule tasks (DMN decisions) are not supported; use a script task or a "
                           "service task"),
    "adHocSubProcess": N_("ad hoc subprocesses are not supported; draw the order of the steps with flows and "
                          "gateways"),
    "complexGateway": N_("complex gateways are not supported; use an exclusive, inclusive or parallel gateway"),
    "dataStoreReference": N_("data stores are not supported; keep the data in case variables (form fields)"),
}
_UNSUPPORTED_EVENTS = {
    "messageEventDefinition": N_("message events are not supported: the engine sends and receives no BPMN "
                                 "messages; use a service task or a user task"),
    "signalEventDefinition": N_("signal events are not supported: the engine delivers no signals"),
    "conditionalEventDefinition": N_("conditional events are not supported: the engine does not watch "
                                     "conditions; use a gateway with conditions"),
    "compensateEventDefinition": N_("compensation events are not supported"),
}
_EVENT_TAGS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_ACTIVITY_TAGS = {"task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask",
                  "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
_BOUNDARY_DEFINITIONS = {"timerEventDefinition", "errorEventDefinition", "escalationEventDefinition",
                         "cancelEventDefinition"}
_REFERENCED = {"errorEventDefinition": ("errorRef", "error"), "escalationEventDefinition": ("escalationRef", "escalation")}


def _local(node) -> str:
    return node.tag[len(_B):] if isinstance(node.tag, str) and node.tag.startswith(_B) else ""


def _flow_nodes(diagram: ParsedDiagram) -> list[Any]:
    return [n for n in diagram.root.iter(f"{_B}*") if _local(n) in FLOW_NODE_TAGS | set(_UNSUPPORTED_ELEMENTS)]


def check_size(diagram: ParsedDiagram, process) -> None:
    """The limits, before anything walks the diagram recursively (SpiffWorkflow reads all of the file)."""
    nodes = _flow_nodes(diagram)
    if len(nodes) > MAX_FLOW_ELEMENTS:
        raise DiagramError(N_("a diagram may have at most %(limit)d elements (tasks, events, gateways, "
                              "subprocesses); this one has %(count)d: split it into smaller processes"),
                           process.get("id"), limit=MAX_FLOW_ELEMENTS, count=len(nodes))
    for node in nodes:
        depth = sum(1 for _ in node.iterancestors(f"{_B}subProcess", f"{_B}transaction", f"{_B}adHocSubProcess"))
        if depth > MAX_NESTING:
            raise DiagramError(N_("subprocesses may be nested at most %(limit)d deep"), node.get("id"),
                               limit=MAX_NESTING)


def check_structure(diagram: ParsedDiagram) -> None:
    """Supported elements and references that must resolve, in the whole file."""
    root = diagram.root
    ids = {n.get("id") for n in root.iter(f"{_B}*") if n.get("id")}
    for node in _flow_nodes(diagram):
        _check_element(node, ids)
    for flow in root.iter(f"{_B}sequenceFlow"):
        for end in ("sourceRef", "targetRef"):
            if flow.get(end) not in ids:
                raise DiagramError(N_("the flow connects '%(ref)s', which is not in the diagram"), flow.get("id"),
                                   ref=flow.get(end) or "")
    for node in root.iter(f"{_B}dataInputAssociation", f"{_B}dataOutputAssociation"):
        for ref in node.findall(f"{_B}sourceRef") + node.findall(f"{_B}targetRef"):
            if (ref.text or "").strip() not in ids:
                raise DiagramError(N_("a data association names '%(ref)s', which is not in the diagram"),
                                   _owner_id(node), ref=(ref.text or "").strip())


def _owner_id(node) -> str | None:
    for element in node.iterancestors():
        if _local(element) in FLOW_NODE_TAGS:
            return element.get("id")
    return None


def _check_element(node, ids: set[str]) -> None:
    kind, element_id = _local(node), node.get("id")
    if kind in _UNSUPPORTED_ELEMENTS:
        raise DiagramError(_UNSUPPORTED_ELEMENTS[kind], element_id)
    if kind in _EVENT_TAGS:
        definitions = [c for c in node if _local(c).endswith("EventDefinition")]
        if len(definitions) > 1:
            raise DiagramError(N_("an event has at most one event definition (timer, error, …)"), element_id)
        for definition in definitions:
            name = _local(definition)
            if name in _UNSUPPORTED_EVENTS:
                raise DiagramError(_UNSUPPORTED_EVENTS[name], element_id)
            if name in _REFERENCED:
                attribute, what = _REFERENCED[name]
                ref = definition.get(attribute)
                if ref and ref not in ids:
                    raise DiagramError(N_("the event refers to the %(what)s '%(ref)s', which the diagram does not "
                                          "define"), element_id, what=what, ref=ref)
        if kind == "boundaryEvent":
            _check_boundary(node, definitions)
    default = node.get("default")
    if default is not None:
        leaving = {f.get("id") for f in node.getparent().findall(f"{_B}sequenceFlow") if f.get("sourceRef") == element_id}
        if default not in leaving:
            raise DiagramError(N_("the default flow '%(ref)s' is no flow leaving this element"), element_id,
                               ref=default)


def _check_boundary(node, definitions: list[Any]) -> None:
    element_id = node.get("id")
    if not definitions or _local(definitions[0]) not in _BOUNDARY_DEFINITIONS:
        raise DiagramError(N_("a boundary event needs a timer, error or escalation definition"), element_id)
    attached = node.get("attachedToRef")
    scope = node.getparent()
    target = next((c for c in scope if c.get("id") == attached), None) if attached else None
    if target is None or _local(target) not in _ACTIVITY_TAGS:
        raise DiagramError(N_("the boundary event is attached to '%(ref)s', which is no task or subprocess next to "
                              "it in this process"), element_id, ref=attached or "")


# --- conditions written in another expression language -------------------------------------------------
_JUEL = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.DOTALL)
_JUEL_WORDS = ((r"&&", " and "), (r"\|\|", " or "), (r"!(?!=)", " not "), (r"\beq\b", "=="), (r"\bne\b", "!="),
               (r"\bgt\b", ">"), (r"\blt\b", "<"), (r"\bge\b", ">="), (r"\ble\b", "<="), (r"\btrue\b", "True"),
               (r"\bfalse\b", "False"), (r"\bnull\b", "None"))
_FEEL_EQUALS = re.compile(r"(?<![<>=!:])=(?!=)")


def check_condition_dialect(diagram: ParsedDiagram) -> None:
    """Conditions are Python expressions: one written in JUEL (`${amount > 100}`, as Camunda 7 examples do) or
    FEEL (`= status = "open"`, Camunda 8) is refused with its Python form, before any Python reads it."""
    for node in diagram.root.iter(f"{_B}conditionExpression"):
        text = (node.text or "").strip()
        python = _python_form(text)
        if python is not None:
            raise DiagramError(N_("conditions are Python expressions, not JUEL or FEEL: write %(python)s instead of "
                                  "%(original)s"), _flow_id(node), python=python, original=text[:120])


def _python_form(text: str) -> str | None:
    try:
        ast.parse(text, mode="eval")
        return None  # Python reads it: the expression checks judge it
    except SyntaxError:
        pass
    juel = _JUEL.match(text)
    if juel:
        python = juel.group(1)
        for pattern, replacement in _JUEL_WORDS:
            python = re.sub(pattern, replacement, python)
        return " ".join(python.split())
    if text.startswith("="):  # Camunda 8 writes FEEL expressions with a leading '='
        return " ".join(_FEEL_EQUALS.sub("==", text[1:]).split())
    if _FEEL_EQUALS.search(text) and not re.search(r"\b(lambda|for)\b", text):
        return " ".join(_FEEL_EQUALS.sub("==", text).split())
    return None


def _flow_id(node) -> str | None:
    parent = node.getparent()
    return parent.get("id") if parent is not None else None
