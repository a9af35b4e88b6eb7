"""camunda:candidateGroups="head:<code>": a task its department's members see but only its heads work."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.diagrams.catalog import DiagramError
from engine.errors import HeadsOnly, TaskRoutingError
from engine.handler_api import HandlerRegistry
from engine.records import queries

DIAGRAM = (Path(__file__).parent / "diagrams" / "simple_review.bpmn").read_bytes()
GROUPS = b'camunda:candidateGroups="quality"'


def with_groups(groups: str, extra: str = "") -> bytes:
    raw = DIAGRAM.replace(GROUPS, f'camunda:candidateGroups="{groups}"{extra}'.encode(), 1)
    assert raw != DIAGRAM
    return raw


@pytest.fixture
def registry() -> HandlerRegistry:
    registry = HandlerRegistry()
    for topic in ("test.prepare", "test.escalate", "test.finish"):
        registry.handler(topic)(lambda ctx: {})
    return registry


def start(engine) -> tuple[int, queries.TaskView]:
    instance_id = engine.start_instance("simple_review", {"customer": "华东机电", "amount": 5}, "sales.li")
    [task] = queries.list_tasks(engine.db, instance_id=instance_id)
    return instance_id, task


def test_deploy_accepts_a_head_group_and_rejects_unknown_or_several(make_engine, registry, staff):
    engine = make_engine(registry)
    engine.deploy(with_groups("head:quality"), "owner.xu")
    with pytest.raises(DiagramError, match="'unknown' is not a known department code"):
        engine.deploy(with_groups("head:unknown"), "owner.xu")
    with pytest.raises(DiagramError, match="names one department"):
        engine.deploy(with_groups("head:quality,head:sales"), "owner.xu")
    with pytest.raises(DiagramError, match="names one department"):
        engine.deploy(with_groups("head:quality,sales"), "owner.xu")


def test_members_see_the_task_but_only_the_head_works_it(make_engine, registry, staff):
    engine = make_engine(registry)
    engine.deploy(with_groups("head:quality"), "owner.xu")
    instance_id, task = start(engine)
    assert (task.department, task.heads_only) == ("quality", True)
    assert [t.id for t in queries.list_tasks(engine.db, department="quality")] == [task.id]
    with pytest.raises(HeadsOnly, match="head of department 'quality'"):
        engine.claim_task(task.id, "qa.wang")
    with pytest.raises(HeadsOnly):
        engine.complete_task(task.id, "qa.wang", {"decision": "approve"})
    with pytest.raises(HeadsOnly):
        engine.hand_over_task(task.id, "qa.wang", "qa.chen")
    after = queries.get_task(engine.db, task.id)
    assert (after.state, after.claimed_by) == ("open", None)
    assert not queries.audit_trail(engine.db, instance_id, "task_claimed")
    # The head cannot hand it to a member either; the head completes it.
    with pytest.raises(HeadsOnly, match="'qa.wang' is not its head"):
        engine.hand_over_task(task.id, "qa.chen", "qa.wang")
    assert queries.get_task(engine.db, task.id).claimed_by is None
    engine.claim_task(task.id, "qa.chen")
    engine.complete_task(task.id, "qa.chen", {"decision": "approve"})
    done = queries.get_task(engine.db, task.id)
    assert (done.state, done.completed_by) == ("completed", "qa.chen")
    assert queries.get_instance(engine.db, instance_id).status == "completed"


def test_a_head_hands_over_to_another_head_and_an_admin_may_work_it(make_engine, registry, staff):
    staff.add_user("qa.deputy", "副主管", "-", {"quality": "head"}, ())
    engine = make_engine(registry)
    engine.deploy(with_groups("head:quality"), "owner.xu")
    _, task = start(engine)
    engine.hand_over_task(task.id, "qa.chen", "qa.deputy")
    assert queries.get_task(engine.db, task.id).claimed_by == "qa.deputy"
    engine.unclaim_task(task.id, "qa.deputy")
    engine.complete_task(task.id, "admin", {"decision": "reject"})
    assert queries.get_task(engine.db, task.id).completed_by == "admin"


def test_a_variable_names_the_heads_department(make_engine, registry, staff):
    engine = make_engine(registry)
    engine.deploy(with_groups("head:${customer}"), "owner.xu")
    instance_id = engine.start_instance("simple_review", {"customer": "development", "amount": 5}, "sales.li")
    [task] = queries.list_tasks(engine.db, instance_id=instance_id)
    assert (task.department, task.heads_only) == ("development", True)
    with pytest.raises(HeadsOnly, match="'development'"):
        engine.complete_task(task.id, "dev.liu", {"decision": "approve"})
    engine.complete_task(task.id, "dev.sun", {"decision": "approve"})


def test_an_assignee_of_a_heads_only_task_must_be_a_head(make_engine, registry, staff):
    engine = make_engine(registry)
    engine.deploy(with_groups("head:quality", ' camunda:assignee="qa.wang"'), "owner.xu")
    with pytest.raises(TaskRoutingError, match="not its head"):
        start(engine)
    engine.deploy(with_groups("head:quality", ' camunda:assignee="qa.chen"'), "owner.xu")
    _, task = start(engine)
    assert (task.claimed_by, task.heads_only) == ("qa.chen", True)
