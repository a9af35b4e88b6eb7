"""Cases over the API: a CRM files a complaint; auditors read every case, departments the cases they work on."""
from __future__ import annotations

import pytest

from engine.records import queries
from tests.webapp.conftest import FEEDBACK_FORM
from webapp.demo import DEMO_USERS


def _start(client, data=None, **extra):
    return client.post("/api/v1/processes/quality_feedback/instances",
                       json={"data": dict(FEEDBACK_FORM) if data is None else data, **extra})


@pytest.mark.parametrize("username", ["sales.li", "sales.zhao", "admin"])
def test_members_of_the_starter_department_and_admins_file_a_case(api, engine, username):
    response = _start(api(username))
    assert response.status_code == 201, response.json
    case = response.json
    assert case["process_key"] == "quality_feedback" and case["version"] == 1 and case["status"] == "running"
    assert case["business_key"].startswith("QF") and case["ended_at"] is None
    tasks = queries.list_tasks(engine.db, instance_id=case["id"])
    assert {(t.element_id, t.department) for t in tasks} == {("Task_confirm_category", "quality"),
                                                             ("Task_register_samples", "sales")}
    [started] = [e for e in queries.audit_trail(engine.db, case["id"]) if e.kind == "instance_started"]
    assert started.actor == username and started.detail["data"]["customer"] == "杭州精工机械有限公司"


@pytest.mark.parametrize("username", ["qa.wang", "audit.ma", "owner.xu"])
def test_others_may_not_file_and_nothing_is_filed(api, engine, username):
    response = _start(api(username))
    assert response.status_code == 403
    assert response.json["message"] == "Only members of sales start 'quality_feedback' cases."
    assert queries.list_instances(engine.db) == []


def test_data_that_does_not_fit_the_start_form_is_422_with_field_errors(api, engine):
    sales = api("sales.li")
    response = _start(sales, dict(FEEDBACK_FORM, customer="", quantity_shipped="abc", characteristic="nope"))
    assert response.status_code == 422
    errors = response.json["errors"]
    assert set(errors) == {"customer", "quantity_shipped", "characteristic"}
    assert errors["quantity_shipped"] == ["Not a valid integer."]
    assert response.json["message"] == "The data does not fit the start form; nothing was filed."
    missing = sales.post("/api/v1/processes/quality_feedback/instances", json={"business_key": "X"})
    assert missing.status_code == 422 and "data" in missing.json["errors"]["json"]
    not_json = sales.post("/api/v1/processes/quality_feedback/instances", data="data=1",
                          content_type="text/plain")
    assert not_json.status_code in (415, 422) and not_json.is_json
    assert queries.list_instances(engine.db) == []


def test_a_process_not_started_by_hand_is_409_and_an_unknown_one_404(api):
    admin = api("admin")
    scheduled = admin.post("/api/v1/processes/consultation_summary/instances", json={"data": {}})
    assert scheduled.status_code == 409 and "not started by hand" in scheduled.json["message"]
    unknown = admin.post("/api/v1/processes/nothing/instances", json={"data": {}})
    assert unknown.status_code == 404 and unknown.json == {
        "code": 404, "status": "Not Found", "message": "No process 'nothing' is deployed."}


def test_a_given_business_key_is_kept(api, engine):
    response = _start(api("sales.li"), business_key="CRM-2026-0042")
    assert response.status_code == 201
    assert queries.get_instance(engine.db, response.json["id"]).business_key in ("CRM-2026-0042",
                                                                                  response.json["business_key"])


@pytest.fixture
def case(engine) -> int:
    return engine.start_instance("quality_feedback", dict(FEEDBACK_FORM), "sales.li")


@pytest.mark.parametrize("username, status", [
    ("audit.ma", 200), ("admin", 200), ("qa.wang", 200), ("qa.chen", 200),  # quality has a task in it
    ("sales.zhao", 200),  # sales registers the samples
    ("dev.liu", 403), ("ws.zheng", 403), ("owner.xu", 403),
])
def test_a_case_is_read_by_auditors_admins_its_departments_and_its_filer(api, case, username, status):
    response = api(username).get(f"/api/v1/instances/{case}")
    assert response.status_code == status
    if status == 200:
        assert response.json["id"] == case and response.json["status"] == "running"
        tasks = {t["name"]: t for t in response.json["tasks"]}
        assert set(tasks) == {"确认信息类别", "提供样机/样品并登记"}
        assert tasks["确认信息类别"]["department"] == "quality" and tasks["确认信息类别"]["state"] == "open"
        assert isinstance(response.json["sla"], list)
    else:
        assert response.json["code"] == 403 and "read it" in response.json["message"]


@pytest.mark.parametrize("username, status", [("audit.ma", 200), ("admin", 200), ("qa.wang", 200),
                                              ("dev.liu", 403), ("owner.xu", 403)])
def test_audit_events_follow_the_same_rule(api, case, username, status):
    response = api(username).get(f"/api/v1/instances/{case}/events")
    assert response.status_code == status
    if status == 200:
        kinds = [e["kind"] for e in response.json]
        assert kinds[0] == "instance_started"
        first = response.json[0]
        assert first["actor"] == "sales.li" and first["detail"]["data"]["batch_no"] == "B2611-07"
        assert first["at"].startswith("2026-11-16T01:00:00")


def test_whoever_filed_a_case_reads_it_without_a_task_in_it(api):
    """After-sales takes a technical consultation that technical support answers: the filer still reads it."""
    consultation = {"customer": "华东机电有限公司", "contact": "王经理 138-0000-1234", "device_model": "JZ-200",
                    "serial_no": "JZ200-2026-0815", "channel": "phone", "question": "主轴报警 E21 如何复位？"}
    filer = api("svc.huang")
    response = filer.post("/api/v1/processes/technical_consultation/instances", json={"data": consultation})
    assert response.status_code == 201, response.json
    case = response.json["id"]
    detail = filer.get(f"/api/v1/instances/{case}")
    assert detail.status_code == 200
    [department] = {t["department"] for t in detail.json["tasks"]}
    assert department != "after_sales"
    assert api("svc.lin").get(f"/api/v1/instances/{case}").status_code == 403  # a colleague did not file it
    worker = next(u.username for u in DEMO_USERS if department in u.departments)
    assert api(worker).get(f"/api/v1/instances/{case}/events").status_code == 200


def test_an_unknown_case_is_404(api):
    auditor = api("audit.ma")
    for url in ("/api/v1/instances/999", "/api/v1/instances/999/events", "/api/v1/instances/99999999999"):
        response = auditor.get(url)
        assert response.status_code == 404 and response.is_json


@pytest.mark.parametrize("username, status", [("audit.ma", 200), ("admin", 200), ("qa.wang", 403),
                                              ("owner.xu", 403)])
def test_auditors_and_admins_list_the_latest_cases(api, engine, case, username, status):
    engine.start_instance("repair", {"customer": "华东机电", "contact": "张工 13800000000", "serial_no": "SN-1",
                                     "agreed_response_hours": 4, "fault_description": "不启动",
                                     "site_address": "杭州", "region": "华东"}, "svc.huang")
    response = api(username).get("/api/v1/instances?process=quality_feedback")
    assert response.status_code == status
    if status == 200:
        assert [c["id"] for c in response.json] == [case]
        assert len(api(username).get("/api/v1/instances?limit=1").json) == 1
