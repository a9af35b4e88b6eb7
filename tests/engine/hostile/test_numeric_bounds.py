"""Issue 17 item 20 (a): every number a form takes has a range, so 10^30 on a start form is an invalid form
naming the field, not a case that sticks on a handler that can never store it. The range is the diagram's
min/max, else ±1,000,000,000 (engine.diagrams.forms.NUMBER_LIMIT); decimals must also be finite."""
from __future__ import annotations

import pytest

from engine.diagrams.catalog import DiagramError
from engine.diagrams.forms import NUMBER_LIMIT, InvalidForm
from engine.records import queries
from engine.storage.models import Incident
from tests.engine.deploy_checks import deploying_engine, stored
from tests.webapp.api_client import api  # noqa: F401
from tests.webapp.conftest import FEEDBACK_FORM, app, as_user, engine  # noqa: F401  (web fixtures)

HUGE = 10**30

FORM_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_bounds" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="bounds" name="数值范围" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="登记">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="fee" label="费用（元）" type="double" />
          <camunda:formField id="rating" label="评分" type="long">
            <camunda:validation><camunda:constraint name="min" config="1" /><camunda:constraint name="max" config="5" /></camunda:validation>
          </camunda:formField>
          {extra}
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="Task_check" name="核对" camunda:candidateGroups="quality">
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="End_1"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_check" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_check" targetRef="End_1" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1"><bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="bounds">
    <bpmndi:BPMNShape id="S1" bpmnElement="StartEvent_1"><dc:Bounds x="152" y="102" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="S2" bpmnElement="Task_check"><dc:Bounds x="240" y="80" width="100" height="80" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="S3" bpmnElement="End_1"><dc:Bounds x="402" y="102" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="E1" bpmnElement="Flow_1"><di:waypoint x="188" y="120" /><di:waypoint x="240" y="120" /></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="E2" bpmnElement="Flow_2"><di:waypoint x="340" y="120" /><di:waypoint x="402" y="120" /></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def diagram(extra: str = "") -> bytes:
    return FORM_DIAGRAM.replace("{extra}", extra).encode()


def refused(deployer, values: dict) -> dict[str, list[str]]:
    with pytest.raises(InvalidForm) as invalid:
        deployer.start_instance("bounds", values, "sales.li")
    return invalid.value.errors


def test_p1_quantity_of_10_to_the_30_is_refused_and_files_nothing(engine):  # noqa: F811
    errors = refused_p1(engine, quantity_shipped=str(HUGE))
    assert list(errors) == ["quantity_shipped"]
    assert queries.list_instances(engine.db) == []
    with engine.db.sessions() as session:
        assert session.query(Incident).count() == 0


def refused_p1(engine, **overrides) -> dict[str, list[str]]:  # noqa: F811
    with pytest.raises(InvalidForm) as invalid:
        engine.start_instance("quality_feedback", dict(FEEDBACK_FORM, **overrides), "sales.li")
    return invalid.value.errors


def test_the_limit_itself_is_accepted(engine):  # noqa: F811
    instance_id = engine.start_instance("quality_feedback", dict(FEEDBACK_FORM, quantity_shipped=str(NUMBER_LIMIT)),
                                        "sales.li")
    assert queries.get_instance(engine.db, instance_id).status == "running"
    assert list(refused_p1(engine, quantity_shipped=str(NUMBER_LIMIT + 1))) == ["quantity_shipped"]
    # The diagram's own bound (min 0) still says what it said.
    assert refused_p1(engine, quantity_nonconforming="-1") == {
        "quantity_nonconforming": ["Must be greater than or equal to 0."]}


def test_web_start_form_names_the_field_in_chinese(engine, as_user):  # noqa: F811
    response = as_user("sales.li").post("/new/quality_feedback", dict(FEEDBACK_FORM, quantity_shipped=str(HUGE)))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "发货数量：不能大于 1,000,000,000。" in page
    assert "Traceback" not in page and "less than or equal" not in page
    assert queries.list_instances(engine.db) == []


