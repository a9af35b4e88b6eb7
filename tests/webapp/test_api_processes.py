"""Processes over the API: every role lists them; owners and admins deploy; owners, auditors, admins download."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.accounts import api_tokens
from engine.modelling.process_versions import list_process_versions
from tests.conftest import PROCESSES
from tests.webapp.api_client import deactivate
from tests.webapp.conftest import FEEDBACK_FORM

FEEDBACK_BPMN = (PROCESSES / "quality_feedback.bpmn").read_bytes()
UNKNOWN_TOPIC = (Path(__file__).parents[1] / "engine" / "diagrams" / "simple_review.bpmn").read_bytes()


@pytest.mark.parametrize("username, startable", [
    ("sales.li", {"quality_feedback", "installation"}), ("qa.wang", set()), ("audit.ma", set()), ("owner.xu", set()),
    ("svc.huang", {"repair", "installation", "service_response", "feedback_improvement", "electronics_service",
                   "scheduled_maintenance", "technical_consultation"}),
])
def test_every_role_lists_the_processes_and_sees_which_it_may_start(api, username, startable):
    response = api(username).get("/api/v1/processes")
    assert response.status_code == 200
    processes = {p["process_key"]: p for p in response.json}
    assert processes["quality_feedback"]["name"] == "市场质量信息反馈处理"
    assert processes["quality_feedback"]["latest_version"] == 1
    assert processes["quality_feedback"]["starters"] == ["sales"]
    assert {key for key, p in processes.items() if p["startable"]} == startable
    fields = [f["id"] for f in processes["quality_feedback"]["start_form"]["fields"]]
    assert fields[:3] == ["customer", "product_name", "spec_model"]


def test_an_admin_may_start_every_process_with_a_start_form(api):
    processes = api("admin").get("/api/v1/processes").json
    assert {p["process_key"] for p in processes if p["startable"]} == \
        {p["process_key"] for p in processes if p["start_form"]}
    assert not next(p for p in processes if p["process_key"] == "consultation_summary")["startable"]


def test_without_a_valid_token_the_api_answers_401_with_a_challenge(api, app, engine, database):
    for client in (api(None), _raw(app, "Basic YWRtaW46ZGVtbw=="), _raw(app, "Bearer "),
                   _raw(app, "Bearer asw_not-a-real-token")):
        response = client.get("/api/v1/processes")
        assert response.status_code == 401
        assert response.is_json and response.json["code"] == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    revoked = api_tokens.issue(engine.db, engine.clock, "qa.wang", "old CRM", "admin")
    api_tokens.revoke(engine.db, engine.clock, revoked.id, "qa.wang")
    response = _raw(app, f"Bearer {revoked.token}").get("/api/v1/processes")
    assert response.status_code == 401 and "revoked" in response.json["message"]

    leaver = api_tokens.issue(engine.db, engine.clock, "dev.liu", "script", "admin")
    assert _raw(app, f"Bearer {leaver.token}").get("/api/v1/processes").status_code == 200
    deactivate(database, "dev.liu")
    assert _raw(app, f"Bearer {leaver.token}").get("/api/v1/processes").status_code == 401


def _raw(app, authorization: str):
    class Client:
        def get(self, url):
            return app.test_client().get(url, headers={"Authorization": authorization})
    return Client()


def test_a_process_shows_its_versions_with_who_deployed_them_and_running_cases(api, engine):
    engine.start_instance("quality_feedback", dict(FEEDBACK_FORM), "sales.li")
    response = api("qa.wang").get("/api/v1/processes/quality_feedback")
    assert response.status_code == 200
    [version] = response.json["versions"]
    assert version["version"] == 1 and version["deployed_by"] == "test" and version["running_instances"] == 1
    assert version["deployed_at"].startswith("2026-11-16T01:00:00")  # 09:00 Beijing, in UTC
    missing = api("qa.wang").get("/api/v1/processes/no_such_process")
    assert missing.status_code == 404 and missing.json["message"] == "No process 'no_such_process' is deployed."


@pytest.mark.parametrize("username, status", [("owner.xu", 200), ("audit.ma", 200), ("admin", 200),
                                              ("qa.wang", 403), ("sales.li", 403)])
def test_a_versions_bpmn_file_is_downloaded_by_owners_auditors_and_admins(api, username, status):
    response = api(username).get("/api/v1/processes/quality_feedback/versions/1/bpmn")
    assert response.status_code == status
    if status == 200:
        assert response.data == FEEDBACK_BPMN
        assert response.mimetype == "application/xml"
        assert 'filename="quality_feedback_v1.bpmn"' in response.headers["Content-Disposition"]
    else:
        assert response.json["message"] == "Only process owners, auditors and admins download diagrams."


def test_an_unknown_version_is_404(api):
    owner = api("owner.xu")
    assert owner.get("/api/v1/processes/quality_feedback/versions/2/bpmn").status_code == 404
    assert owner.get("/api/v1/processes/nothing/versions/1/bpmn").status_code == 404
    assert owner.get("/api/v1/processes/quality_feedback/versions/99999999999/bpmn").status_code == 404


@pytest.mark.parametrize("username", ["owner.xu", "admin"])
def test_process_owners_and_admins_deploy_a_new_version(api, engine, username):
    changed = FEEDBACK_BPMN.replace('name="市场质量信息反馈处理" isExecutable'.encode(),
                                    'name="市场质量信息反馈处理（新版）" isExecutable'.encode())
    response = api(username).post("/api/v1/processes?filename=qf.bpmn", data=changed,
                                  content_type="application/xml")
    assert response.status_code == 201, response.json
    assert response.json == {"process_key": "quality_feedback", "version": 2, "created": True}
    versions = list_process_versions(engine.db, "quality_feedback")[0].versions
    assert [(v.version, v.deployed_by, v.name) for v in versions] == \
        [(2, username, "市场质量信息反馈处理（新版）"), (1, "test", "市场质量信息反馈处理")]
    again = api(username).post("/api/v1/processes", data=changed, content_type="application/octet-stream")
    assert again.status_code == 200 and again.json == {"process_key": "quality_feedback", "version": 2,
                                                       "created": False}


@pytest.mark.parametrize("username", ["qa.wang", "audit.ma", "sales.li"])
def test_others_may_not_deploy_and_nothing_is_stored(api, engine, username):
    changed = FEEDBACK_BPMN.replace(b"isExecutable", b"isExecutable", 1) + b"\n"
    response = api(username).post("/api/v1/processes", data=changed, content_type="application/xml")
    assert response.status_code == 403
    assert response.json["message"] == "Only process owners and admins deploy diagrams."
    assert len(list_process_versions(engine.db, "quality_feedback")[0].versions) == 1


def test_a_refused_diagram_is_400_naming_the_element_and_stores_nothing(api, engine):
    owner = api("owner.xu")
    response = owner.post("/api/v1/processes", data=UNKNOWN_TOPIC, content_type="application/xml")
    assert response.status_code == 400
    assert "主题“test.prepare”没有注册处理程序" in response.json["message"]  # in the caller's language
    assert "no handler is registered for topic 'test.prepare'" in response.json["errors"]["problem"]
    assert response.json["element_id"]
    assert response.json["element_id"] in UNKNOWN_TOPIC.decode()
    assert list_process_versions(engine.db, "simple_review") == []

    garbage = owner.post("/api/v1/processes", data=b"<not bpmn", content_type="application/xml")
    assert garbage.status_code == 400 and garbage.json["message"]
    empty = owner.post("/api/v1/processes", data=b"", content_type="application/xml")
    assert empty.status_code == 400 and empty.json["message"] == "Send the BPMN file as the request body."
    assert len(list_process_versions(engine.db)) == len(list(PROCESSES.glob("*.bpmn")))  # only those deployed at start


def test_an_oversized_diagram_is_413_json_and_stores_nothing(api, engine):
    padded = FEEDBACK_BPMN + b"<!--" + b"x" * (6 * 1024 * 1024) + b"-->"
    response = api("owner.xu").post("/api/v1/processes", data=padded, content_type="application/xml")
    assert response.status_code == 413 and response.json["code"] == 413
    assert len(list_process_versions(engine.db, "quality_feedback")[0].versions) == 1
