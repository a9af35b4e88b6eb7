"""A task for the department head over the API: members see it but are refused (403); the head works it."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import queries
from engine.handler_api import HandlerRegistry
from engine.outbox import FileTransport
from engine.service import WorkflowEngine

DIAGRAM = (Path(__file__).parents[1] / "engine" / "diagrams" / "simple_review.bpmn").read_bytes()


@pytest.fixture
def engine(database, clock, outbox_file) -> WorkflowEngine:
    registry = HandlerRegistry()
    for topic in ("test.prepare", "test.escalate", "test.finish"):
        registry.handler(topic)(lambda ctx: {})
    engine = WorkflowEngine(database, registry, clock=clock, transport=FileTransport(outbox_file))
    engine.deploy(DIAGRAM.replace(b'camunda:candidateGroups="quality"', b'camunda:candidateGroups="head:quality"', 1),
                  "owner.xu")
    return engine


def test_members_are_refused_and_the_head_completes(api, engine):
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
