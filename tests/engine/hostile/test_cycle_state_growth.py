"""Issue 17 item 8 (run-time part): a recurring timer (a cycle on a non-interrupting boundary) fires for as
long as its activity stays open; each firing used to leave its finished path in the saved task tree, so a
case waiting a long time grew its state (and load time) without bound. Fired occurrences are forgotten
like any other finished loop, so the state stops growing."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.handler_api import HandlerRegistry
from engine.records import queries
from engine.storage.models import ProcessInstance

CYCLE_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="Definitions_cycle" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="cycle_growth" name="定时提醒" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_wait" name="处理" camunda:candidateGroups="quality">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="End_done"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:boundaryEvent id="Timer_remind" name="每分钟" cancelActivity="false" attachedToRef="Task_wait">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="sla_kind" value="duty" />
        <camunda:property name="sla_name" value="每分钟提醒" />
      </camunda:properties></bpmn:extensionElements>
      <bpmn:outgoing>Flow_3</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerDef_1"><bpmn:timeCycle>R/PT1M</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:serviceTask id="Task_remind" name="提醒" camunda:type="external" camunda:topic="test.remind">
      <bpmn:incoming>Flow_3</bpmn:incoming><bpmn:outgoing>Flow_4</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="End_reminded"><bpmn:incoming>Flow_4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_wait" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_wait" targetRef="End_done" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Timer_remind" targetRef="Task_remind" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Task_remind" targetRef="End_reminded" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1"><bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="cycle_growth">
    <bpmndi:BPMNShape id="S1" bpmnElement="StartEvent_1"><dc:Bounds x="152" y="102" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="S2" bpmnElement="Task_wait"><dc:Bounds x="240" y="80" width="100" height="80" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="S3" bpmnElement="End_done"><dc:Bounds x="402" y="102" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="S4" bpmnElement="Timer_remind"><dc:Bounds x="292" y="142" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="S5" bpmnElement="Task_remind"><dc:Bounds x="370" y="220" width="100" height="80" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="S6" bpmnElement="End_reminded"><dc:Bounds x="532" y="242" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="E1" bpmnElement="Flow_1"><di:waypoint x="188" y="120" /><di:waypoint x="240" y="120" /></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="E2" bpmnElement="Flow_2"><di:waypoint x="340" y="120" /><di:waypoint x="402" y="120" /></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="E3" bpmnElement="Flow_3"><di:waypoint x="310" y="178" /><di:waypoint x="370" y="260" /></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="E4" bpmnElement="Flow_4"><di:waypoint x="470" y="260" /><di:waypoint x="532" y="260" /></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
MINUTE = timedelta(minutes=1)


@pytest.fixture
def reminders() -> list[int]:
    return []


@pytest.fixture
def engine(make_engine, staff, reminders):
    registry = HandlerRegistry()

    @registry.handler("test.remind")
    def remind(ctx):
        reminders.append(ctx.instance_id)
        return {"reminded": len(reminders)}
    engine = make_engine(registry)
    engine.deploy(CYCLE_DIAGRAM.encode(), "owner.xu")
    return engine


def state_size(engine, instance_id: int) -> int:
    with engine.db.sessions() as session:
        return len(session.get(ProcessInstance, instance_id).state)


def start(engine, clock) -> int:
    instance_id = engine.start_instance("cycle_growth", {}, "sales.li")
    clock.advance(timedelta(seconds=1))  # each later minute passes one occurrence's due time
    return instance_id


def fire(engine, clock, times: int) -> None:
    for _ in range(times):
        clock.advance(MINUTE)
        engine.fire_due_timers()


def test_state_stops_growing_after_many_firings(engine, clock, reminders):
    instance_id = start(engine, clock)
    fire(engine, clock, 20)
    after_20 = state_size(engine, instance_id)
    fire(engine, clock, 180)
    after_200 = state_size(engine, instance_id)
    assert len(reminders) == 200  # every occurrence fired and ran its step
    assert after_200 <= after_20 + 1024, (after_20, after_200)


def test_the_case_still_finishes_and_the_cycle_stops_with_its_activity(engine, clock, reminders):
    instance_id = start(engine, clock)
    fire(engine, clock, 30)
    [task] = queries.list_tasks(engine.db, instance_id=instance_id)
    engine.complete_task(task.id, "qa.wang", {})
    assert queries.get_instance(engine.db, instance_id).status == "completed"
    fire(engine, clock, 3)
    assert len(reminders) == 30
