"""The dispatch handler on real engineer rows: skills, regions, open loads, certificates (上岗证), the
supervisor's manual choice and the release at sign-off, each through the handler as the engine calls it."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.handler_api import BpmnError, HandlerContext
from engine.notifications.outbox import OutboxWriter
from handlers import dispatching
from handlers.dispatching import DEMO_ENGINEERS, Engineer, EngineerAssignment, seed_demo_engineers
from tests.conftest import BEIJING

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=BEIJING)
handlers = dispatching.registry


def call(session, topic: str, data: dict[str, Any], instance_id: int = 1, now: datetime = NOW,
         actor: str = "svc.huang", **properties: str) -> dict[str, Any]:
    """Run one handler the way the engine does (a context over the case data and the task's properties)."""
    audit: list[tuple[str, dict]] = []
    ctx = HandlerContext(topic=topic, element_id="Task_dispatch", element_name="派工", process_key="test_process",
                         instance_id=instance_id, business_key=f"CASE-{instance_id}", actor=actor, data=data,
                         properties=properties, session=session, now=now,
                         outbox=OutboxWriter(session, now, instance_id, f"{instance_id}:t"),
                         _open_tasks=list, _audit=lambda kind, detail: audit.append((kind, detail)))
    result = dict(handlers.get(topic)(ctx) or {})
    session.flush()
    return result


def engineer(session, username: str, region: str, skills: list[str], until: date | None = date(2028, 1, 1),
             active: bool = True, load: int = 0) -> Engineer:
    row = Engineer(username=username, name=username.upper(), region=region, skills=skills,
                   certificate_no=f"SG-{username}" if until else None, certified_until=until, active=active)
    session.add(row)
    for n in range(load):
        session.add(EngineerAssignment(engineer=username, instance_id=900 + n, kind="repair", assigned_by="x",
                                       opened_at=NOW - timedelta(days=1)))
    session.flush()
    return row


def open_assignments(session, instance_id: int | None = None) -> list[EngineerAssignment]:
    query = select(EngineerAssignment).where(EngineerAssignment.closed_at.is_(None))
    if instance_id is not None:
        query = query.where(EngineerAssignment.instance_id == instance_id)
    return list(session.scalars(query.order_by(EngineerAssignment.id)))


@pytest.fixture
def session(database):
    with database.sessions.begin() as session:
        yield session


def assign(session, region: str = "华东", skill: str = "repair", instance_id: int = 1, **properties):
    return call(session, "dispatching.assign_engineer", {"region": region}, instance_id, skill=skill, **properties)


def test_same_region_engineer_wins_over_a_less_loaded_one_elsewhere(session):
    engineer(session, "east", "华东", ["repair"], load=3)
    engineer(session, "south", "华南", ["repair"], load=0)
    result = assign(session, region="华东")
    assert result["engineer"] == "east" and result["engineer_name"] == "EAST"
    assert result["dispatched_outside_region"] is False and result["engineer_open_load"] == 3
    [row] = open_assignments(session, 1)
    assert (row.engineer, row.skill, row.region, row.outside_region, row.business_key, row.assigned_by) == \
        ("east", "repair", "华东", False, "CASE-1", "svc.huang")


def test_within_the_region_the_least_loaded_engineer_is_chosen(session):
    engineer(session, "busy", "华东", ["repair"], load=2)
    engineer(session, "free", "华东", ["repair"], load=1)
    assert assign(session)["engineer"] == "free"


def test_equal_load_ties_break_by_username(session):
    engineer(session, "zhang", "华东", ["repair"], load=1)
    engineer(session, "an", "华东", ["repair"], load=1)
    assert assign(session)["engineer"] == "an"


def test_only_engineers_with_the_skill_are_considered(session):
    engineer(session, "mech", "华东", ["mechanical", "installation"])
    engineer(session, "soft", "华东", ["software"], load=4)
    assert assign(session, skill="software")["engineer"] == "soft"
    assert assign(session, skill="installation", instance_id=2)["engineer"] == "mech"


def test_skill_may_name_a_case_variable(session):
    engineer(session, "mech", "华东", ["mechanical"])
    engineer(session, "soft", "华东", ["software"])
    result = call(session, "dispatching.assign_engineer", {"customer_region": "华东", "required_skill": "software"},
                  skill="${required_skill}", output="field_engineer", region_field="customer_region")
    assert result["field_engineer"] == "soft" and result["field_engineer_name"] == "SOFT"
    assert "engineer" not in result


def test_nobody_in_the_region_goes_to_the_least_loaded_elsewhere(session):
    engineer(session, "north", "华北", ["repair"], load=2)
    engineer(session, "south", "华南", ["repair"], load=1)
    engineer(session, "east_mech", "华东", ["mechanical"])
    result = assign(session, region="华东")
    assert result["engineer"] == "south" and result["dispatched_outside_region"] is True
    assert open_assignments(session, 1)[0].outside_region is True


def test_work_order_types_listed_in_any_region_types_ignore_the_customers_region(session):
    """P7 一(三)2: the work order type counts - a mailed-in device goes to the least loaded engineer anywhere."""
    engineer(session, "east", "华东", ["electronics"], load=2)
    engineer(session, "south", "华南", ["electronics"], load=0)
    props = {"skill": "electronics", "type_field": "service_type", "any_region_types": "mail_in, carry_in_far"}
    mailed = call(session, "dispatching.assign_engineer", {"region": "华东", "service_type": "mail_in"}, **props)
    assert mailed["engineer"] == "south" and mailed["dispatched_outside_region"] is False
    on_site = call(session, "dispatching.assign_engineer", {"region": "华东", "service_type": "on_site"}, 2, **props)
    assert on_site["engineer"] == "east" and on_site["dispatched_outside_region"] is False
    [_, row] = open_assignments(session, None)[-2:]
    assert (row.engineer, row.instance_id) == ("east", 2)


def test_expired_certificate_and_inactive_engineers_are_never_chosen(session):
    engineer(session, "expired", "华东", ["repair"], until=date(2026, 11, 15))
    engineer(session, "uncertified", "华东", ["repair"], until=None)
    engineer(session, "left", "华东", ["repair"], active=False)
    engineer(session, "far", "西南", ["repair"], load=5)
    assert assign(session)["engineer"] == "far"


def test_a_certificate_counts_through_its_last_day_in_beijing(session):
    engineer(session, "lastday", "华东", ["repair"], until=date(2026, 11, 16))
    # 23:59 Beijing on the last day is still valid, one minute later it is not.
    late = datetime(2026, 11, 16, 23, 59, tzinfo=BEIJING)
    assert call(session, "dispatching.assign_engineer", {"region": "华东"}, now=late, skill="repair")["engineer"] \
        == "lastday"
    with pytest.raises(BpmnError) as refused:
        call(session, "dispatching.assign_engineer", {"region": "华东"}, instance_id=2,
             now=late + timedelta(minutes=1), skill="repair")
    assert refused.value.code == "NO_ENGINEER"


def test_nobody_qualified_raises_no_engineer_and_writes_nothing(session):
    engineer(session, "mech", "华东", ["mechanical"])
    engineer(session, "expired", "华东", ["repair"], until=date(2025, 1, 1))
    with pytest.raises(BpmnError) as refused:
        assign(session)
    assert refused.value.code == "NO_ENGINEER"
    assert open_assignments(session) == []


def test_each_assignment_adds_to_the_load_the_next_dispatch_sees(session):
    engineer(session, "a", "华东", ["repair"])
    engineer(session, "b", "华东", ["repair"])
    picks = [assign(session, instance_id=n)["engineer"] for n in (1, 2, 3, 4)]
    assert picks == ["a", "b", "a", "b"]


def test_a_released_case_no_longer_counts_as_load(session):
    engineer(session, "a", "华东", ["repair"])
    engineer(session, "b", "华东", ["repair"])
    assert assign(session, instance_id=1)["engineer"] == "a"
    assert call(session, "dispatching.release_engineer", {}, instance_id=1) == {"released_engineers": ["a"]}
    assert open_assignments(session, 1) == []
    assert assign(session, instance_id=2)["engineer"] == "a"


def test_release_with_a_kind_keeps_other_kinds_open(session):
    engineer(session, "a", "华东", ["repair", "software"])
    assign(session, instance_id=1, kind="repair")
    assign(session, instance_id=1, skill="software", kind="software_upgrade")
    assert call(session, "dispatching.release_engineer", {}, instance_id=1, kind="repair") == \
        {"released_engineers": ["a"]}
    assert [a.kind for a in open_assignments(session, 1)] == ["software_upgrade"]


def test_redispatch_of_the_same_kind_closes_the_earlier_assignment(session):
    engineer(session, "a", "华东", ["repair"])
    engineer(session, "b", "华东", ["repair"])
    assign(session, instance_id=1, kind="repair")
    assign(session, instance_id=1, kind="repair")
    assert [a.engineer for a in open_assignments(session, 1)] == ["b"]


def test_missing_region_or_unknown_skill_is_a_plain_error(session):
    engineer(session, "a", "华东", ["repair"])
    with pytest.raises(ValueError, match="region"):
        call(session, "dispatching.assign_engineer", {}, skill="repair")
    with pytest.raises(ValueError, match="unknown skill"):
        assign(session, skill="plumbing")
    with pytest.raises(ValueError, match="needs the property skill"):
        call(session, "dispatching.assign_engineer", {"region": "华东"})
    with pytest.raises(ValueError, match="required_skill"):
        assign(session, skill="${required_skill}")
    assert open_assignments(session) == []


def confirm(session, username: str | None, skill: str = "repair", instance_id: int = 1) -> dict[str, Any]:
    return call(session, "dispatching.confirm_engineer", {"engineer": username, "region": "华东"}, instance_id,
                actor="sup.luo", skill=skill)


def test_supervisor_choice_of_a_certified_engineer_is_recorded(session):
    engineer(session, "far", "西北", ["repair"], load=2)
    result = confirm(session, "far")
    assert result["engineer"] == "far" and result["engineer_name"] == "FAR"
    assert result["dispatched_outside_region"] is True
    [row] = open_assignments(session, 1)
    assert (row.engineer, row.manual, row.assigned_by) == ("far", True, "sup.luo")


@pytest.mark.parametrize("username, kwargs", [
    ("expired", {"until": date(2026, 11, 15)}),
    ("nocert", {"until": None}),
    ("inactive", {"active": False}),
    ("mech", {"skills": ["mechanical"]}),
    ("stranger", None),
    (None, None),
])
def test_supervisor_choice_of_an_uncertified_engineer_is_refused(session, username, kwargs):
    if kwargs is not None:
        engineer(session, username, "华东", kwargs.pop("skills", ["repair"]), **kwargs)
    with pytest.raises(BpmnError) as refused:
        confirm(session, username)
    assert refused.value.code == "ENGINEER_NOT_CERTIFIED"
    assert open_assignments(session) == []


def test_demo_engineers_are_seeded_once_and_the_expired_one_is_never_chosen(session):
    assert seed_demo_engineers(session) == len(DEMO_ENGINEERS)
    session.flush()
    assert seed_demo_engineers(session) == 0
    by_name = {e.username: e for e in session.scalars(select(Engineer))}
    assert by_name["fe.ye"].certified_until == date(2027, 3, 31)
    assert not by_name["ts.dong"].certified_on(NOW.date())
    # 华东 electronics: fe.zhu and ts.qian qualify (ts.dong's certificate ran out); equal load → username.
    assert assign(session, skill="electronics", instance_id=1)["engineer"] == "fe.zhu"
    assert assign(session, skill="electronics", instance_id=2)["engineer"] == "ts.qian"
    # 华北 has only fe.ye, who cannot do software: the least loaded software engineer elsewhere is fe.yang.
    result = assign(session, region="华北", skill="software", instance_id=3)
    assert (result["engineer"], result["dispatched_outside_region"]) == ("fe.yang", True)
    with pytest.raises(BpmnError):
        confirm(session, "ts.dong", skill="software", instance_id=4)
