"""A task for the department head, in the inbox and over the API: members see it read-only and are refused;
the head works it."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.handler_api import HandlerRegistry
from engine.notifications.outbox import FileTransport
from engine.records import queries
from engine.runtime.workflow_engine import WorkflowEngine

DIAGRAM = (Path(__file__).parents[1] / "engine" / "diagrams" / "simple_review.bpmn").read_bytes()


@pytest.fixture
def engine(database, clock, outbox_file) -> WorkflowEngine:
    registry = HandlerRegistry()
    for topic in ("test.prepare", "test.escalate", "test.finish"):
        registry.handler(topic)(lambda ctx: {})
    engine = WorkflowEngine(database, registry, clock=clock, transport=FileTransport(outbox_file))
    heads_only = DIAGRAM.replace(b'camunda:candidateGroups="quality"', b'camunda:candidateGroups="head:quality"', 1)
    assert heads_only != DIAGRAM
    engine.deploy(heads_only, "owner.xu")
    return engine


@pytest.fixture
def review(engine) -> queries.TaskView:
    instance_id = engine.start_instance("simple_review", {"customer": "华东机电", "amount": 5}, "sales.li")
    [task] = queries.list_tasks(engine.db, instance_id=instance_id)
    return task


def test_a_member_sees_the_task_read_only_and_is_refused(engine, as_user, review):
    member = as_user("qa.wang")
    assert "评审" in member.text("/inbox?view=department")
    page = member.text(f"/tasks/{review.id}")
    assert "仅部门负责人可办理" in page
    assert f"/tasks/{review.id}/claim" not in page and f"/tasks/{review.id}/complete" not in page
    for action, form in (("claim", {}), ("complete", {"decision": "approve"}), ("hand-over", {"to": "qa.chen"})):
        response = member.post(f"/tasks/{review.id}/{action}", form)
        assert response.status_code == 403, action
        assert "仅质量部负责人可办理此任务" in response.get_data(as_text=True)
    after = queries.get_task(engine.db, review.id)
    assert (after.state, after.claimed_by) == ("open", None)


def test_the_head_completes_the_task(engine, as_user, review):
    head = as_user("qa.chen")
    page = head.text(f"/tasks/{review.id}")
    assert "仅部门负责人可办理" in page
    assert f"/tasks/{review.id}/complete" in page
    assert 'value="qa.wang"' not in page  # the hand-over list offers heads only
    response = head.post(f"/tasks/{review.id}/complete", {"decision": "approve", "comment": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    done = queries.get_task(engine.db, review.id)
    assert (done.state, done.completed_by) == ("completed", "qa.chen")


def test_over_the_api_members_are_refused_and_the_head_completes(api, engine):
    case = engine.start_instance("simple_review", {"customer": "华东机电", "amount": 5}, "sales.li")
    [review] = queries.list_tasks(engine.db, instance_id=case)
    member, head = api("qa.wang"), api("qa.chen")
    listed = member.get("/api/v1/tasks").json["items"]
    assert [t["id"] for t in listed] == [review.id]
    assert member.get(f"/api/v1/tasks/{review.id}").json["heads_only"] is True
    for response in (member.post(f"/api/v1/tasks/{review.id}/claim"),
                     member.post(f"/api/v1/tasks/{review.id}/complete", json={})):
        assert response.status_code == 403
        assert "head of department 'quality'" in response.json["message"]
    assert queries.get_task(engine.db, review.id).claimed_by is None
    assert head.post(f"/api/v1/tasks/{review.id}/claim").json["claimed_by"] == "qa.chen"
