"""Multi-instance user tasks: one task per item of a case list (each expert's opinion), collected in
the order of the list for the next step, under one limit for the whole group."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine.diagrams.catalog import DiagramError
from engine.diagrams.forms import InvalidForm
from engine.errors import CaseDataError
from engine.handler_api import HandlerContext, HandlerRegistry
from engine.records import queries

DIAGRAM = (Path(__file__).parent / "diagrams" / "expert_review.bpmn").read_bytes()
SEQUENTIAL = DIAGRAM.replace(b'<bpmn:multiInstanceLoopCharacteristics ',
                             b'<bpmn:multiInstanceLoopCharacteristics isSequential="true" ')
BY_PERSON = DIAGRAM.replace(b'camunda:candidateGroups="${expert_department}"',
                            b'camunda:candidateGroups="quality" camunda:assignee="${expert}"').replace(
    b'camunda:collection="expert_departments" camunda:elementVariable="expert_department"',
    b'camunda:collection="${experts}" camunda:elementVariable="expert"')


class Seen:
    def __init__(self) -> None:
        self.groups: dict[str, list[str]] = {"expert_departments": ["quality", "development", "production"],
                                             "experts": ["qa.wang", "qa.chen"]}
        self.recorded: list[list[dict]] = []
        self.late: list[list[dict]] = []


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def registry(seen) -> HandlerRegistry:
    registry = HandlerRegistry()

    @registry.handler("test.pick_experts")
    def pick(ctx: HandlerContext):
        return dict(seen.groups)

    @registry.handler("test.record_opinions")
    def record(ctx: HandlerContext):
        seen.recorded.append(list(ctx.data["expert_opinions"]))
        return {}

    @registry.handler("test.record_late")
    def late(ctx: HandlerContext):
        seen.late.append(list(ctx.data.get("expert_opinions", [])))
        return {}

    return registry


def deployed(make_engine, registry, raw: bytes = DIAGRAM):
    engine = make_engine(registry)
    engine.deploy(raw, "owner")
    return engine


def start(engine) -> int:
    return engine.start_instance("expert_review", {"subject": "电机异响"}, "qa.wang")


def tasks(engine, instance_id, state="open"):
    return queries.list_tasks(engine.db, instance_id=instance_id, state=state)


def by_department(engine, instance_id):
    return {t.department: t for t in tasks(engine, instance_id)}


def test_parallel_one_task_per_department_opinions_collected_in_list_order(make_engine, registry, seen, staff,
                                                                           clock):
    engine = deployed(make_engine, registry)
    instance_id = start(engine)
    open_now = by_department(engine, instance_id)
    assert set(open_now) == {"quality", "development", "production"}
    assert {t.name for t in open_now.values()} == {"专家意见"}
    # The group's limit is every member's due time.
    assert {t.due_at for t in open_now.values()} == {clock.now() + timedelta(hours=4)}
    assert {t.limit_name for t in open_now.values()} == {"专家组4小时内给出意见"}
    assert open_now["development"].data["expert_department"] == "development"

    with pytest.raises(InvalidForm):
        engine.complete_task(open_now["development"].id, "dev.liu", {"opinion": "maybe"})
    clock.advance(timedelta(minutes=10))
    engine.complete_task(open_now["development"].id, "dev.liu", {"opinion": "disagree", "comment": "噪音来自轴承"})
    clock.advance(timedelta(minutes=10))
    engine.complete_task(open_now["production"].id, "prod.zhou", {"opinion": "agree"})
    assert set(by_department(engine, instance_id)) == {"quality"}
    assert seen.recorded == []
    engine.complete_task(open_now["quality"].id, "qa.wang", {"opinion": "agree", "comment": "同意"})

    [opinions] = seen.recorded
    assert [(o["expert_department"], o["opinion"], o.get("comment"), o["completed_by"]) for o in opinions] == [
        ("quality", "agree", "同意", "qa.wang"),
        ("development", "disagree", "噪音来自轴承", "dev.liu"),
        ("production", "agree", None, "prod.zhou"),
    ]
    assert opinions[1]["completed_at"] == (clock.now() - timedelta(minutes=10)).isoformat()
    instance = queries.get_instance(engine.db, instance_id)
    assert instance.status == "completed"
    [limit] = queries.sla_records(engine.db, instance_id=instance_id)
    assert limit.status == "met"


def test_sequential_one_member_after_the_other_survives_a_fresh_engine(make_engine, registry, seen, staff):
    engine = deployed(make_engine, registry, SEQUENTIAL)
    instance_id = start(engine)
    [first] = tasks(engine, instance_id)
    assert first.department == "quality"
    engine.complete_task(first.id, "qa.wang", {"opinion": "agree"})
    # Another process (a restart) continues the case with a freshly compiled definition.
    engine = make_engine(registry)
    [second] = tasks(engine, instance_id)
    assert second.department == "development"
    assert [o["completed_by"] for o in second.data["expert_opinions"]] == ["qa.wang"]
    engine.complete_task(second.id, "dev.liu", {"opinion": "disagree"})
    [third] = tasks(engine, instance_id)
    assert third.department == "production"
    engine.complete_task(third.id, "prod.zhou", {"opinion": "agree"})
    [opinions] = seen.recorded
    assert [o["expert_department"] for o in opinions] == ["quality", "development", "production"]
    assert [o["opinion"] for o in opinions] == ["agree", "disagree", "agree"]


def test_parallel_survives_a_fresh_engine_between_members(make_engine, registry, seen, staff):
    engine = deployed(make_engine, registry)
    instance_id = start(engine)
    open_now = by_department(engine, instance_id)
    engine.complete_task(open_now["production"].id, "prod.zhou", {"opinion": "agree"})
    engine = make_engine(registry)
    engine.complete_task(open_now["quality"].id, "qa.wang", {"opinion": "disagree"})
    engine = make_engine(registry)
    engine.complete_task(open_now["development"].id, "dev.liu", {"opinion": "agree"})
    [opinions] = seen.recorded
    assert [(o["expert_department"], o["opinion"]) for o in opinions] == [
        ("quality", "disagree"), ("development", "agree"), ("production", "agree")]


def test_the_group_limit_takes_every_open_member_task_away_and_keeps_the_opinions_given(
        make_engine, registry, seen, staff, clock):
    engine = deployed(make_engine, registry)
    instance_id = start(engine)
    open_now = by_department(engine, instance_id)
    engine.complete_task(open_now["development"].id, "dev.liu", {"opinion": "agree"})
    clock.advance(timedelta(hours=4) - timedelta(seconds=1))
    assert engine.fire_due_timers() == 0
    assert set(by_department(engine, instance_id)) == {"quality", "production"}
    clock.advance(timedelta(seconds=2))
    assert engine.fire_due_timers() == 1
    assert tasks(engine, instance_id) == []
    assert {t.department for t in tasks(engine, instance_id, "cancelled")} == {"quality", "production"}
    [given] = seen.late
    assert [(o["expert_department"], o["completed_by"]) for o in given] == [("development", "dev.liu")]
    assert seen.recorded == []
    assert queries.get_instance(engine.db, instance_id).status == "completed"
    [limit] = queries.sla_records(engine.db, instance_id=instance_id)
    assert limit.status == "breached"


def test_each_instance_goes_to_the_person_of_its_item(make_engine, registry, seen, staff):
    engine = deployed(make_engine, registry, BY_PERSON)
    instance_id = start(engine)
    open_now = {t.claimed_by: t for t in tasks(engine, instance_id)}
    assert set(open_now) == {"qa.wang", "qa.chen"}
    assert {t.department for t in open_now.values()} == {"quality"}
    engine.complete_task(open_now["qa.chen"].id, "qa.chen", {"opinion": "agree"})
    engine.complete_task(open_now["qa.wang"].id, "qa.wang", {"opinion": "disagree"})
    [opinions] = seen.recorded
    assert [(o["expert"], o["completed_by"], o["opinion"]) for o in opinions] == [
        ("qa.wang", "qa.wang", "disagree"), ("qa.chen", "qa.chen", "agree")]


def test_an_empty_group_goes_straight_on_with_no_opinions(make_engine, registry, seen, staff):
    seen.groups["expert_departments"] = []
    engine = deployed(make_engine, registry)
    instance_id = start(engine)
    assert tasks(engine, instance_id) == []
    assert seen.recorded == [[]]


@pytest.mark.parametrize("change, problem", [
    ((b'<bpmn:multiInstanceLoopCharacteristics camunda:collection="expert_departments" '
      b'camunda:elementVariable="expert_department" />',
      b'<bpmn:multiInstanceLoopCharacteristics camunda:collection="expert_departments" '
      b'camunda:elementVariable="expert_department"><bpmn:loopCardinality>3</bpmn:loopCardinality>'
      b'</bpmn:multiInstanceLoopCharacteristics>'), "loopCardinality is not supported"),
    ((b' camunda:elementVariable="expert_department"', b''), "camunda:elementVariable"),
    ((b'camunda:collection="expert_departments"', b'camunda:collection="a-b"'), "camunda:collection"),
    ((b'<camunda:property name="collect_as" value="expert_opinions" />', b''), "needs the property collect_as"),
    ((b'value="expert_opinions"', b'value="expert_departments"'), "collect_as must differ"),
])
def test_deploy_refuses_what_the_engine_would_not_run(make_engine, registry, change, problem):
    raw = DIAGRAM.replace(*change)
    assert raw != DIAGRAM
    engine = make_engine(registry)
    with pytest.raises(DiagramError) as err:
        engine.deploy(raw, "owner")
    assert err.value.element_id == "Task_opinion" and problem in err.value.problem


@pytest.mark.parametrize("value", [None, "quality"])
def test_a_missing_or_non_list_collection_stops_the_step_and_stores_nothing(make_engine, registry, seen, value):
    seen.groups = {"expert_departments": value} if value else {}
    engine = deployed(make_engine, registry)
    with pytest.raises(CaseDataError, match="expert_departments"):
        start(engine)
    assert queries.list_instances(engine.db) == []
