"""Issue 17 item 20 (b): a handler step that fails the same way on every retry (a number the database
cannot store, data the engine cannot keep) becomes an incident after the configured attempts: the worker
stops retrying it, the incident stays open with no next retry, and /modeler/incidents says why in words,
not in a traceback. It used to be retried at every worker round when the failure came after the handler
(at the command's save): the rollback took the incident's attempt counter with it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from engine.handler_api import HandlerRegistry
from engine.records import queries
from engine.runtime.engine_core import EngineSettings
from engine.runtime.workflow_engine import WorkflowEngine
from engine.storage.models import AuditEvent, Incident
from tests.webapp.conftest import UserClient
from webapp import create_app
from webapp.demo import seed_demo_users

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="Definitions_store" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="store_number" name="登记数量" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="Task_store" name="登记" camunda:type="external" camunda:topic="test.store">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:userTask id="Task_check" name="核对" camunda:candidateGroups="quality">
      <bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="End_1"><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_store" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_store" targetRef="Task_check" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Task_check" targetRef="End_1" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1"><bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="store_number">
    <bpmndi:BPMNShape id="S1" bpmnElement="StartEvent_1"><dc:Bounds x="152" y="102" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="S2" bpmnElement="Task_store"><dc:Bounds x="240" y="80" width="100" height="80" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="S3" bpmnElement="Task_check"><dc:Bounds x="400" y="80" width="100" height="80" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="S4" bpmnElement="End_1"><dc:Bounds x="552" y="102" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="E1" bpmnElement="Flow_1"><di:waypoint x="188" y="120" /><di:waypoint x="240" y="120" /></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="E2" bpmnElement="Flow_2"><di:waypoint x="340" y="120" /><di:waypoint x="400" y="120" /></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="E3" bpmnElement="Flow_3"><di:waypoint x="500" y="120" /><di:waypoint x="552" y="120" /></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
BY_HAND_ONLY = "仅手动"  # the "next retry" column
SETTINGS = EngineSettings()  # backoff 1 min, 5 min: three attempts in all


def build(database, clock, handler) -> WorkflowEngine:
    registry = HandlerRegistry()
    registry.handler("test.store")(handler)
    engine = WorkflowEngine(database, registry, clock=clock, settings=SETTINGS)
    engine.deploy(DIAGRAM.encode(), "owner.xu")
    return engine


def store_huge_number(ctx):
    """What the P1 probe did: a quantity of 10^30 written to an integer column (SQLite: OverflowError;
    PostgreSQL: integer out of range)."""
    ctx.session.execute(text("SELECT CAST(:quantity AS INTEGER)"), {"quantity": 10**30}).all()
    return {}


def calls_then(result_after_first_failure):
    """Fails once inside the handler (an ordinary incident), then hands back data that cannot be saved."""
    calls = []

    def handler(ctx):
        calls.append(ctx.now)
        if len(calls) == 1:
            raise ConnectionError("ERP is not answering")
        return result_after_first_failure
    handler.calls = calls
    return handler


def the_incident(engine) -> Incident:
    with engine.db.sessions() as session:
        [incident] = session.scalars(select(Incident)).all()
        return incident


def retries(engine) -> int:
    with engine.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.kind == "incident_retried"))


def run_worker_for_a_day(engine, clock) -> None:
    for _ in range(24 * 6):
        clock.advance(timedelta(minutes=10))
        engine.worker_tick()


def test_numeric_overflow_stops_after_the_configured_attempts(database, clock, staff):
    engine = build(database, clock, store_huge_number)
    instance_id = engine.start_instance("store_number", {}, "sales.li")
    assert the_incident(engine).next_retry_at is not None
    run_worker_for_a_day(engine, clock)
    incident = the_incident(engine)
    assert (incident.status, incident.attempts, incident.next_retry_at) == ("open", SETTINGS.max_handler_attempts,
                                                                            None)
    assert retries(engine) == SETTINGS.max_handler_attempts - 1
    assert "数值超出可保存的范围" in incident.error and "Traceback" not in incident.error
    assert queries.get_instance(engine.db, instance_id).status == "running"


@pytest.mark.parametrize("result", [{"seen": {1, 2}}, {"ratio": float("nan")}, {"ratio": float("inf")}])
def test_data_the_engine_cannot_keep_is_counted_and_stops(database, clock, staff, result):
    handler = calls_then(result)
    engine = build(database, clock, handler)
    engine.start_instance("store_number", {}, "sales.li")
    run_worker_for_a_day(engine, clock)
    incident = the_incident(engine)
    assert (incident.status, incident.attempts, incident.next_retry_at) == ("open", SETTINGS.max_handler_attempts,
                                                                            None)
    assert len(handler.calls) == SETTINGS.max_handler_attempts  # not once per worker round
    assert "无法保存" in incident.error


def test_a_retry_failing_after_its_handler_is_counted(database, clock, staff, monkeypatch):
    """Whatever fails after the handler ran (here: the save of the case) counts as an attempt."""
    engine = build(database, clock, calls_then({}))
    engine.start_instance("store_number", {}, "sales.li")

    def broken_save(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(engine, "_save", broken_save)
    run_worker_for_a_day(engine, clock)
    incident = the_incident(engine)
    assert (incident.attempts, incident.next_retry_at) == (SETTINGS.max_handler_attempts, None)
    assert "disk full" in incident.error


def test_incidents_page_says_why_and_that_only_a_person_retries_it(database, clock):
    engine = build(database, clock, store_huge_number)
    engine.start_instance("store_number", {}, "sales.li")
    run_worker_for_a_day(engine, clock)
    app = create_app(engine, {"TESTING": True, "SECRET_KEY": "test-secret-" + "x" * 32, "WTF_CSRF_ENABLED": True})
    seed_demo_users(app.extensions["aftersales.directory"])
    owner = UserClient(app.test_client())
    assert owner.login("owner.xu").status_code == 302
    page = owner.text("/modeler/incidents")
    assert "数值超出可保存的范围" in page and BY_HAND_ONLY in page
    assert "Traceback" not in page and "File \"" not in page
