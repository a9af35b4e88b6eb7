"""The test diagram of the hostile-diagram tests: simple_review with a gateway after the review whose
condition (or a script task, or a timer) is the code under test."""
from __future__ import annotations

from pathlib import Path

from engine.handler_api import HandlerRegistry

DIAGRAM = (Path(__file__).parent.parent / "diagrams" / "simple_review.bpmn").read_bytes()


TEST_TOPICS = ("test.prepare", "test.escalate", "test.finish")


def noop_handlers(registry: HandlerRegistry | None = None) -> HandlerRegistry:
    """`registry` (a new one by default) with no-op handlers for the test diagram's service tasks."""
    registry = registry or HandlerRegistry()
    for topic in TEST_TOPICS:
        registry.handler(topic)(lambda ctx: {})
    return registry


def escaped(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode()


def with_gateway(condition: str) -> bytes:
    """评审 → Gateway_check: `condition` → 完成, otherwise (the default flow) → End_skipped."""
    xml = DIAGRAM.replace(
        b'<bpmn:sequenceFlow id="Flow_3" sourceRef="Task_review" targetRef="Task_finish" />',
        b'<bpmn:sequenceFlow id="Flow_3" sourceRef="Task_review" targetRef="Gateway_check" />'
        b'<bpmn:exclusiveGateway id="Gateway_check" name="check" default="Flow_skip">'
        b"<bpmn:incoming>Flow_3</bpmn:incoming><bpmn:outgoing>Flow_go</bpmn:outgoing>"
        b"<bpmn:outgoing>Flow_skip</bpmn:outgoing></bpmn:exclusiveGateway>"
        b'<bpmn:sequenceFlow id="Flow_go" sourceRef="Gateway_check" targetRef="Task_finish">'
        b"<bpmn:conditionExpression>" + escaped(condition) + b"</bpmn:conditionExpression></bpmn:sequenceFlow>"
        b'<bpmn:sequenceFlow id="Flow_skip" sourceRef="Gateway_check" targetRef="End_skipped" />'
        b'<bpmn:endEvent id="End_skipped" name="skipped"><bpmn:incoming>Flow_skip</bpmn:incoming></bpmn:endEvent>')
    xml = xml.replace(b"<bpmn:incoming>Flow_3</bpmn:incoming>\n      <bpmn:outgoing>Flow_6</bpmn:outgoing>",
                      b"<bpmn:incoming>Flow_go</bpmn:incoming>\n      <bpmn:outgoing>Flow_6</bpmn:outgoing>")
    return xml.replace(
        b'<bpmndi:BPMNEdge id="Flow_3_di"',
        b'<bpmndi:BPMNShape id="Gateway_check_di" bpmnElement="Gateway_check"><dc:Bounds x="585" y="95" '
        b'width="50" height="50" /></bpmndi:BPMNShape>'
        b'<bpmndi:BPMNShape id="End_skipped_di" bpmnElement="End_skipped"><dc:Bounds x="592" y="2" width="36" '
        b'height="36" /></bpmndi:BPMNShape>'
        b'<bpmndi:BPMNEdge id="Flow_go_di" bpmnElement="Flow_go"><di:waypoint x="635" y="120" />'
        b'<di:waypoint x="720" y="120" /></bpmndi:BPMNEdge>'
        b'<bpmndi:BPMNEdge id="Flow_skip_di" bpmnElement="Flow_skip"><di:waypoint x="610" y="95" />'
        b'<di:waypoint x="610" y="38" /></bpmndi:BPMNEdge>'
        b'<bpmndi:BPMNEdge id="Flow_3_old_di"')


def with_script(script: str) -> bytes:
    """The preparing service task replaced by a script task running `script`."""
    start = DIAGRAM.index(b'<bpmn:serviceTask id="Task_prepare"')
    end = DIAGRAM.index(b"</bpmn:serviceTask>", start) + len(b"</bpmn:serviceTask>")
    return (DIAGRAM[:start] + b'<bpmn:scriptTask id="Task_prepare" name="prepare" scriptFormat="python">'
            b"<bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>"
            b"<bpmn:script>" + escaped(script) + b"</bpmn:script></bpmn:scriptTask>" + DIAGRAM[end:])


def with_timer(value: str, kind: str = "timeDuration", interrupting: bool = False) -> bytes:
    """The review's limit timer with `value` (timeDuration, timeDate or timeCycle)."""
    xml = DIAGRAM.replace(b"<bpmn:timeDuration>PT2H</bpmn:timeDuration>",
                          f"<bpmn:{kind}>".encode() + escaped(value) + f"</bpmn:{kind}>".encode())
    if interrupting:
        xml = xml.replace(b'name="2\xe5\xb0\x8f\xe6\x97\xb6" cancelActivity="false"', "name=\"2小时\"".encode())
    return xml


def with_loop(condition: str, script: str) -> bytes:
    """评审 → Gateway_check: while `condition`, run Task_count (`script`) and check again; then 完成."""
    xml = with_gateway(condition)
    xml = xml.replace(b"<bpmn:incoming>Flow_3</bpmn:incoming><bpmn:outgoing>Flow_go</bpmn:outgoing>",
                      b"<bpmn:incoming>Flow_3</bpmn:incoming><bpmn:incoming>Flow_again</bpmn:incoming>"
                      b"<bpmn:outgoing>Flow_go</bpmn:outgoing>")
    xml = xml.replace(b'<bpmn:sequenceFlow id="Flow_go" sourceRef="Gateway_check" targetRef="Task_finish">',
                      b'<bpmn:sequenceFlow id="Flow_go" sourceRef="Gateway_check" targetRef="Task_count">')
    xml = xml.replace(
        b'<bpmn:sequenceFlow id="Flow_skip" sourceRef="Gateway_check" targetRef="End_skipped" />'
        b'<bpmn:endEvent id="End_skipped" name="skipped"><bpmn:incoming>Flow_skip</bpmn:incoming></bpmn:endEvent>',
        b'<bpmn:sequenceFlow id="Flow_skip" sourceRef="Gateway_check" targetRef="Task_finish" />'
        b'<bpmn:scriptTask id="Task_count" name="count" scriptFormat="python">'
        b"<bpmn:incoming>Flow_go</bpmn:incoming><bpmn:outgoing>Flow_again</bpmn:outgoing>"
        b"<bpmn:script>" + escaped(script) + b"</bpmn:script></bpmn:scriptTask>"
        b'<bpmn:sequenceFlow id="Flow_again" sourceRef="Task_count" targetRef="Gateway_check" />')
    xml = xml.replace(b"<bpmn:incoming>Flow_go</bpmn:incoming>\n      <bpmn:outgoing>Flow_6</bpmn:outgoing>",
                      b"<bpmn:incoming>Flow_skip</bpmn:incoming>\n      <bpmn:outgoing>Flow_6</bpmn:outgoing>")
    return xml.replace(
        b'<bpmndi:BPMNShape id="End_skipped_di" bpmnElement="End_skipped"><dc:Bounds x="592" y="2" width="36" '
        b'height="36" /></bpmndi:BPMNShape>',
        b'<bpmndi:BPMNShape id="Task_count_di" bpmnElement="Task_count"><dc:Bounds x="560" y="-60" width="100" '
        b'height="80" /></bpmndi:BPMNShape><bpmndi:BPMNEdge id="Flow_again_di" bpmnElement="Flow_again">'
        b'<di:waypoint x="660" y="-20" /><di:waypoint x="610" y="95" /></bpmndi:BPMNEdge>')
