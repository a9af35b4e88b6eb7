"""What the engine needs to know about a diagram without running it: read once from the XML at deploy
and stored with the version, so inboxes and reports never parse or load workflows."""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from engine.diagrams.forms import FormDefinitionError, parse_form_data
from engine.errors import N_, DiagramError

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
MAX_DIAGRAM_BYTES = 5 * 1024 * 1024

_B = f"{{{BPMN_NS}}}"
_C = f"{{{CAMUNDA_NS}}}"

FLOW_NODE_TAGS = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
}


@dataclass(frozen=True)
class ParsedDiagram:
    root: Any  # lxml element of bpmn:definitions
    raw: bytes


def parse_xml(raw: bytes) -> ParsedDiagram:
    """Parse untrusted BPMN bytes: no DTDs, no entity expansion, no XInclude, no network, bounded size."""
    if not isinstance(raw, bytes | bytearray):
        raise DiagramError(N_("a diagram must be given as bytes (as the modeller saved it)"))
    if len(raw) > MAX_DIAGRAM_BYTES:
        raise DiagramError(N_("the file is larger than %(mb)d MB (%(size)s bytes); a diagram may be at most "
                              "%(limit)s bytes"), mb=MAX_DIAGRAM_BYTES // (1024 * 1024), size=f"{len(raw):,}",
                           limit=f"{MAX_DIAGRAM_BYTES:,}")
    text = _decoded(bytes(raw))
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise DiagramError(N_("DOCTYPE / entity declarations are not allowed in a diagram"))
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=False)
    try:
        root = etree.fromstring(bytes(raw), parser=parser)
    except etree.XMLSyntaxError as err:
        raise DiagramError(N_("not well-formed XML: %(reason)s"), reason=str(err)) from None
    except UnicodeDecodeError as err:
        raise DiagramError(N_("the file is not valid in its declared encoding: %(reason)s"), reason=str(err)) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise DiagramError(N_("DOCTYPE / entity declarations are not allowed in a diagram"))
    if root.tag != f"{_B}definitions":
        raise DiagramError(N_("the root element is not bpmn:definitions (BPMN 2.0 model namespace)"))
    if next(root.iter(f"{{{XINCLUDE_NS}}}*"), None) is not None:
        raise DiagramError(N_("XInclude (xi:include) is not allowed in a diagram"))
    return ParsedDiagram(root=root, raw=bytes(raw))


XINCLUDE_NS = "http://www.w3.org/2001/XInclude"
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _decoded(raw: bytes) -> str:
    """The file as text in the encoding it declares (UTF-8 when it declares none), so that declarations are
    found whatever the encoding; a file that is not what it claims is refused, saying where it breaks."""
    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), None)
    if encoding is None:
        if b"\x00" in raw[:4]:
            raise DiagramError(N_("the file is in a 16/32-bit encoding without a byte-order mark; save it as UTF-8"))
        declared = _DECLARED_ENCODING.match(raw[:300])
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        return raw.decode(encoding)
    except LookupError:
        raise DiagramError(N_("the file declares the unknown encoding '%(encoding)s'; save it as UTF-8"),
                           encoding=encoding) from None
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise DiagramError(N_("the file is not valid %(encoding)s, the encoding it declares (line %(line)d, byte "
                              "%(byte)s); save it as UTF-8 from the modeller"), encoding=encoding.upper(), line=line,
                           byte=f"0x{raw[err.start]:02X}") from None


def _properties(element) -> dict[str, str]:
    return {p.get("name"): p.get("value") or "" for p in
            element.findall(f"{_B}extensionElements/{_C}properties/{_C}property")}


SLA_SOURCES = ("procedure", "company")


def sla_source_of(element: dict[str, Any]) -> str:
    """Who sets a limit: `procedure` when the company's procedure text states it, else `company` (a
    company rule). A timer that does not say is a company rule: it is never shown as the procedure's."""
    source = element.get("properties", {}).get("sla_source")
    return source if source in SLA_SOURCES else "company"


def _local(tag: str) -> str:
    return tag.split("}", 1)[1] if "}" in tag else tag


