"""The auditor's instance page: who may open it, what it shows (header, path taken, timeline with the data
submitted and the data after each step, limits, incidents) and the timeline downloads."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from engine.records import queries
from tests.webapp.conftest import FEEDBACK_FORM

ROUTES = ["/audit/instances/{id}", "/audit/instances/{id}/diagram.bpmn", "/audit/instances/{id}/marks.json",
          "/audit/instances/{id}/timeline.csv", "/audit/instances/{id}/timeline.xlsx"]


@pytest.fixture
def case(engine, filed_case) -> int:
    """Filed by Sales; Quality (王强) confirmed it as important."""
    [task] = [t for t in queries.list_tasks(engine.db, instance_id=filed_case) if t.department == "quality"]
    engine.complete_task(task.id, "qa.wang", {"category": "important"})
    return filed_case


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("username,status", [("audit.ma", 200), ("admin", 200), ("qa.wang", 403),
                                             ("sales.li", 403), ("owner.xu", 403)])
def test_only_auditors_and_admins_open_a_case(as_user, case, route, username, status):
    assert as_user(username).client.get(route.format(id=case)).status_code == status


def test_anonymous_is_sent_to_sign_in(app, case):
    response = app.test_client().get(f"/audit/instances/{case}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_case_is_not_found(as_user):
    auditor = as_user("audit.ma")
    assert auditor.client.get("/audit/instances/999999").status_code == 404
    assert auditor.client.get("/audit/instances/999999/diagram.bpmn").status_code == 404
    assert auditor.client.get("/audit/instances/999999/timeline.csv").status_code == 404


def test_page_shows_the_case_its_timeline_and_the_data_after_each_step(as_user, case, engine):
    html = as_user("audit.ma").text(f"/audit/instances/{case}")
    instance = queries.get_instance(engine.db, case)
    assert "市场质量信息反馈处理" in html and instance.business_key in html
    assert 'class="version">1<' in html and "李娜" in html  # started by, by display name
    # Who, what, when and the data submitted: Quality's confirmation by 王强 with its category.
    assert "王强" in html and "任务完成" in html and "案件发起" in html
    assert "杭州精工机械有限公司" in html and "阀芯卡滞，批量退货" in html
    assert html.count('<details class="data-after">') >= 2
    completed = html[html.index('<tr class="event task_completed"'):]
    completed = completed[:completed.index("</tr>")]
    assert "王强" in completed and "重要信息" in completed  # the category submitted, by its option name
    assert '<details class="data-after">' in completed and "B2611-07" in completed  # the case data after it
    assert 'id="case-diagram"' in html and "audit_viewer.js" in html and "bpmn-navigated-viewer" in html
    assert f"/audit/instances/{case}/timeline.csv" in html and f"/audit/instances/{case}/timeline.xlsx" in html


def test_page_in_english_reads_labels_not_field_ids(as_user, case):
    auditor = as_user("audit.ma")
    auditor.post("/language", {"language": "en", "next": "/inbox"})
    html = auditor.text(f"/audit/instances/{case}")
    assert "Task completed" in html and "Case started" in html
    assert "Case data after this step" in html


def test_diagram_is_the_cases_version_and_marks_the_path(as_user, case):
    auditor = as_user("audit.ma")
    xml = auditor.client.get(f"/audit/instances/{case}/diagram.bpmn")
    assert xml.mimetype == "application/xml" and b'id="Task_confirm_category"' in xml.data
    marks = auditor.client.get(f"/audit/instances/{case}/marks.json").get_json()
    assert marks["passes"]["Task_confirm_category"] == 1 and marks["passes"]["StartEvent_feedback"] == 1
    assert "Task_register_samples" in marks["active"] and marks["breached"] == []


def test_breached_limit_is_marked_and_listed(as_user, engine, case, clock):
    [samples] = [t for t in queries.list_tasks(engine.db, instance_id=case) if t.element_id == "Task_register_samples"]
    engine.complete_task(samples.id, "sales.li", {
        "sample_name": "退回样机", "sample_spec": "HV-200", "supplier": "本公司", "arrival_time": "2026-11-16",
        "custodian": "李雷", "sample_quantity": "2", "sample_source": "customer_return"})
    clock.advance(timedelta(days=10))
    engine.fire_due_timers()
    breached = [r for r in queries.sla_records(engine.db, case) if r.status == "breached"]
    assert breached, "Quality's 3-working-day limit is missed after ten days"
    auditor = as_user("audit.ma")
    marks = auditor.client.get(f"/audit/instances/{case}/marks.json").get_json()
    assert breached[0].element_id in marks["breached"]
    assert "SubProcess_important_measures" in marks["breached"]  # the activity the timer guards
    html = auditor.text(f"/audit/instances/{case}")
    assert 'class="limit breached"' in html and breached[0].name in html


def test_timeline_csv_has_a_bom_and_a_row_per_event(as_user, case, engine):
    response = as_user("audit.ma").client.get(f"/audit/instances/{case}/timeline.csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    events = queries.audit_trail(engine.db, case)
    assert len(rows) == len(events) + 1
    completed = [r for r in rows if r[2] == "qa.wang"]
    assert completed and completed[0][1] == "王强" and '"category": "important"' in completed[0][6]
    assert rows[1][0].startswith("2026-11-16 09:00")  # Beijing time
    # ?format= reaches the same table
    assert as_user("audit.ma").client.get(f"/audit/instances/{case}/timeline?format=csv").data == response.data


def test_timeline_excel_opens_with_the_rows(as_user, case, engine):
    response = as_user("audit.ma").client.get(f"/audit/instances/{case}/timeline?format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == len(queries.audit_trail(engine.db, case)) + 1
    assert any(row[2] == "qa.wang" and row[1] == "王强" for row in rows[1:])
    assert rows[1][0].strftime("%Y-%m-%d %H:%M") == "2026-11-16 09:00"


def test_unknown_export_format_is_not_found(as_user, case):
    assert as_user("audit.ma").client.get(f"/audit/instances/{case}/timeline?format=pdf").status_code == 404


def test_incident_is_listed_with_its_error_and_attempts(as_user, engine, monkeypatch):
    from engine.storage.models import Incident
    instance_id = engine.start_instance("quality_feedback", dict(FEEDBACK_FORM), "sales.li")
    from engine.storage.unit_of_work import UnitOfWork
    with UnitOfWork(engine.db, engine.clock) as uow:
        uow.session.add(Incident(instance_id=instance_id, task_uuid="x", element_id="Task_classify",
                                 topic="feedback.classify", error="ConnectionError: ERP 不应答", attempts=2,
                                 status="open", opened_at=uow.now, last_attempt_at=uow.now, next_retry_at=uow.now))
        uow.commit()
    html = as_user("audit.ma").text(f"/audit/instances/{instance_id}")
    assert "ConnectionError: ERP 不应答" in html and '<td class="attempts">2</td>' in html
