"""camunda:assignee: a task given to a person by the diagram (a user name or a case variable)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.diagrams.catalog import DiagramError
from engine.errors import TaskClaimedByOther, TaskRoutingError
from engine.handler_api import HandlerContext, HandlerRegistry
from engine.records import queries
from engine.storage.models import ProcessInstance

DIAGRAM = (Path(__file__).parent / "diagrams" / "simple_review.bpmn").read_bytes()
REVIEW = b'<bpmn:userTask id="Task_review" name="\xe8\xaf\x84\xe5\xae\xa1" camunda:candidateGroups="quality"'


def with_assignee(assignee: str) -> bytes:
    raw = DIAGRAM.replace(REVIEW, REVIEW + f' camunda:assignee="{assignee}"'.encode(), 1)
    assert raw != DIAGRAM
    return raw


@pytest.fixture
def reviewer() -> dict[str, str | None]:
    return {"name": "qa.chen"}


@pytest.fixture
def registry(reviewer) -> HandlerRegistry:
    registry = HandlerRegistry()

    @registry.handler("test.prepare")
    def prepare(ctx: HandlerContext):
        return {"reviewer": reviewer["name"]}

    for topic in ("test.escalate", "test.finish"):
        registry.handler(topic)(lambda ctx: {})
    return registry


def start(engine) -> int:
    return engine.start_instance("simple_review", {"customer": "华东机电", "amount": 5}, "sales.li")


def test_a_named_user_gets_the_task_already_claimed(make_engine, registry, staff):
    engine = make_engine(registry)
    engine.deploy(with_assignee("qa.wang"), "owner")
    instance_id = start(engine)
    [task] = queries.list_tasks(engine.db, instance_id=instance_id)
    assert (task.department, task.claimed_by) == ("quality", "qa.wang")
    [assigned] = queries.audit_trail(engine.db, instance_id, "task_assigned")
    assert assigned.detail["to"] == "qa.wang" and assigned.detail["task_id"] == task.id
    # A colleague cannot complete it; the head may take it back to the department or hand it over.
    with pytest.raises(TaskClaimedByOther):
        engine.claim_task(task.id, "qa.chen")
    engine.hand_over_task(task.id, "qa.chen", "qa.chen")
    engine.complete_task(task.id, "qa.chen", {"decision": "approve"})
    assert queries.get_instance(engine.db, instance_id).status == "completed"


def test_the_person_comes_from_a_case_variable(make_engine, registry, staff):
    engine = make_engine(registry)
    engine.deploy(with_assignee("${reviewer}"), "owner")
    instance_id = start(engine)
    [task] = queries.list_tasks(engine.db, instance_id=instance_id)
    assert task.claimed_by == "qa.chen"
    [assigned] = queries.audit_trail(engine.db, instance_id, "task_assigned")
    assert assigned.detail["variable"] == "reviewer"
    engine.complete_task(task.id, "qa.chen", {"decision": "approve"})


@pytest.mark.parametrize("name, problem", [
    (None, "holds None, who is not an active user"),
    ("", "holds '', who is not an active user"),
    ("nobody", "holds 'nobody', who is not an active user"),
    ("dev.liu", "who is not a member of its department 'quality'"),
])
def test_an_unknown_person_or_empty_variable_stops_the_step_and_stores_nothing(make_engine, registry, staff,
                                                                              reviewer, name, problem):
    engine = make_engine(registry)
    engine.deploy(with_assignee("${reviewer}"), "owner")
    reviewer["name"] = name
    with pytest.raises(TaskRoutingError, match=problem):
        start(engine)
    with engine.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_an_unknown_literal_user_is_refused_when_the_task_becomes_ready(make_engine, registry, staff):
    engine = make_engine(registry)
    engine.deploy(with_assignee("qa.nobody"), "owner")
    with pytest.raises(TaskRoutingError, match="'qa.nobody' \\(camunda:assignee\\), who is not an active user"):
        start(engine)


@pytest.mark.parametrize("assignee", ["${}", "qa wang", "#{reviewer}", "${a b}"])
def test_deploy_refuses_a_malformed_assignee(make_engine, registry, assignee):
    engine = make_engine(registry)
    with pytest.raises(DiagramError) as err:
        engine.deploy(with_assignee(assignee), "owner")
    assert err.value.element_id == "Task_review" and "camunda:assignee" in err.value.problem