def _timer(element) -> dict[str, str] | None:
    definition = element.find(f"{_B}timerEventDefinition")
    if definition is None:
        return None
    for kind, tag in (("duration", "timeDuration"), ("date", "timeDate"), ("cycle", "timeCycle")):
        node = definition.find(f"{_B}{tag}")
        if node is not None:
            return {"kind": kind, "value": (node.text or "").strip()}
    raise DiagramError(N_("timer event has no timeDuration, timeDate or timeCycle"), element.get("id"))


def executable_processes(diagram: ParsedDiagram) -> list[Any]:
    return [p for p in diagram.root.findall(f"{_B}process") if p.get("isExecutable", "false") == "true"]


def build_catalog(diagram: ParsedDiagram, process_element) -> dict[str, Any]:
    """Describe every flow node of one process: type, name, lane, forms, handler topic, timers, extras."""
    lanes: dict[str, str] = {}
    for lane in process_element.iter(f"{_B}lane"):
        for ref in lane.findall(f"{_B}flowNodeRef"):
            lanes[(ref.text or "").strip()] = lane.get("name") or lane.get("id")
    drawn_in_lane = _lanes_by_drawing(diagram, process_element)
    incoming: dict[str, list[str]] = {}
    for flow in process_element.iter(f"{_B}sequenceFlow"):
        incoming.setdefault(flow.get("targetRef"), []).append(flow.get("sourceRef"))
    elements: dict[str, dict[str, Any]] = {}
    start_form = None
    diagram_ids = {s.get("bpmnElement") for s in diagram.root.iter(f"{{{BPMNDI_NS}}}BPMNShape")}
    for node in process_element.iter():
        if not isinstance(node.tag, str) or not node.tag.startswith(_B) or _local(node.tag) not in FLOW_NODE_TAGS:
            continue
        element_id = node.get("id")
        kind = _local(node.tag)
        entry: dict[str, Any] = {"type": kind, "name": (node.get("name") or element_id).strip()}
        # A step inside a subprocess is in the lane it is drawn in: bpmn.io keeps lane references only for
        # the process's own nodes and drops them for nested ones once they are moved.
        nested = any(True for _ in node.iterancestors(f"{_B}subProcess", f"{_B}transaction"))
        if nested and element_id in drawn_in_lane:
            lanes[element_id] = drawn_in_lane[element_id]
        # Lane of the node, or of the innermost enclosing subprocess that sits in a lane.
        ancestor = node
        while ancestor is not None and ancestor.get("id") not in lanes:
            ancestor = ancestor.getparent()
            if ancestor is not None and ancestor.tag == f"{_B}process":
                ancestor = None
        if kind == "boundaryEvent" and ancestor is None:
            ancestor = process_element.find(f".//*[@id='{node.get('attachedToRef')}']")
            while ancestor is not None and ancestor.get("id") not in lanes:
                ancestor = ancestor.getparent()
        entry["lane"] = lanes.get(ancestor.get("id")) if ancestor is not None else None
        entry["has_shape"] = element_id in diagram_ids
        # Enclosing subprocesses, innermost first: which open tasks hold up a limit on a subprocess.
        entry["scope"] = [a.get("id") for a in node.iterancestors(f"{_B}subProcess", f"{_B}transaction")]
        entry["incoming"] = incoming.get(element_id, [])
        properties = _properties(node)
        if properties:
            entry["properties"] = properties
        try:
            form = parse_form_data(node)
        except FormDefinitionError as err:
            raise DiagramError(str(err), element_id) from None
        if kind in ("userTask", "task", "manualTask"):  # people's tasks: who works them
            groups = node.get(f"{_C}candidateGroups") or ""
            entry["candidate_groups"] = [g.strip() for g in groups.split(",") if g.strip()]
        if kind == "userTask":
            assignee = (node.get(f"{_C}assignee") or "").strip()
            if assignee:
                entry["assignee"] = assignee
            entry["form"] = (form.to_dict() if form else {"fields": []})
        elif kind == "startEvent" and form is not None:
            entry["form"] = form.to_dict()
            if node.getparent() is process_element:
                start_form = entry["form"]
        if kind == "serviceTask":
            entry["topic"] = node.get(f"{_C}topic")
            entry["implementation"] = node.get(f"{_C}type")
        loop = node.find(f"{_B}multiInstanceLoopCharacteristics")
        if loop is not None:
            entry["multi_instance"] = {
                "collection": (loop.get(f"{_C}collection") or "").strip(),
                "element_variable": (loop.get(f"{_C}elementVariable") or "").strip(),
                "sequential": loop.get("isSequential") == "true",
                "unsupported": [_local(c.tag) for c in loop if isinstance(c.tag, str)
                                and _local(c.tag) in ("loopCardinality", "completionCondition",
                                                      "loopDataInputRef", "inputDataItem")],
            }
        timer = _timer(node)
        if timer:
            entry["timer"] = timer
        if kind == "boundaryEvent":
            entry["attached_to"] = node.get("attachedToRef")
            entry["interrupting"] = node.get("cancelActivity", "true") != "false"
        elements[element_id] = entry
    process_properties = _properties(process_element)
    start_lanes = [e["lane"] for e in elements.values()
                   if e["type"] == "startEvent" and e.get("form") is not None and e.get("lane")]
    starter_groups = process_element.get(f"{_C}candidateStarterGroups") or ""
    return {
        # The process's own start events (not those of subprocesses): a timer there means a schedule.
        "start_events": [element_id for element_id, e in elements.items()
                         if e["type"] == "startEvent" and not e["scope"]],
        "process_key": process_element.get("id"),
        "name": process_element.get("name") or process_element.get("id"),
        "start_form": start_form,
        # Who may start a case from the "new" page: camunda:candidateStarterGroups, else the start event's lane.
        "starters": [g.strip() for g in starter_groups.split(",") if g.strip()] or start_lanes[:1],
        # Which case data the inbox shows as customer and category (first present variable wins).
        "case_fields": {
            "customer": _names(process_properties.get("case_customer")),
            "category": _names(process_properties.get("case_category")),
        },
        "elements": elements,
    }


