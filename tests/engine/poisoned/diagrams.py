"""Test diagrams whose limit timer leads somewhere that fails when the worker fires it."""
from __future__ import annotations

from tests.engine.hostile.diagrams import DIAGRAM, escaped, noop_handlers  # noqa: F401 (re-exported)


def escalating_to(group: str) -> bytes:
    """simple_review whose 2-hour limit opens a user task 升级处理 for `group` (a department code, or
    `${variable}` naming one through the case data) instead of the escalation handler."""
    start = DIAGRAM.index(b'<bpmn:serviceTask id="Task_escalate"')
    end = DIAGRAM.index(b"</bpmn:serviceTask>", start) + len(b"</bpmn:serviceTask>")
    return (DIAGRAM[:start] + b'<bpmn:userTask id="Task_escalate" name="\xe5\x8d\x87\xe7\xba\xa7\xe5\xa4\x84\xe7\x90\x86" '
            b'camunda:candidateGroups="' + escaped(group) + b'">'
            b"<bpmn:incoming>Flow_4</bpmn:incoming><bpmn:outgoing>Flow_5</bpmn:outgoing></bpmn:userTask>"
            + DIAGRAM[end:])


def gateway_after_limit(condition: str) -> bytes:
    """simple_review whose 2-hour limit leads to a gateway on `condition` before the escalation."""
    xml = DIAGRAM.replace(
        b'<bpmn:sequenceFlow id="Flow_4" sourceRef="Timer_review_limit" targetRef="Task_escalate" />',
        b'<bpmn:sequenceFlow id="Flow_4" sourceRef="Timer_review_limit" targetRef="Gateway_late" />'
        b'<bpmn:exclusiveGateway id="Gateway_late" name="late?" default="Flow_late_skip">'
        b"<bpmn:incoming>Flow_4</bpmn:incoming><bpmn:outgoing>Flow_late_go</bpmn:outgoing>"
        b"<bpmn:outgoing>Flow_late_skip</bpmn:outgoing></bpmn:exclusiveGateway>"
        b'<bpmn:sequenceFlow id="Flow_late_go" sourceRef="Gateway_late" targetRef="Task_escalate">'
        b"<bpmn:conditionExpression>" + escaped(condition) + b"</bpmn:conditionExpression></bpmn:sequenceFlow>"
        b'<bpmn:sequenceFlow id="Flow_late_skip" sourceRef="Gateway_late" targetRef="End_late_skipped" />'
        b'<bpmn:endEvent id="End_late_skipped" name="skipped"><bpmn:incoming>Flow_late_skip</bpmn:incoming>'
        b"</bpmn:endEvent>")
    xml = xml.replace(b"<bpmn:incoming>Flow_4</bpmn:incoming>\n      <bpmn:outgoing>Flow_5</bpmn:outgoing>",
                      b"<bpmn:incoming>Flow_late_go</bpmn:incoming>\n      <bpmn:outgoing>Flow_5</bpmn:outgoing>")
    return xml.replace(
        b'<bpmndi:BPMNEdge id="Flow_4_di"',
        b'<bpmndi:BPMNShape id="Gateway_late_di" bpmnElement="Gateway_late"><dc:Bounds x="400" y="250" '
        b'width="50" height="50" /></bpmndi:BPMNShape>'
        b'<bpmndi:BPMNShape id="End_late_skipped_di" bpmnElement="End_late_skipped"><dc:Bounds x="407" '
        b'y="340" width="36" height="36" /></bpmndi:BPMNShape>'
        b'<bpmndi:BPMNEdge id="Flow_late_go_di" bpmnElement="Flow_late_go"><di:waypoint x="450" y="275" />'
        b'<di:waypoint x="500" y="275" /></bpmndi:BPMNEdge>'
        b'<bpmndi:BPMNEdge id="Flow_late_skip_di" bpmnElement="Flow_late_skip"><di:waypoint x="425" y="300" />'
        b'<di:waypoint x="425" y="340" /></bpmndi:BPMNEdge>'
        b'<bpmndi:BPMNEdge id="Flow_4_old_di"')
