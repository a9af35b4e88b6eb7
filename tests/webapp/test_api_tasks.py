"""Tasks over the API: the caller's departments' tasks; claim, release and complete as in the inbox."""
from __future__ import annotations

import pytest

from engine.records import queries


def _confirm(engine, case: int) -> queries.TaskView:
    return next(t for t in queries.list_tasks(engine.db, instance_id=case) if t.element_id == "Task_confirm_category")


@pytest.fixture
def confirm(engine, filed_case) -> queries.TaskView:
    return _confirm(engine, filed_case)


@pytest.mark.parametrize("username, names", [
    ("qa.wang", ["确认信息类别"]), ("qa.chen", ["确认信息类别"]), ("sales.li", ["提供样机/样品并登记"]),
    ("admin", ["提供样机/样品并登记", "确认信息类别"]), ("audit.ma", []), ("owner.xu", []), ("dev.liu", []),
])
def test_each_user_lists_the_open_tasks_of_their_departments(api, filed_case, username, names):
    response = api(username).get("/api/v1/tasks")
    assert response.status_code == 200
    assert sorted(t["name"] for t in response.json["items"]) == sorted(names)
    assert response.json["total"] == len(names) and response.json["page"] == 1
    for task in response.json["items"]:
        assert task["instance_id"] == filed_case and task["state"] == "open" and task["claimed_by"] is None
        assert task["business_key"].startswith("QF") and task["customer"] == "杭州精工机械有限公司"


def test_filters_mine_department_state(api, engine, confirm):
    quality = api("qa.wang")
    assert quality.get("/api/v1/tasks?view=mine").json["items"] == []
    assert quality.post(f"/api/v1/tasks/{confirm.id}/claim").status_code == 200
    [mine] = quality.get("/api/v1/tasks?view=mine").json["items"]
    assert mine["id"] == confirm.id and mine["claimed_by"] == "qa.wang"
    assert api("qa.chen").get("/api/v1/tasks?view=mine").json["total"] == 0
    assert quality.get("/api/v1/tasks?department=quality").json["total"] == 1
    refused = quality.get("/api/v1/tasks?department=sales")
    assert refused.status_code == 403 and refused.json["message"] == "You can only see the tasks of your own departments."
    assert api("admin").get("/api/v1/tasks?department=sales").json["total"] == 1
    assert quality.get("/api/v1/tasks?state=completed").json["items"] == []
    quality.post(f"/api/v1/tasks/{confirm.id}/complete", json={"category": "important"})
    [done] = quality.get("/api/v1/tasks?state=completed").json["items"]
    assert done["id"] == confirm.id and done["completed_by"] == "qa.wang" and done["state"] == "completed"
    assert quality.get("/api/v1/tasks?state=completed&view=mine").json["total"] == 1
    assert api("qa.chen").get("/api/v1/tasks?state=completed&view=mine").json["total"] == 0
    bad = quality.get("/api/v1/tasks?state=lost&per_page=0")
    assert bad.status_code == 422 and set(bad.json["errors"]["query"]) == {"state", "per_page"}


@pytest.mark.parametrize("username, status", [("qa.wang", 200), ("qa.chen", 200), ("admin", 200),
                                              ("sales.li", 403), ("audit.ma", 403), ("owner.xu", 403)])
def test_a_task_is_opened_by_its_departments_members_and_admins(api, confirm, username, status):
    response = api(username).get(f"/api/v1/tasks/{confirm.id}")
    assert response.status_code == status
    if status == 200:
        task = response.json
        assert task["element_id"] == "Task_confirm_category" and task["heads_only"] is False
        fields = {f["id"]: f for f in task["form"]["fields"]}
        assert fields["category"]["type"] == "enum" and fields["category"]["required"] is True
        assert task["data"]["customer"] == "杭州精工机械有限公司" and task["submitted"] is None
    else:
        assert "belongs to department 'quality'" in response.json["message"]


def test_unknown_tasks_are_404_as_json(api):
    quality = api("qa.wang")
    for response in (quality.get("/api/v1/tasks/999"), quality.post("/api/v1/tasks/999/claim"),
                     quality.post("/api/v1/tasks/999/complete", json={}),
                     quality.get("/api/v1/tasks/99999999999")):
        assert response.status_code == 404 and response.is_json and response.json["code"] == 404


def test_claim_release_and_a_task_held_by_someone_else(api, engine, confirm):
    wang, chen = api("qa.wang"), api("qa.chen")
    claimed = wang.post(f"/api/v1/tasks/{confirm.id}/claim")
    assert claimed.status_code == 200 and claimed.json["claimed_by"] == "qa.wang"
    assert claimed.json["claimed_at"].startswith("2026-11-16T01:00")
    again = chen.post(f"/api/v1/tasks/{confirm.id}/claim")
    assert again.status_code == 409 and "already claimed by qa.wang" in again.json["message"]
    completed_by_other = chen.post(f"/api/v1/tasks/{confirm.id}/complete", json={"category": "important"})
    assert completed_by_other.status_code == 409 and "claimed by qa.wang" in completed_by_other.json["message"]
    assert queries.get_task(engine.db, confirm.id).state == "open"
    assert api("sales.li").post(f"/api/v1/tasks/{confirm.id}/claim").status_code == 403
    released = chen.post(f"/api/v1/tasks/{confirm.id}/unclaim")  # the head may give it back
    assert released.status_code == 200 and released.json["claimed_by"] is None


def test_complete_checks_the_form_and_a_second_completion_is_409(api, engine, confirm):
    quality = api("qa.wang")
    invalid = quality.post(f"/api/v1/tasks/{confirm.id}/complete", json={"category": "urgent"})
    assert invalid.status_code == 422
    assert invalid.json["message"] == "The data does not fit the task's form; nothing was changed."
    assert list(invalid.json["errors"]) == ["category"]
    not_an_object = quality.post(f"/api/v1/tasks/{confirm.id}/complete", json=["important"])
    assert not_an_object.status_code == 422
    assert queries.get_task(engine.db, confirm.id).state == "open"

    done = quality.post(f"/api/v1/tasks/{confirm.id}/complete", json={"category": "general",
                                                                      "override_reason": "客户已确认"})
    assert done.status_code == 200, done.json
    assert done.json["state"] == "completed" and done.json["completed_by"] == "qa.wang"
    assert done.json["submitted"]["category"] == "general"
    twice = api("qa.chen").post(f"/api/v1/tasks/{confirm.id}/complete", json={"category": "general"})
    assert twice.status_code == 409
    assert twice.json["message"].startswith(f"Task {confirm.id} was already completed by qa.wang at 2026-11-16")
    assert api("qa.wang").post(f"/api/v1/tasks/{confirm.id}/claim").status_code == 409
