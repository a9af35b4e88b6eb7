"""SLA records from the diagram's timers: limits met and breached against whom, warnings at the
diagram's share, limits paused while the case waits on the customer, recurring duties, attainment."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.diagrams.catalog import DiagramError
from engine.records import queries
from engine.storage.models import OutboxMessage
from engine.timing import attainment
from tests.conftest import BEIJING

DIAGRAM = Path(__file__).parent / "diagrams" / "sla_demo.bpmn"
SECOND = timedelta(seconds=1)
START = datetime(2026, 11, 16, 9, 0, tzinfo=BEIJING)


@pytest.fixture
def engine(make_engine, staff):
    engine = make_engine()
    engine.deploy(DIAGRAM.read_bytes(), "owner.xu", filename=DIAGRAM.name)
    return engine


@pytest.fixture
def case(engine):
    return engine.start_instance("sla_demo", {"customer": "华东机电"}, "svc.huang")


def open_task(engine, instance_id, element_id):
    tasks = [t for t in queries.list_tasks(engine.db, instance_id=instance_id) if t.element_id == element_id]
    assert tasks, f"{element_id} is not open"
    return tasks[0]


def complete(engine, instance_id, element_id, user, **data):
    task = open_task(engine, instance_id, element_id)
    engine.claim_task(task.id, user)
    engine.complete_task(task.id, user, data)


def record(engine, instance_id, element_id, status=None):
    found = [r for r in queries.sla_records(engine.db, instance_id) if r.element_id == element_id
             and (status is None or r.status == status)]
    assert found, f"no SLA record for {element_id}"
    return found[-1]


def at(clock, engine, moment):
    clock.set(moment)
    engine.fire_due_timers()


def messages(engine, subject_prefix):
    with engine.db.sessions() as session:
        return sorted(m.recipient for m in session.scalars(select(OutboxMessage))
                      if m.subject.startswith(subject_prefix))


def test_limit_met_by_the_person_who_finished_in_time(engine, case, clock):
    limit = record(engine, case, "Timer_handle_limit")
    assert (limit.status, limit.name, limit.department) == ("running", "24小时内处理完毕", "quality")
    assert (limit.started_at, limit.due_at) == (START, START + timedelta(hours=24))
    at(clock, engine, START + timedelta(hours=1))
    complete(engine, case, "Task_solve", "qa.wang", solution="更换密封圈", needs_customer_info=False)
    limit = record(engine, case, "Timer_handle_limit")
    assert (limit.status, limit.person, limit.met_at) == ("met", "qa.wang", START + timedelta(hours=1))
    assert record(engine, case, "Timer_close_limit").status == "running"


def test_interrupting_limit_just_before_and_just_after(engine, case, clock):
    complete(engine, case, "Task_solve", "qa.wang", solution="方案", needs_customer_info=False)
    at(clock, engine, START + timedelta(hours=1) - SECOND)
    assert record(engine, case, "Timer_close_limit").status == "running"
    assert open_task(engine, case, "Task_close")
    at(clock, engine, START + timedelta(hours=1) + SECOND)
    breach = record(engine, case, "Timer_close_limit")
    assert (breach.status, breach.department, breach.person) == ("breached", "quality", None)
    assert breach.breached_at == START + timedelta(hours=1) + SECOND
    assert open_task(engine, case, "Task_escalated").department == "after_sales"
    # Nobody had claimed the task: the whole department is told, its head included (no second copy).
    assert messages(engine, "超时") == ["department:quality"]


def test_warning_at_the_diagrams_share_goes_to_the_assignee(engine, case, clock):
    engine.claim_task(open_task(engine, case, "Task_solve").id, "qa.wang")
    assert open_task(engine, case, "Task_solve").warn_at == START + timedelta(hours=12)  # sla_warn_share 0.5
    at(clock, engine, START + timedelta(hours=12) - SECOND)
    assert record(engine, case, "Timer_handle_limit").warned_at is None
    assert messages(engine, "时限预警") == []
    at(clock, engine, START + timedelta(hours=12) + SECOND)
    assert record(engine, case, "Timer_handle_limit").warned_at == START + timedelta(hours=12) + SECOND
    assert messages(engine, "时限预警") == ["user:qa.wang"]
    assert [e.kind for e in queries.audit_trail(engine.db, case, "sla_warned")] == ["sla_warned"]


def test_breach_counts_against_the_holder_and_tells_the_diagrams_recipients(engine, case, clock):
    engine.claim_task(open_task(engine, case, "Task_solve").id, "qa.wang")
    at(clock, engine, START + timedelta(hours=24) - SECOND)
    assert record(engine, case, "Timer_handle_limit").status == "running"
    at(clock, engine, START + timedelta(hours=24) + SECOND)
    breach = record(engine, case, "Timer_handle_limit")
    assert (breach.status, breach.department, breach.person) == ("breached", "quality", "qa.wang")
    assert breach.holders == [{"department": "quality", "person": "qa.wang"}]
    limit_mail = [r for r in messages(engine, "超时：24小时")]
    assert limit_mail == ["head:after_sales", "head:quality", "user:qa.wang"]  # sla_notify=assignee,head,head:after_sales
    # The limit is non-interrupting: the work goes on, and finishing it later changes the record no more.
    complete(engine, case, "Task_solve", "qa.wang", solution="迟到的方案", needs_customer_info=False)
    assert record(engine, case, "Timer_handle_limit").status == "breached"


def test_waiting_on_the_customer_stops_the_limit(engine, case, clock):
    at(clock, engine, START + timedelta(hours=2) - SECOND)
    complete(engine, case, "Task_solve", "qa.wang", solution="需要现场照片", needs_customer_info=True)
    assert record(engine, case, "Timer_handle_limit").status == "paused"
    # 30 hours with the customer: past the original 24 h, nothing is breached and no duty falls due.
    at(clock, engine, START + timedelta(hours=32))
    assert record(engine, case, "Timer_handle_limit").status == "paused"
    assert [r.kind for r in queries.sla_records(engine.db, case) if r.status == "breached"] == []
    complete(engine, case, "Task_customer_info", "qa.wang", customer_info="照片已收到")
    limit = record(engine, case, "Timer_handle_limit")
    paused = timedelta(hours=30) + SECOND
    assert (limit.status, limit.paused_seconds) == ("running", int(paused.total_seconds()))
    assert limit.due_at == START + timedelta(hours=24) + paused
    assert open_task(engine, case, "Task_solve").due_at == limit.due_at
    at(clock, engine, limit.due_at - SECOND)
    assert record(engine, case, "Timer_handle_limit").status == "running"
    at(clock, engine, limit.due_at + SECOND)
    assert record(engine, case, "Timer_handle_limit").status == "breached"
    kinds = [e.kind for e in queries.audit_trail(engine.db, case) if e.kind.startswith("sla_")]
    assert kinds[:2] == ["sla_paused", "sla_resumed"]


def test_each_progress_report_is_a_duty_met_or_missed(engine, case, clock):
    at(clock, engine, START + timedelta(hours=2) + SECOND)
    first = record(engine, case, "Timer_progress")
    assert (first.kind, first.status, first.name) == ("duty", "running", "每2小时汇报进度")
    assert first.due_at == START + timedelta(hours=4)
    at(clock, engine, START + timedelta(hours=3))
    complete(engine, case, "Task_report", "qa.wang", progress="已联系客户")
    assert record(engine, case, "Timer_progress", "met").person == "qa.wang"
    at(clock, engine, START + timedelta(hours=4) + SECOND)  # the second report is due at 6 h: not made
    at(clock, engine, START + timedelta(hours=6) - SECOND)
    assert [r.status for r in queries.sla_records(engine.db, case) if r.kind == "duty"] == ["met", "running"]
    at(clock, engine, START + timedelta(hours=6) + SECOND)
    duties = [r for r in queries.sla_records(engine.db, case) if r.kind == "duty"]
    assert [r.status for r in duties] == ["met", "breached", "running"]
    assert (duties[1].department, duties[1].person) == ("quality", None)
    # The missed report is still there to be made; made late, the duty stays missed.
    assert len([t for t in queries.list_tasks(engine.db, instance_id=case) if t.element_id == "Task_report"]) == 2


def test_attainment_by_department_and_person(engine, clock):
    first = engine.start_instance("sla_demo", {"customer": "甲"}, "svc.huang")
    second = engine.start_instance("sla_demo", {"customer": "乙"}, "svc.huang")
    complete(engine, first, "Task_solve", "qa.wang", solution="a", needs_customer_info=False)
    engine.claim_task(open_task(engine, second, "Task_solve").id, "qa.chen")
    at(clock, engine, START + timedelta(hours=24) + SECOND)
    period = (START - timedelta(days=1), START + timedelta(days=2))
    by_department = {a.who: a for a in attainment.sla_attainment(engine.db, *period, kind="limit")}
    # first: handling met, closing breached (unclaimed); second: handling breached by qa.chen.
    assert (by_department["quality"].met, by_department["quality"].breached) == (1, 2)
    assert round(by_department["quality"].rate, 2) == 0.33
    by_person = {a.who: (a.met, a.breached) for a in attainment.sla_attainment(engine.db, *period, by="person",
                                                                           kind="limit")}
    assert by_person == {"qa.wang": (1, 0), "qa.chen": (0, 1)}
    # The second case's unmade progress reports count too when duties are included.
    assert attainment.sla_attainment(engine.db, *period)[0].breached > 2
    assert attainment.sla_attainment(engine.db, START + timedelta(days=5), START + timedelta(days=6)) == []


def test_cancelled_case_closes_its_records(engine, case):
    engine.cancel_instance(case, "svc.lin", "客户撤回")
    assert {r.status for r in queries.sla_records(engine.db, case)} == {"cancelled"}


@pytest.mark.parametrize("change, problem", [
    ('name="sla_notify" value="assignee,head,head:after_sales"', "sla_notify entry 'boss'"),
    ('name="sla_kind" value="duty"', "duty"),
    ('name="sla_pause" value="true"', "sla_pause"),
    ('name="responsible_department" value="quality"', "responsible_department"),
])
def test_bad_sla_properties_are_refused_at_deploy(make_engine, change, problem):
    engine = make_engine()
    replacement = {
        "sla_notify": 'name="sla_notify" value="assignee,boss"',
        "sla_kind": None,
        "sla_pause": 'name="sla_pause" value="sometimes"',
        "responsible_department": 'name="responsible_department" value="marketing"',
    }
    xml = DIAGRAM.read_text(encoding="utf-8")
    if "duty" in change:  # a duty on a one-off timer
        xml = xml.replace('name="sla_kind" value="limit" />\n          <camunda:property name="sla_name" value="1小时内关闭"',
                          'name="sla_kind" value="duty" />\n          <camunda:property name="sla_name" value="1小时内关闭"')
    else:
        xml = xml.replace(change, next(v for k, v in replacement.items() if k in change and v))
    with pytest.raises(DiagramError) as refused:
        engine.deploy(xml.encode(), "owner.xu")
    assert problem in str(refused.value)
    assert queries.latest_versions(engine.db) == {}
