"""P5 定期保养: one maintenance plan per device drives its visits by timers (contact the customer ahead of the
planned date, agree the date, dispatch a certified engineer, wait for the agreed day, visit, signed
《维护保养记录》 filed, retraining when needed, next visit from the interval), across many cycles; the plan stopped by decision; each
limit just before and after; one active plan per device; the customer service file across processes."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.records import queries
from engine.storage.models import OutboxMessage, ProcessInstance
from handlers.customer_files import CustomerDevice, customer_service_file
from handlers.dispatching import Engineer, EngineerAssignment, seed_demo_engineers
from handlers.maintenance_plans import MaintenancePlan, MaintenanceRecord, add_months
from tests.conftest import BEIJING
from tests.processes.conftest import Case

SECOND = timedelta(seconds=1)
PLANNER, SUPERVISOR = "svc.huang", "sup.luo"
CUSTOMER, SERIAL = "华东机电有限公司", "JZ200-2026-0815"


@pytest.fixture
def engineers(deployed, staff):
    with deployed.db.sessions.begin() as session:
        seed_demo_engineers(session)
    return deployed


def open_plan(engine, interval: int = 3, first: str = "2026-12-01", **overrides) -> Case:
    form = {"customer": CUSTOMER, "contact": "王经理 138-0000-1234", "serial_no": SERIAL,
            "device_model": "JZ-200 数控机床", "interval_months": interval, "first_visit_on": first,
            "maintenance_items": "导轨润滑、主轴精度检测、冷却液更换", "site_address": "苏州工业园区星湖街 88 号",
            "region": "华东"}
    form.update(overrides)
    return Case(engine, engine.start_instance("scheduled_maintenance", form, PLANNER))


def at_nine(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=BEIJING)


def agree(case: Case, day: date | str | None, decision: str = "visit") -> None:
    case.complete("Task_agree_date", PLANNER, plan_decision=decision,
                  agreed_visit_on=day.isoformat() if isinstance(day, date) else day, customer_contact="王强",
                  stop_reason="设备报废，终止保养合同" if decision == "stop" else None)


def visit_and_sign(case: Case, engineer: str = "fe.zhu", signed_on: str = "2026-12-02", retraining: bool = False) -> None:
    case.complete("Task_visit", engineer, work_done="导轨润滑、主轴精度复测、更换冷却液", findings="X 轴导轨轻微磨损",
                  result_told_to="王强")
    case.complete("Task_sign_maintenance", engineer, signed_by="王强", signed_on=signed_on,
                  needs_retraining=retraining)


def told(engine, subject_part: str) -> set[str]:
    with engine.db.sessions() as session:
        return {m.recipient for m in session.scalars(select(OutboxMessage)) if subject_part in m.subject}


def one_visit(case: Case, travel, planned: date, agreed: date | None = None) -> None:
    """A whole cycle: contact 7 days ahead, agree the date, wait for the day, visit, sign, file."""
    travel(at_nine(planned - timedelta(days=7)) + SECOND)  # a timer fires once its time has passed
    agree(case, agreed or planned)
    travel(at_nine(agreed or planned) + SECOND)
    visit_and_sign(case, signed_on=(agreed or planned).isoformat())


def plan(engine) -> MaintenancePlan:
    with engine.db.sessions() as session:
        [row] = session.scalars(select(MaintenancePlan)).all()
        session.expunge(row)
        return row


def visits(engine) -> list[MaintenanceRecord]:
    with engine.db.sessions() as session:
        rows = list(session.scalars(select(MaintenanceRecord).order_by(MaintenanceRecord.visit_no)))
        session.expunge_all()
        return rows




# -- the cycle ----------------------------------------------------------------------------------------
def test_the_plan_drives_each_visit_by_timers_and_files_the_signed_records(engineers, clock, travel):
    case = open_plan(engineers)
    assert case.instance.business_key == "MP-2026-0001"
    assert case.open_elements() == set()  # waiting for 7 days before the first visit
    contact = at_nine(date(2026, 11, 24))
    assert case.instance.next_due_at == contact
    travel(contact - SECOND)
    assert case.open_elements() == set()
    travel(contact + SECOND)
    agree_task = case.task("Task_agree_date")
    assert agree_task.department == "after_sales" and agree_task.data["planned_visit_on"] == "2026-12-01"
    agree(case, date(2026, 12, 2))  # the customer prefers the day after
    assert case.open_elements() == set()  # engineer dispatched, waiting for the agreed day
    with engineers.db.sessions() as session:
        assert session.scalar(select(EngineerAssignment.engineer).where(EngineerAssignment.closed_at.is_(None))) == "fe.zhu"
    travel(at_nine(date(2026, 12, 2)) - SECOND)
    assert case.open_elements() == set()
    travel(at_nine(date(2026, 12, 2)) + SECOND)
    visit = case.task("Task_visit")
    assert visit.claimed_by == "fe.zhu" and visit.due_at == at_nine(date(2026, 12, 3)) + SECOND
    visit_and_sign(case)
    [first] = visits(engineers)
    assert (first.visit_no, first.planned_on, first.agreed_on, first.agreed_with) == (
        1, date(2026, 12, 1), date(2026, 12, 2), "王强")
    assert (first.engineer, first.signed_by, first.signed_on) == ("fe.zhu", "王强", date(2026, 12, 2))
    row = plan(engineers)
    assert (row.visits_done, row.next_visit_on, row.status) == (1, date(2027, 3, 1), "active")  # planned + 3 months
    assert case.instance.next_due_at == at_nine(date(2027, 2, 22))
    with engineers.db.sessions() as session:
        assert session.scalar(select(EngineerAssignment.closed_at)) is not None  # released after the visit
        [entry] = customer_service_file(session, CUSTOMER)
        assert (entry.kind, entry.document, entry.business_key, entry.serial_no, entry.signed_by) == (
            "maintenance", "《维护保养记录》", "MP-2026-0001", SERIAL, "王强")
        assert "告知客户：王强" in entry.summary and "再培训" not in entry.summary
    one_visit(case, travel, date(2027, 3, 1))
    assert [v.planned_on for v in visits(engineers)] == [date(2026, 12, 1), date(2027, 3, 1)]
    assert plan(engineers).next_visit_on == date(2027, 6, 1)
    assert {"定期维护保养计划", "维护保养记录", "客户服务档案"} <= {s.title for s in engineers.case_records(case.id)}
    assert all(r.status == "met" for r in queries.sla_records(engineers.db, case.id))


def test_thirty_monthly_visits_keep_the_case_small(engineers, clock, travel):
    with engineers.db.sessions.begin() as session:  # the engineer's 上岗证 is renewed over the years
        session.scalar(select(Engineer).where(Engineer.username == "fe.zhu")).certified_until = date(2035, 6, 30)
    case = open_plan(engineers, interval=1)
    sizes = []
    for n in range(30):
        one_visit(case, travel, add_months(date(2026, 12, 1), n))
        with engineers.db.sessions() as session:
            sizes.append(len(session.get(ProcessInstance, case.id).state))
    assert plan(engineers).visits_done == 30 and len(visits(engineers)) == 30
    assert plan(engineers).next_visit_on == date(2029, 6, 1)
    assert case.instance.status == "running" and case.instance.next_due_at == at_nine(date(2029, 5, 25))
    assert sizes[-1] < sizes[1] * 1.5  # the finished cycles are not kept in the task tree


def test_the_plan_ends_by_decision(engineers, travel):
    case = open_plan(engineers)
    travel(at_nine(date(2026, 11, 24)) + SECOND)
    agree(case, None, decision="stop")
    assert case.instance.status == "completed"
    row = plan(engineers)
    assert (row.status, row.ended_reason, row.visits_done) == ("ended", "设备报废，终止保养合同", 0)
    assert visits(engineers) == []


@pytest.mark.parametrize("day", [None, "2026-11-23"])
def test_a_visit_needs_an_agreed_day_from_today_on(engineers, travel, day):
    case = open_plan(engineers)
    travel(at_nine(date(2026, 11, 24)) + SECOND)
    agree(case, day)
    assert case.open_elements() == {"Task_agree_date"}  # asked again
    assert visits(engineers) == []
    agree(case, date(2026, 11, 24))  # today is fine
    assert case.task("Task_visit").claimed_by == "fe.zhu"


def test_the_date_is_agreed_within_a_company_rule_of_3_working_days(engineers, travel):
    case = open_plan(engineers)
    travel(at_nine(date(2026, 11, 24)) + SECOND)  # Tuesday
    due = case.task("Task_agree_date").due_at
    assert due == at_nine(date(2026, 11, 27)) + SECOND
    travel(due - SECOND)
    assert case.fired() == ["Timer_contact"]
    travel(due + SECOND)
    assert case.fired() == ["Timer_contact", "Timer_agree"]
    [limit] = case.limits("Timer_agree")
    assert (limit.status, limit.department, limit.source) == ("breached", "after_sales", "company")
    assert limit.started_at == at_nine(date(2026, 11, 24)) + SECOND  # when the contact became due (7 days ahead)
    assert told(engineers, "超时：公司规定：3个工作日内与客户确认") == {"department:after_sales"}  # nobody holds it
    agree(case, date(2026, 12, 1))
    assert case.open_elements() == set()


def test_the_visit_is_made_on_the_agreed_day(engineers, travel):
    case = open_plan(engineers)
    travel(at_nine(date(2026, 11, 24)) + SECOND)
    agree(case, date(2026, 12, 1))
    travel(at_nine(date(2026, 12, 1)) + SECOND)
    due = case.task("Task_visit").due_at
    assert due == at_nine(date(2026, 12, 2)) + SECOND
    travel(due - SECOND)
    assert "Timer_visit" not in case.fired()
    travel(due + SECOND)
    assert case.fired()[-1] == "Timer_visit"
    [limit] = case.limits("Timer_visit")
    assert (limit.status, limit.department, limit.person) == ("breached", "tech_support", "fe.zhu")
    assert limit.source == "company" and limit.started_at == at_nine(date(2026, 12, 1)) + SECOND
    assert told(engineers, "超时：公司规定：确认的上门维护日") == {"user:fe.zhu", "head:tech_support"}
    visit_and_sign(case)
    assert plan(engineers).visits_done == 1


def test_one_active_plan_per_device(engineers, clock):
    first = open_plan(engineers)
    second = open_plan(engineers, interval=6)
    assert second.instance.status == "completed" and second.instance.business_key is None
    assert [e.element_id for e in second.events("task_completed")] == []
    assert plan(engineers).plan_no == "MP-2026-0001" and first.instance.status == "running"
    with engineers.db.sessions() as session:  # a device not installed through the system is registered
        [unit] = session.scalars(select(CustomerDevice)).all()
        assert (unit.customer, unit.serial_no, unit.installed_at) == (CUSTOMER, SERIAL, None)


def test_nobody_certified_for_maintenance_the_supervisor_chooses(engineers, travel):
    with engineers.db.sessions.begin() as session:
        for row in session.scalars(select(Engineer).where(Engineer.username.in_(["fe.zhu", "fe.ye"]))):
            row.active = row.username == "fe.ye"
            row.certified_until = date(2026, 1, 1) if row.username == "fe.ye" else row.certified_until
    case = open_plan(engineers)
    travel(at_nine(date(2026, 11, 24)) + SECOND)
    agree(case, date(2026, 12, 1))
    case.complete("Task_choose_engineer", SUPERVISOR, engineer="fe.ye")  # expired certificate
    assert case.open_elements() == {"Task_choose_engineer"}
    with engineers.db.sessions.begin() as session:
        session.scalar(select(Engineer).where(Engineer.username == "fe.zhu")).active = True
    case.complete("Task_choose_engineer", SUPERVISOR, engineer="fe.zhu")
    travel(at_nine(date(2026, 12, 1)) + SECOND)
    assert case.task("Task_visit").claimed_by == "fe.zhu"


def test_the_customer_service_file_gathers_a_customers_records_across_processes(engineers, clock, travel):
    case = open_plan(engineers)
    repair = Case(engineers, engineers.start_instance("repair", {
        "customer": CUSTOMER, "contact": "王经理", "serial_no": SERIAL, "agreed_response_hours": 24,
        "fault_description": "冷却泵不出水", "site_address": "苏州", "region": "华东"}, PLANNER))
    other = Case(engineers, engineers.start_instance("repair", {
        "customer": "华南精密", "contact": "陈工", "serial_no": "X-1", "agreed_response_hours": 8,
        "fault_description": "报警 E21", "site_address": "深圳", "region": "华南"}, PLANNER))
    for repair_case, engineer in ((repair, "fe.zhu"), (other, "fe.yang")):
        repair_case.complete("Task_arrive", engineer)
        repair_case.complete("Task_diagnose", engineer, instruments_used="万用表", fault_cause="叶轮卡死",
                             cause_explained_to="王强", needs_parts_or_fees=False)
        repair_case.complete("Task_repair", engineer, repair_work="清理叶轮", test_result="出水正常")
        repair_case.complete("Task_sign_record", engineer, signed_by="王强", signed_on="2026-11-16")
    one_visit(case, travel, date(2026, 12, 1))
    with engineers.db.sessions() as session:
        entries = customer_service_file(session, CUSTOMER)
        assert [(e.kind, e.business_key) for e in entries] == [("repair", "RP-2026-0001"), ("maintenance", "MP-2026-0001")]
        assert [e.business_key for e in customer_service_file(session, "华南精密")] == ["RP-2026-0002"]


def test_the_customer_is_retrained_when_needed_and_it_is_on_the_record(engineers, travel):
    case = open_plan(engineers)
    travel(at_nine(date(2026, 11, 24)) + SECOND)
    agree(case, date(2026, 12, 1))
    travel(at_nine(date(2026, 12, 1)) + SECOND)
    visit_and_sign(case, retraining=True)  # 4.3.3: 如需要可对客户进行再培训
    retraining = case.task("Task_retraining")
    assert (retraining.department, retraining.claimed_by) == ("tech_support", "fe.zhu")
    case.complete("Task_retraining", "fe.zhu", trainees="张伟", training_content="导轨润滑点检")
    with engineers.db.sessions() as session:
        [entry] = customer_service_file(session, CUSTOMER)
    assert "再培训：张伟" in entry.summary and "培训内容：导轨润滑点检" in entry.summary
    one_visit(case, travel, date(2027, 3, 1))  # the next visit asks again: no retraining carried over
    assert "Task_retraining" not in {e.element_id for e in case.events("task_completed")[-3:]}
    with engineers.db.sessions() as session:
        second = customer_service_file(session, CUSTOMER)[-1]
    assert "再培训" not in second.summary