def _lanes_by_drawing(diagram: ParsedDiagram, process_element) -> dict[str, str]:
    """The lane each shape's centre is drawn in (the innermost lane when lanes nest), by the diagram's DI;
    only shapes on the plane the lanes are drawn on (a collapsed subprocess draws its steps on a plane of
    its own, where no lane is)."""
    lane_ids = {lane.get("id"): lane.get("name") or lane.get("id") for lane in process_element.iter(f"{_B}lane")}
    for plane in diagram.root.iter(f"{{{BPMNDI_NS}}}BPMNPlane"):
        bounds: dict[str, tuple[float, float, float, float]] = {}
        for shape in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
            box = shape.find(f"{{{DC_NS}}}Bounds")
            if box is None:
                continue
            try:
                bounds[shape.get("bpmnElement")] = tuple(float(box.get(k, "0")) for k in ("x", "y", "width", "height"))
            except ValueError:
                continue
        lane_boxes = [(name, bounds[lane_id]) for lane_id, name in lane_ids.items() if lane_id in bounds]
        if lane_boxes:
            break
    else:
        return {}
    found: dict[str, str] = {}
    for element_id, (x, y, width, height) in bounds.items():
        cx, cy = x + width / 2, y + height / 2
        inside = [(w * h, name) for name, (lx, ly, w, h) in lane_boxes if lx <= cx <= lx + w and ly <= cy <= ly + h]
        if inside:
            found[element_id] = min(inside)[1]
    return found


def _names(value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def option_labels(catalog: dict[str, Any]) -> dict[str, dict[str, tuple[str, str | None]]]:
    """Enum field id -> coded value -> (Chinese, English or None) names, as the diagram's forms give them."""
    labels: dict[str, dict[str, tuple[str, str | None]]] = {}
    for element in catalog["elements"].values():
        for form_field in (element.get("form") or {}).get("fields", []):
            if form_field["type"] == "enum":
                options = labels.setdefault(form_field["id"], {})
                for option in form_field["options"]:
                    options.setdefault(option[0], (option[1], option[2] if len(option) > 2 else None))
    return labels