def test_web_task_form_names_the_field_and_nothing_changes(engine, as_user):  # noqa: F811
    instance_id = engine.start_instance("quality_feedback", dict(FEEDBACK_FORM), "sales.li")
    task = next(t for t in queries.list_tasks(engine.db, instance_id=instance_id)
                if t.element_id == "Task_confirm_category")
    engine.complete_task(task.id, "qa.wang", {"category": "important"})
    sales = as_user("sales.li")
    samples = next(t for t in queries.list_tasks(engine.db, instance_id=instance_id)
                   if t.element_id == "Task_register_samples")
    before = queries.audit_trail(engine.db, instance_id)
    response = sales.post(f"/tasks/{samples.id}/complete", {
        "sample_name": "退回样机", "sample_spec": "JZ-200", "supplier": "本公司", "arrival_time": "2026-11-16",
        "custodian": "李雷", "sample_quantity": str(-HUGE), "sample_source": "customer_return"})
    assert response.status_code == 422
    assert "数量：" in response.get_data(as_text=True)
    assert queries.get_task(engine.db, samples.id).state == "open"
    assert queries.audit_trail(engine.db, instance_id) == before


def test_api_refuses_with_the_field_named(engine, api):  # noqa: F811
    response = api("sales.li").post("/api/v1/processes/quality_feedback/instances",
                                    json={"data": dict(FEEDBACK_FORM, quantity_shipped=HUGE)})
    assert response.status_code == 422
    body = response.get_json()
    assert "quantity_shipped" in str(body) and "1000000000" in str(body)
    assert queries.list_instances(engine.db) == []


def test_decimals_are_finite_and_bounded(database, clock):
    deployer = deploying_engine(database, clock)
    deployer.deploy(diagram(), "owner.xu")
    for value in ("1e400", "inf", "-Infinity", "nan", "1e15", str(-HUGE)):
        assert list(refused(deployer, {"fee": value, "rating": "3"})) == ["fee"], value
    assert list(refused(deployer, {"fee": "12.5", "rating": str(HUGE)})) == ["rating"]
    deployer.start_instance("bounds", {"fee": "999999999.99", "rating": "5"}, "sales.li")


def test_readable_messages_name_the_field_and_the_range(app):  # noqa: F811
    from webapp.task_forms import readable_errors

    form = {"fields": [{"id": "fee", "label": "费用（元）", "label_en": "Fee"}]}
    with app.test_request_context():
        assert readable_errors({"fee": ["Must be greater than or equal to -1000000000 and less than or equal to "
                                        "1000000000."]}, form) == {"fee": ["费用（元）：请输入 -1,000,000,000 至 "
                                                                          "1,000,000,000 之间的值。"]}
        assert readable_errors({"fee": ["Special numeric values (nan or infinity) are not permitted."]}, form) == {
            "fee": ["费用（元）：请输入有限的数值（不能是无穷大或非数）。"]}


@pytest.mark.parametrize("extra, says", [
    ('<camunda:formField id="count" label="数量" type="long"><camunda:validation>'
     '<camunda:constraint name="max" config="1e12" /></camunda:validation></camunda:formField>', "beyond"),
    ('<camunda:formField id="count" label="数量" type="double"><camunda:validation>'
     '<camunda:constraint name="min" config="nan" /></camunda:validation></camunda:formField>', "finite"),
    ('<camunda:formField id="note" label="备注" type="string"><camunda:validation>'
     '<camunda:constraint name="max" config="5" /></camunda:validation></camunda:formField>', "number fields"),
    ('<camunda:formField id="count" label="数量" type="long"><camunda:validation>'
     '<camunda:constraint name="min" config="9" /><camunda:constraint name="max" config="1" />'
     '</camunda:validation></camunda:formField>', "greater than"),
])
def test_deploy_refuses_bounds_no_form_can_keep(database, clock, extra, says):
    deployer = deploying_engine(database, clock)
    before = stored(deployer)
    with pytest.raises(DiagramError) as err:
        deployer.deploy(diagram(extra), "owner.xu")
    assert says in str(err.value) and ("'count'" in str(err.value) or "'note'" in str(err.value))
    assert stored(deployer) == before
