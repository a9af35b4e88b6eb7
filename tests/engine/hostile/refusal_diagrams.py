"""Diagrams the deploy-refusal tests send: simple_review.bpmn with one element changed, and a generator for
diagrams of any size (laid out, so only the rule under test refuses them)."""
from __future__ import annotations

import re
from pathlib import Path

DIAGRAM = (Path(__file__).parents[1] / "diagrams" / "simple_review.bpmn").read_bytes()
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="bpmn:tFormalExpression"'


def retyped(element_id: str, tag: str, attributes: str = "") -> bytes:
    """simple_review with the element `element_id` turned into a `tag` (its children kept)."""
    pattern = re.compile(rb'<bpmn:(\w+) id="' + element_id.encode() + rb'"[^>]*>(.*?)</bpmn:\1>', re.S)
    new = f'<bpmn:{tag} id="{element_id}" {attributes}>'.encode()
    return pattern.sub(lambda m: new + m.group(2) + f"</bpmn:{tag}>".encode(), DIAGRAM, count=1)


def with_condition(text: str) -> bytes:
    """simple_review whose flow Flow_3 carries the condition `text` (XML-escaped here)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode()
    return DIAGRAM.replace(b'<bpmn:sequenceFlow id="Flow_3" sourceRef="Task_review" targetRef="Task_finish" />',
                           b'<bpmn:sequenceFlow id="Flow_3" sourceRef="Task_review" targetRef="Task_finish">'
                           b'<bpmn:conditionExpression ' + XSI.encode() + b'>' + escaped
                           + b'</bpmn:conditionExpression></bpmn:sequenceFlow>')


def with_timer(kind: str, value: str, element: bytes = b"Timer_review_limit") -> bytes:
    """simple_review whose review limit is the timer `<kind>value</kind>` (timeDuration, timeDate, timeCycle)."""
    return DIAGRAM.replace(b"<bpmn:timeDuration>PT2H</bpmn:timeDuration>",
                           f"<bpmn:{kind}>{value}</bpmn:{kind}>".encode())


def chain(tasks: int) -> bytes:
    """A laid-out process start → `tasks` plain tasks in the quality lane → end."""
    ids = ["Start_1"] + [f"Task_{i}" for i in range(tasks)] + ["End_1"]
    nodes = ['<bpmn:startEvent id="Start_1" />'] + [f'<bpmn:task id="Task_{i}" />' for i in range(tasks)] \
        + ['<bpmn:endEvent id="End_1" />']
    flows = [f'<bpmn:sequenceFlow id="Flow_{i}" sourceRef="{a}" targetRef="{b}" />'
             for i, (a, b) in enumerate(zip(ids, ids[1:], strict=False))]
    refs = "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ids)
    shapes = "".join(f'<bpmndi:BPMNShape id="{i}_di" bpmnElement="{i}"><dc:Bounds x="{n * 10}" y="0" width="5" '
                     f'height="5" /></bpmndi:BPMNShape>' for n, i in enumerate(ids))
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
            'id="Defs" targetNamespace="x"><bpmn:process id="long_chain" isExecutable="true">'
            f'<bpmn:laneSet id="Lanes"><bpmn:lane id="Lane_q" name="quality">{refs}</bpmn:lane></bpmn:laneSet>'
            + "".join(nodes) + "".join(flows) + '</bpmn:process><bpmndi:BPMNDiagram id="Dia"><bpmndi:BPMNPlane id="Pl" '
            f'bpmnElement="long_chain">{shapes}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>').encode()
