"""The process owners' area: process and version list, the modeller page, deploy from the modeller,
upload, download, incidents and retry, each against every kind of user; a bad diagram changes nothing."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest

from engine.handler_api import HandlerContext, HandlerRegistry
from engine.modelling.process_versions import list_process_versions
from engine.notifications.outbox import FileTransport
from engine.records import queries
from engine.runtime.workflow_engine import WorkflowEngine
from handlers import build_registry
from tests.conftest import PROCESSES

OWNER, ADMIN, AUDITOR, DEPARTMENT_USER = "owner.xu", "admin", "audit.ma", "sales.li"
CONSULTATION = (PROCESSES / "technical_consultation.bpmn").read_bytes()
SIMPLE_REVIEW = (Path(__file__).resolve().parents[1] / "engine" / "diagrams" / "simple_review.bpmn").read_bytes()
CONSULTATION_FORM = {"customer": "华东机电有限公司", "contact": "王经理 138-0000-1234", "contact_email": None,
                     "device_model": "JZ-200", "serial_no": "JZ200-2026-0815", "channel": "phone",
                     "question": "更换刀具后主轴报警 E21 如何复位？"}


class FlakyErp:
    """The test handlers of simple_review.bpmn; `failures` makes the first step fail that many times."""

    def __init__(self) -> None:
        self.failures = 0

    def registry(self) -> HandlerRegistry:
        registry = HandlerRegistry()

        @registry.handler("test.prepare")
        def prepare(ctx: HandlerContext):
            if self.failures > 0:
                self.failures -= 1
                raise RuntimeError("the ERP is not answering")
            return {"prepared": True}

        @registry.handler("test.escalate")
        def escalate(ctx: HandlerContext):
            return {}

        @registry.handler("test.finish")
        def finish(ctx: HandlerContext):
            return {"finished": True}
        return registry


@pytest.fixture
def erp() -> FlakyErp:
    return FlakyErp()


@pytest.fixture
def engine(database, clock, outbox_file, erp) -> WorkflowEngine:
    """Every process of processes/ plus a small review process whose first handler can be made to fail."""
    engine = WorkflowEngine(database, build_registry().include(erp.registry()), clock=clock,
                            transport=FileTransport(outbox_file))
    engine.deploy_directory(PROCESSES, "test")
    engine.deploy(SIMPLE_REVIEW, "test", "simple_review.bpmn")
    return engine


def versions_of(engine, process_key: str) -> list[int]:
    [process] = [p for p in list_process_versions(engine.db) if p.process_key == process_key]
    return [v.version for v in process.versions]


def post_xml(user, url: str, body: bytes):
    if user.token is None:
        user.page("/modeler/")
    return user.client.post(url, data=body, content_type="application/xml",
                            headers={"X-CSRFToken": user.token or ""})


def upload(user, content: bytes, filename: str = "diagram.bpmn"):
    return user.post("/modeler/upload", {"diagram": (io.BytesIO(content), filename)},
                     content_type="multipart/form-data")


def open_incident(engine, erp) -> int:
    erp.failures = 5
    engine.start_instance("simple_review", {"customer": "华东机电", "amount": 5}, "sales.li")
    [incident] = queries.list_incidents(engine.db)
    return incident.id


# -- who may use the area ------------------------------------------------------------------------------

PAGES = ["/modeler/", "/modeler/technical_consultation/edit", "/modeler/technical_consultation/versions/1.bpmn",
         "/modeler/incidents", "/modeler/new", "/modeler/new?key=spare_parts&name=备件申请",
         "/modeler/new.bpmn?key=spare_parts&name=备件申请"]


@pytest.mark.parametrize("url", PAGES)
def test_process_owners_and_admins_open_every_page(as_user, url):
    for username in (OWNER, ADMIN):
        assert as_user(username).page(url).status_code == 200, username


@pytest.mark.parametrize("url", PAGES)
def test_auditors_and_department_users_are_refused(as_user, url):
    for username in (AUDITOR, DEPARTMENT_USER):
        assert as_user(username).page(url).status_code == 403, username


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(app, url):
    response = app.test_client().get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_nobody_else_deploys_uploads_or_retries(engine, erp, as_user, app):
    incident_id = open_incident(engine, erp)
    changed = CONSULTATION.replace(b">PT30M<", b">PT45M<")
    for username in (AUDITOR, DEPARTMENT_USER):
        user = as_user(username)
        assert post_xml(user, "/modeler/deploy", changed).status_code == 403
        assert upload(user, changed).status_code == 403
        assert user.post(f"/modeler/incidents/{incident_id}/retry").status_code == 403
    anonymous = app.test_client()
    assert anonymous.post("/modeler/deploy", data=changed).status_code in (302, 400)  # login or CSRF refusal
    assert versions_of(engine, "technical_consultation") == [1]
    assert queries.list_incidents(engine.db)[0].attempts == 1


def test_deploy_without_csrf_token_is_refused(engine, as_user):
    user = as_user(OWNER)
    response = user.client.post("/modeler/deploy", data=CONSULTATION.replace(b">PT30M<", b">PT45M<"),
                                content_type="application/xml")
    assert response.status_code == 400
    assert versions_of(engine, "technical_consultation") == [1]


# -- the list ------------------------------------------------------------------------------------------

def test_list_shows_every_process_with_its_versions_deployer_and_running_cases(engine, as_user, clock):
    engine.start_instance("technical_consultation", dict(CONSULTATION_FORM), "svc.huang")
    clock.advance(timedelta(hours=1))
    engine.deploy(CONSULTATION.replace(b">PT30M<", b">PT45M<"), "owner.xu", "technical_consultation.bpmn")
    engine.start_instance("technical_consultation", dict(CONSULTATION_FORM), "svc.huang")
    engine.start_instance("technical_consultation", dict(CONSULTATION_FORM), "svc.huang")
    html = as_user(OWNER).text("/modeler/")
    body = re.search(r'<tbody class="process" data-process-key="technical_consultation">(.*?)</tbody>', html, re.S)[1]
    v2, v1 = re.findall(r'<tr class="version[^"]*" data-version="(\d)">(.*?)</tr>', body, re.S)
    assert v2[0] == "2" and ">徐涛<" in v2[1] and "2026-11-16 10:00" in v2[1]  # the deployer by name
    assert '<td class="running">2</td>' in v2[1]
    assert v1[0] == "1" and ">test<" in v1[1] and "2026-11-16 09:00" in v1[1]
    assert '<td class="running">1</td>' in v1[1]
    assert "/modeler/technical_consultation/versions/1.bpmn" in body
    assert "/modeler/technical_consultation/versions/2.bpmn" in body
    assert "/modeler/technical_consultation/edit" in body
    for path in PROCESSES.glob("*.bpmn"):
        assert f'data-process-key="{path.stem}"' in html


# -- download and the modeller page --------------------------------------------------------------------

def test_download_gives_the_stored_bytes_as_a_bpmn_file(as_user):
    response = as_user(OWNER).page("/modeler/technical_consultation/versions/1.bpmn")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"] == 'attachment; filename="technical_consultation_v1.bpmn"'
    assert response.get_data() == CONSULTATION


def test_download_of_an_unknown_version_is_not_found(as_user):
    owner = as_user(OWNER)
    assert owner.page("/modeler/technical_consultation/versions/9.bpmn").status_code == 404
    assert owner.page("/modeler/no_such_process/edit").status_code == 404


def test_modeller_page_loads_everything_from_static_files_and_relaxes_only_styles(as_user):
    owner = as_user(OWNER)
    response = owner.page("/modeler/technical_consultation/edit")
    html = response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self' 'unsafe-inline'" in csp
    assert "<script>" not in html and "http://" not in html and "https://" not in html
    for asset in ("vendor/bpmn-js/bpmn-modeler.production.min.js",
                  "vendor/properties-panel/bpmn-js-properties-panel.umd.js", "modeler.js",
                  "vendor/camunda-moddle/camunda.json", "vendor/properties-panel/properties-panel.css"):
        assert f"/static/{asset}" in html
    assert 'data-diagram-url="/modeler/technical_consultation/versions/1.bpmn"' in html
    assert 'data-csrf-token="' in html
    # Every other page keeps the strict policy.
    assert "unsafe-inline" not in owner.page("/modeler/").headers["Content-Security-Policy"]


# -- deploy from the modeller --------------------------------------------------------------------------

def test_deploy_of_a_changed_diagram_makes_a_new_version_that_new_cases_use(engine, as_user, clock):
    owner = as_user(OWNER)
    response = post_xml(owner, "/modeler/deploy?filename=technical_consultation.bpmn",
                        CONSULTATION.replace(b">PT30M<", b">PT45M<"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["ok"] and response.json["created"] and response.json["version"] == 2
    assert "版本 2" in response.json["message"]
    assert versions_of(engine, "technical_consultation") == [2, 1]
    assert "版本 2" in owner.text("/modeler/")
    [event] = queries.audit_trail(engine.db, kind="deployed")[-1:]
    assert event.actor == OWNER and event.detail["version"] == 2
    instance_id = engine.start_instance("technical_consultation", dict(CONSULTATION_FORM), "svc.huang")
    [task] = queries.list_tasks(engine.db, instance_id=instance_id)
    assert task.due_at == clock.now() + timedelta(minutes=45)


def test_deploy_of_the_same_diagram_says_unchanged(engine, as_user):
    response = post_xml(as_user(OWNER), "/modeler/deploy", CONSULTATION)
    assert response.status_code == 200
    assert response.json["created"] is False and response.json["version"] == 1
    assert "没有变化" in response.json["message"]
    assert versions_of(engine, "technical_consultation") == [1]


BAD_DIAGRAMS = [
    ("malformed XML", CONSULTATION[:-40], "not well-formed XML", None),
    ("not BPMN", b'<?xml version="1.0"?><html><body>hello</body></html>', "not bpmn:definitions", None),
    ("not UTF-8", CONSULTATION.replace("客户".encode(), "客户".encode("gbk"), 1), "", None),
    ("bad timer", CONSULTATION.replace(b">PT30M<", b">PT30 minutes<"), "bad timer", "Timer_answer"),
    ("unknown topic", CONSULTATION.replace(b'camunda:topic="consultations.register"',
                                           b'camunda:topic="consultations.nobody"'),
     "no handler is registered for topic 'consultations.nobody'", "Task_register"),
]
# What the Chinese page says for each (the English `problem` above is the JSON's and the CLI's text).
BAD_DIAGRAMS_ZH = {"malformed XML": "不是格式正确的 XML", "not BPMN": "根元素不是 bpmn:definitions", "not UTF-8": "",
                   "bad timer": "定时器有误", "unknown topic": "主题“consultations.nobody”没有注册处理程序"}


@pytest.mark.parametrize("label,body,problem,element_id", BAD_DIAGRAMS, ids=[b[0] for b in BAD_DIAGRAMS])
def test_bad_diagram_is_refused_with_the_problem_and_element_and_nothing_stored(engine, as_user, label, body,
                                                                               problem, element_id):
    events = len(queries.audit_trail(engine.db))
    response = post_xml(as_user(OWNER), "/modeler/deploy", body)
    assert response.status_code == 400
    assert response.json["ok"] is False
    assert problem.lower() in response.json["problem"].lower()
    assert response.json["element_id"] == element_id
    assert versions_of(engine, "technical_consultation") == [1]
    assert len(queries.audit_trail(engine.db)) == events


# -- upload --------------------------------------------------------------------------------------------

def test_upload_of_a_camunda_modeler_file_deploys_it(engine, as_user):
    owner = as_user(OWNER)
    response = upload(owner, CONSULTATION.replace(b">PT30M<", b">PT1H<"), "technical_consultation.bpmn")
    assert response.status_code == 302
    html = owner.text("/modeler/")
    assert "technical_consultation" in html and "版本 2" in html
    assert versions_of(engine, "technical_consultation") == [2, 1]
    assert queries.audit_trail(engine.db, kind="deployed")[-1].detail["file"] == "technical_consultation.bpmn"


def test_upload_of_an_unchanged_file_says_so(engine, as_user):
    owner = as_user(OWNER)
    upload(owner, CONSULTATION, "technical_consultation.bpmn")
    assert "没有变化" in owner.text("/modeler/")
    assert versions_of(engine, "technical_consultation") == [1]


@pytest.mark.parametrize("label,body,problem,element_id", BAD_DIAGRAMS, ids=[b[0] for b in BAD_DIAGRAMS])
def test_bad_upload_shows_the_error_and_stores_nothing(engine, as_user, label, body, problem, element_id):
    response = upload(as_user(OWNER), body, "broken.bpmn")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "broken.bpmn" in html and 'class="flash error"' in html
    if problem:
        assert BAD_DIAGRAMS_ZH[label] in html
    if element_id:
        assert element_id in html
    assert versions_of(engine, "technical_consultation") == [1]


def test_upload_without_a_file_asks_for_one(engine, as_user):
    response = as_user(OWNER).post("/modeler/upload", {}, content_type="multipart/form-data")
    assert response.status_code == 400 and "请选择要上传的 .bpmn 文件" in response.get_data(as_text=True)



def test_an_oversized_diagram_is_refused_before_it_is_read_and_nothing_is_stored(engine, as_user):
    owner = as_user(OWNER)
    padded = CONSULTATION.replace(b"</bpmn:definitions>", b"<!--" + b"x" * (6 * 1024 * 1024) + b"--></bpmn:definitions>")
    for response in (upload(owner, padded, "huge.bpmn"),
                     post_xml(owner, "/modeler/deploy?filename=huge.bpmn", padded)):
        assert response.status_code == 413
        assert "文件过大" in response.get_data(as_text=True)
    assert versions_of(engine, "technical_consultation") == [1]

# -- incidents -----------------------------------------------------------------------------------------

def test_incident_list_shows_the_failed_step_and_retry_resolves_it(engine, erp, as_user):
    incident_id = open_incident(engine, erp)
    owner = as_user(OWNER)
    html = owner.text("/modeler/incidents")
    row = re.search(rf'<tr class="incident" data-incident-id="{incident_id}">(.*?)</tr>', html, re.S)[1]
    for text in ("简单评审", "Task_prepare", "test.prepare", "the ERP is not answering", "<td>1</td>"):
        assert text in row
    erp.failures = 1
    response = owner.post(f"/modeler/incidents/{incident_id}/retry", follow_redirects=True)
    assert "再次失败" in response.get_data(as_text=True)
    assert queries.list_incidents(engine.db)[0].attempts == 2
    response = owner.post(f"/modeler/incidents/{incident_id}/retry", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已解决" in html and "没有未处理的异常" in html
    assert queries.list_incidents(engine.db) == []
    [task] = [t for t in queries.list_tasks(engine.db) if t.process_key == "simple_review"]
    assert task.name == "评审"
    retried = [e for e in queries.audit_trail(engine.db, kind="incident_retried")]
    assert [e.actor for e in retried] == [OWNER, OWNER]


def test_retry_of_a_resolved_or_unknown_incident(engine, erp, as_user):
    incident_id = open_incident(engine, erp)
    erp.failures = 0
    owner = as_user(OWNER)
    owner.post(f"/modeler/incidents/{incident_id}/retry")
    response = owner.post(f"/modeler/incidents/{incident_id}/retry", follow_redirects=True)
    assert "已不在处理中" in response.get_data(as_text=True)
    assert owner.post("/modeler/incidents/999999/retry").status_code == 404


def test_retry_without_csrf_token_is_refused(engine, erp, as_user):
    incident_id = open_incident(engine, erp)
    response = as_user(ADMIN).post(f"/modeler/incidents/{incident_id}/retry", csrf=False)
    assert response.status_code == 400
    assert queries.list_incidents(engine.db)[0].attempts == 1


# -- a new process -------------------------------------------------------------------------------------

def test_new_process_starts_from_a_minimal_diagram_that_deploys_as_version_1(engine, as_user):
    owner = as_user(OWNER)
    assert 'name="key"' in owner.text("/modeler/new")
    page = owner.page("/modeler/new?key=spare_parts&name=备件申请")
    html = page.get_data(as_text=True)
    assert "备件申请" in html and "unsafe-inline" in page.headers["Content-Security-Policy"]
    assert 'data-diagram-url="/modeler/new.bpmn?key=spare_parts&amp;name=' in html
    starter = owner.page("/modeler/new.bpmn?key=spare_parts&name=备件申请%3C%26")
    assert starter.mimetype == "application/xml"
    response = post_xml(owner, "/modeler/deploy?filename=spare_parts.bpmn", starter.get_data())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert (response.json["process_key"], response.json["version"]) == ("spare_parts", 1)
    [process] = [p for p in list_process_versions(engine.db) if p.process_key == "spare_parts"]
    assert process.name == "备件申请<&" and process.latest.deployed_by == OWNER


@pytest.mark.parametrize("query,message", [
    ("key=2fast&name=x", "须以字母开头"),
    ("key=bad key&name=x", "须以字母开头"),
    ("key=technical_consultation&name=x", "已存在"),
    ("key=spare_parts&name=", "请填写流程名称"),
])
def test_new_process_needs_a_free_key_and_a_name(engine, as_user, query, message):
    response = as_user(OWNER).page(f"/modeler/new?{query}")
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
