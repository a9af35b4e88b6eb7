"""The whole story over the API: the CRM files a complaint, Quality lists, claims and completes the task,
and the auditor reads what happened."""
from __future__ import annotations

from click.testing import CliRunner

from engine.accounts.directory import Directory
from tests.webapp.api_client import ApiClient
from tests.webapp.conftest import FEEDBACK_FORM
from webapp.auth import hash_password
from webapp.cli import main


def _token_from_cli(database, username: str, name: str) -> str:
    url = database.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(main, ["--database-url", url, "token", "create", username, "--name", name],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"for {username} ({name})" in result.output
    return result.output.strip().splitlines()[-1]


def test_crm_files_a_complaint_quality_works_it_and_the_auditor_reads_the_events(app, engine, database):
    # The CRM system has its own account in Sales (the department that files feedback forms).
    Directory(engine.db, engine.clock).add_user("crm", "CRM 系统", hash_password("unused"), {"sales": "member"})
    crm = ApiClient(app, _token_from_cli(database, "crm", "CRM"))
    quality = ApiClient(app, _token_from_cli(database, "qa.wang", "quality desk"))
    auditor = ApiClient(app, _token_from_cli(database, "audit.ma", "audit export"))

    filed = crm.post("/api/v1/processes/quality_feedback/instances", json={"data": FEEDBACK_FORM})
    assert filed.status_code == 201, filed.json
    case = filed.json["id"]

    listed = quality.get("/api/v1/tasks?view=department").json["items"]
    [confirm] = [t for t in listed if t["instance_id"] == case]
    assert confirm["name"] == "确认信息类别" and confirm["category"] == "important"
    assert quality.post(f"/api/v1/tasks/{confirm['id']}/claim").json["claimed_by"] == "qa.wang"
    form = quality.get(f"/api/v1/tasks/{confirm['id']}").json["form"]
    assert "category" in [f["id"] for f in form["fields"]]
    done = quality.post(f"/api/v1/tasks/{confirm['id']}/complete", json={"category": "important"})
    assert done.status_code == 200 and done.json["state"] == "completed"

    assert crm.get(f"/api/v1/instances/{case}").json["status"] == "running"
    events = auditor.get(f"/api/v1/instances/{case}/events")
    assert events.status_code == 200
    story = [(e["kind"], e["actor"]) for e in events.json]
    assert story[0] == ("instance_started", "crm")
    assert ("task_claimed", "qa.wang") in story and ("task_completed", "qa.wang") in story
    completed = next(e for e in events.json if e["kind"] == "task_completed")
    assert completed["detail"]["data"]["category"] == "important"
    assert completed["element_id"] == "Task_confirm_category"
