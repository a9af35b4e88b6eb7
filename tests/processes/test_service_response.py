"""P4 售后服务响应时限控制: the three urgency paths end to end, the direct answer, the department handling
with a pause while the customer is asked, the unsatisfied customer's restarts, the archive record, and
each of the 13 limits just before and just after, with the injected clock."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import queries
from engine.models import OutboxMessage
from handlers.service_desk import ServiceCase
from tests.processes.conftest import Case

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
SPECIALIST, SUPERVISOR = "svc.huang", "sup.luo"


def service_request(**overrides):
    form = {"channel": "hotline", "customer": "华东机电有限公司", "customer_type": "enterprise",
            "contact": "王经理 138-0000-1234", "product_service": "JZ-200 减速电机",
            "content": "电机运行异响，影响产线"}
    form.update(overrides)
    return form


def open_case(engine, **overrides) -> Case:
    return Case(engine, engine.start_instance("service_response", service_request(**overrides), SPECIALIST))


def classify(case: Case, urgency: str, request_type: str = "complaint") -> None:
    case.complete("Task_first_response", SPECIALIST, first_response="您好，已收到您的问题，正在处理",
                  request_type=request_type, urgency=urgency, urgency_basis="影响客户产线")


def assign(case: Case, department: str = "tech_support") -> None:
    case.complete("Task_gen_direct_answer", SPECIALIST, can_answer_directly=False)
    case.complete("Task_gen_assign", SPECIALIST, responsible_department=department, assignment_note="需现场诊断")


def feedback(case: Case, satisfaction: str = "satisfied", element: str = "Task_feedback") -> None:
    case.complete(element, SPECIALIST, result_feedback="已更换轴承，异响消除", customer_confirmed=True,
                  satisfaction=satisfaction)


def important_to_handling(case: Case, department: str = "development") -> None:
    classify(case, "important")
    case.complete("Task_imp_report", SPECIALIST, report_summary="影响客户整线交付，涉及金额 80 万元")
    case.complete("Task_imp_meeting", SUPERVISOR, meeting_participants="罗斌、董洁、孙伟",
                  plan="开发部分析根因，技术支持现场处理", responsible_department=department)


def urgent_to_team(case: Case, department: str = "tech_support") -> None:
    classify(case, "urgent")
    case.complete("Task_urg_notify", SPECIALIST, responsible_department=department,
                  emergency_summary="批量电机烧毁，客户展会明日开幕")
    case.complete("Task_urg_form_team", SUPERVISOR, emergency_team="罗斌、董洁、钱毅",
                  responsible_department=department, emergency_plan="技术支持带备件连夜到场")


def service_case(engine) -> ServiceCase:
    with engine.db.sessions() as session:
        [case] = session.scalars(select(ServiceCase)).all()
        session.expunge(case)
        return case


def outbox(engine) -> list[OutboxMessage]:
    with engine.db.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def recipients(engine) -> set[str]:
    return {m.recipient for m in outbox(engine)}




# -- the paths ----------------------------------------------------------------------------------------
def test_general_request_answered_directly_and_archived(deployed, clock):
    case = open_case(deployed)
    record = service_case(deployed)
    assert case.instance.business_key == record.case_no == "SR-2026-0001"
    assert (record.customer, record.channel, record.received_by) == ("华东机电有限公司", "hotline", SPECIALIST)
    first = case.task("Task_first_response")
    assert first.department == "after_sales" and first.customer == "华东机电有限公司"
    assert first.limit_name == "首次响应 5分钟内响应客户" and first.due_at == clock.now() + 5 * MINUTE
    clock.advance(2 * MINUTE)
    classify(case, "general", "consultation")
    task = case.task("Task_gen_direct_answer")
    assert task.category == "general" and task.due_at == clock.now() + 10 * MINUTE
    clock.advance(3 * MINUTE)
    case.complete("Task_gen_direct_answer", SPECIALIST, can_answer_directly=True, direct_answer="请检查润滑脂型号")
    assert case.open_elements() == {"Task_feedback"}
    feedback(case, "very_satisfied")
    assert case.instance.status == "completed"

    record = service_case(deployed)
    assert (record.request_type, record.urgency, record.satisfaction) == ("consultation", "general", "very_satisfied")
    assert record.first_response_at == record.received_at + 2 * MINUTE
    assert record.result == "已更换轴承，异响消除" and record.customer_confirmed
    assert record.archived_at == record.received_at + 5 * MINUTE and record.restarts == 0
    assert [p["point"] for p in record.time_points] == ["接入", "首次响应并分类", "归档"]
    assert record.people == [SPECIALIST] and record.departments == ["after_sales"]
    [section] = deployed.case_records(case.id)
    assert section.title == "服务记录"
    assert (section.rows[0]["case_no"], section.rows[0]["people_text"]) == ("SR-2026-0001", SPECIALIST)
    assert all(r.status == "met" for r in queries.sla_records(deployed.db, case.id))


def test_general_request_handled_by_the_chosen_department(deployed, clock):
    case = open_case(deployed)
    classify(case, "general")
    assign(case, "development")
    solution = case.task("Task_gen_initial_solution")
    assert solution.department == "development"  # ${responsible_department} chosen by the specialist
    assert solution.limit_name == "一般问题 2小时内给出初步方案" and solution.due_at == clock.now() + 2 * HOUR
    case.complete("Task_gen_initial_solution", "dev.liu", initial_solution="更换润滑脂并复测", needs_customer=False)
    complete = case.task("Task_gen_complete")
    assert complete.department == "development"
    case.complete("Task_gen_complete", "dev.sun", measures="现场更换润滑脂", result="异响消除")
    feedback(case)
    assert case.instance.status == "completed"
    record = service_case(deployed)
    assert record.departments == ["after_sales", "development"]
    assert record.people == [SPECIALIST, "dev.sun"]
    assert [m["text"] for m in record.measures] == ["现场更换润滑脂"]
    assert [p["point"] for p in record.time_points] == ["接入", "首次响应并分类", "分派责任部门", "责任部门处理完成", "归档"]


def test_waiting_on_the_customer_stops_the_24_hour_limit(deployed, clock, travel):
    case = open_case(deployed)
    classify(case, "general")
    assign(case)
    started = clock.now()
    case.complete("Task_gen_initial_solution", "ts.qian", initial_solution="需客户提供故障视频", needs_customer=True)
    wait = case.task("Task_gen_wait_customer")
    assert wait.department == "after_sales"
    travel(by=30 * HOUR)  # the customer takes 30 hours to send the video: the 24-hour limit does not run
    assert "Timer_gen_complete" not in case.fired()
    case.complete("Task_gen_wait_customer", SPECIALIST, customer_input="视频已提供", customer_agreed=True)
    complete = case.task("Task_gen_complete")
    assert complete.due_at == started + 24 * HOUR + 30 * HOUR
    travel(complete.due_at - SECOND)
    assert "Timer_gen_complete" not in case.fired()
    travel(complete.due_at + SECOND)
    assert "Timer_gen_complete" in case.fired()
    [record] = case.limits("Timer_gen_complete")
    assert record.status == "breached" and record.paused_seconds == 30 * 3600


def test_important_request_end_to_end(deployed, clock):
    case = open_case(deployed)
    important_to_handling(case)
    assert "head:service_supervisors" in recipients(deployed)
    start = case.task("Task_imp_start")
    assert start.department == "development" and start.due_at == clock.now() + 4 * HOUR
    clock.advance(HOUR)
    case.complete("Task_imp_start", "dev.liu", start_note="刘洋负责，先行分析失效件")
    case.complete("Task_imp_complete", "dev.sun", measures="改进轴承预紧结构", result="客户产线恢复")
    assert case.open_elements() == {"Task_imp_feedback"}
    assert case.task("Task_imp_feedback").due_at == clock.now() + 24 * HOUR
    feedback(case, element="Task_imp_feedback")
    assert case.instance.status == "completed"
    record = service_case(deployed)
    assert record.urgency == "important" and record.departments == ["after_sales", "service_supervisors", "development"]
    assert SUPERVISOR in record.people and "dev.sun" in record.people
    assert [m["text"] for m in record.measures] == ["开发部分析根因，技术支持现场处理", "改进轴承预紧结构"]


def test_urgent_request_end_to_end(deployed, clock, staff, smtp_catcher):
    case = open_case(deployed)
    urgent_to_team(case)
    assert {"head:service_supervisors", "head:tech_support"} <= recipients(deployed)
    resolve = case.task("Task_urg_resolve")
    assert resolve.department == "tech_support" and resolve.due_at == clock.now() + 4 * HOUR
    case.complete("Task_urg_resolve", "ts.qian", measures="更换 12 台电机", result="展会设备恢复运行")
    feedback(case)
    assert case.instance.status == "completed"
    deployed.deliver_outbox()
    subjects = [m["Subject"] for m in smtp_catcher.to("sup.luo@example.com")]
    assert any("紧急问题通知" in s and "SR-2026-0001" in s for s in subjects)
    assert any("紧急问题通知" in m["Subject"] for m in smtp_catcher.to("ts.dong@example.com"))


def test_an_unsatisfied_customer_gets_the_handling_again_until_satisfied(deployed):
    case = open_case(deployed)
    urgent_to_team(case)
    for round_no in (1, 2):
        case.complete("Task_urg_resolve", "ts.qian", measures=f"第{round_no}轮处理", result="已处理")
        feedback(case, "dissatisfied")
        assert case.open_elements() == {"Task_record_demands"}
        case.complete("Task_record_demands", SPECIALIST, unsatisfied_demands=f"第{round_no}次：要求整批更换")
        assert case.open_elements() == {"Task_urg_resolve"}  # back into the urgent handling
    case.complete("Task_urg_resolve", "ts.qian", measures="整批更换", result="客户认可")
    feedback(case, "satisfied")
    assert case.instance.status == "completed"
    record = service_case(deployed)
    assert record.restarts == 2 and record.satisfaction == "satisfied"
    assert [d["demands"] for d in record.demands] == ["第1次：要求整批更换", "第2次：要求整批更换"]
    assert [m["text"] for m in record.measures][-3:] == ["第1轮处理", "第2轮处理", "整批更换"]


@pytest.mark.parametrize(("urgency", "reopened"), [("general", "Task_gen_direct_answer"),
                                                   ("important", "Task_imp_meeting")])
def test_restart_goes_back_into_the_handling_of_the_urgency(deployed, urgency, reopened):
    case = open_case(deployed)
    if urgency == "general":
        classify(case, "general")
        case.complete("Task_gen_direct_answer", SPECIALIST, can_answer_directly=True, direct_answer="答复")
        feedback(case, "dissatisfied")
    else:
        important_to_handling(case)
        case.complete("Task_imp_start", "dev.liu", start_note="启动")
        case.complete("Task_imp_complete", "dev.sun", measures="m", result="r")
        feedback(case, "dissatisfied", element="Task_imp_feedback")
    case.complete("Task_record_demands", SPECIALIST, unsatisfied_demands="要求上门")
    assert case.open_elements() == {reopened}


# -- the 13 limits, each just before and just after ----------------------------------------------------
def subjects(engine, smtp_catcher, address: str) -> list[str]:
    engine.deliver_outbox()
    return [m["Subject"] for m in smtp_catcher.to(address)]


def test_1_first_response_within_5_minutes(deployed, clock, travel, staff, smtp_catcher):
    case = open_case(deployed)
    due = case.task("Task_first_response").due_at
    travel(due - 2 * MINUTE - SECOND)
    assert subjects(deployed, smtp_catcher, "svc.huang@example.com") == []
    travel(due - 2 * MINUTE + SECOND)  # sla_warn_share 0.6: the specialists are warned after 3 minutes
    assert subjects(deployed, smtp_catcher, "svc.huang@example.com") == [
        "时限预警：首次响应 5分钟内响应客户（SR-2026-0001）"]
    travel(due - SECOND)
    assert case.fired() == []
    travel(due + SECOND)
    assert case.fired() == ["Timer_first_response"]
    assert case.open_elements() == {"Task_first_response"}  # recorded and told; the specialist still answers
    [record] = case.limits("Timer_first_response")
    assert (record.status, record.department) == ("breached", "after_sales")
    # sla_notify = assignee,head,head:service_supervisors: the supervisor hears of the miss too
    assert "超时：首次响应 5分钟内响应客户（SR-2026-0001）" in subjects(deployed, smtp_catcher, "sup.luo@example.com")


def test_2_direct_answer_within_10_minutes_else_the_case_is_assigned(deployed, clock, travel):
    case = open_case(deployed)
    classify(case, "general")
    due = case.task("Task_gen_direct_answer").due_at
    assert due == clock.now() + 10 * MINUTE
    travel(due - SECOND)
    assert case.open_elements() == {"Task_gen_direct_answer"}
    travel(due + SECOND)
    assert case.open_elements() == {"Task_gen_assign"}  # re-routed: no direct answer, assign a department
    [record] = case.limits("Timer_gen_direct_answer")
    assert record.status == "breached"


def test_3_assignment_within_30_minutes_else_the_supervisor_assigns(deployed, clock, travel):
    case = open_case(deployed)
    classify(case, "general")
    case.complete("Task_gen_direct_answer", SPECIALIST, can_answer_directly=False)
    task = case.task("Task_gen_assign")
    assert task.due_at == clock.now() + 30 * MINUTE and task.limit_name == "一般问题 30分钟内分派责任部门"
    travel(task.due_at - SECOND)
    assert case.open_elements() == {"Task_gen_assign"}
    travel(task.due_at + SECOND)
    supervisor = case.task("Task_gen_supervisor_assign")
    assert supervisor.department == "service_supervisors" and case.open_elements() == {"Task_gen_supervisor_assign"}
    case.complete("Task_gen_supervisor_assign", SUPERVISOR, responsible_department="logistics")
    assert case.task("Task_gen_initial_solution").department == "logistics"


def test_4_initial_solution_within_2_hours(deployed, clock, travel):
    case = open_case(deployed)
    classify(case, "general")
    assign(case, "sales")
    due = case.task("Task_gen_initial_solution").due_at
    travel(due - SECOND)
    assert "Timer_gen_initial_solution" not in case.fired()
    travel(due + SECOND)
    assert "Timer_gen_initial_solution" in case.fired()
    assert "Task_gen_initial_solution" in case.open_elements()
    [record] = case.limits("Timer_gen_initial_solution")
    assert (record.status, record.department) == ("breached", "sales")


def test_5_general_handling_completed_within_24_hours(deployed, clock, travel):
    case = open_case(deployed)
    classify(case, "general")
    assign(case)
    due = clock.now() + 24 * HOUR
    case.complete("Task_gen_initial_solution", "ts.qian", initial_solution="s", needs_customer=False)
    assert case.task("Task_gen_complete").due_at == due
    travel(due - SECOND)
    assert "Timer_gen_complete" not in case.fired()
    travel(due + SECOND)
    assert "Timer_gen_complete" in case.fired() and "Task_gen_complete" in case.open_elements()
    [record] = case.limits("Timer_gen_complete")
    assert (record.status, record.department) == ("breached", "tech_support")


def test_6_important_reported_within_15_minutes_else_reported_automatically(deployed, clock, travel, staff,
                                                                           smtp_catcher):
    case = open_case(deployed)
    classify(case, "important")
    due = case.task("Task_imp_report").due_at
    assert due == clock.now() + 15 * MINUTE
    travel(due - SECOND)
    assert case.open_elements() == {"Task_imp_report"} and "head:service_supervisors" not in recipients(deployed)
    travel(due + SECOND)
    assert case.open_elements() == {"Task_imp_meeting"}
    assert "重要问题上报：SR-2026-0001 华东机电有限公司" in subjects(deployed, smtp_catcher, "sup.luo@example.com")
    [record] = case.limits("Timer_imp_report")
    assert (record.status, record.department) == ("breached", "after_sales")


def test_7_important_handling_started_within_4_hours(deployed, clock, travel):
    case = open_case(deployed)
    important_to_handling(case)
    due = case.task("Task_imp_start").due_at
    travel(due - SECOND)
    assert "Timer_imp_start" not in case.fired()
    travel(due + SECOND)
    assert "Timer_imp_start" in case.fired() and "Task_imp_start" in case.open_elements()
    [record] = case.limits("Timer_imp_start")
    assert (record.status, record.department) == ("breached", "development")


def test_8_important_progress_reported_to_the_supervisor_every_2_hours(deployed, clock, travel):
    case = open_case(deployed)
    important_to_handling(case)
    started = clock.now()
    travel(started + 2 * HOUR - SECOND)
    assert "Task_imp_progress" not in case.open_elements()
    travel(started + 2 * HOUR + SECOND)
    report = case.task("Task_imp_progress")
    assert report.department == "development"
    case.complete("Task_imp_progress", "dev.liu", progress="失效件分析中")
    travel(started + 4 * HOUR + SECOND)  # the second report is due and nobody files it
    assert "Task_imp_progress" in case.open_elements()
    travel(started + 6 * HOUR + SECOND)
    duties = case.limits("Timer_imp_progress")
    assert [d.status for d in duties][:2] == ["met", "breached"]
    assert duties[0].person == "dev.liu"


def test_9_important_result_fed_back_within_24_hours(deployed, clock, travel):
    case = open_case(deployed)
    important_to_handling(case)
    case.complete("Task_imp_start", "dev.liu", start_note="启动")
    case.complete("Task_imp_complete", "dev.sun", measures="m", result="r")
    due = case.task("Task_imp_feedback").due_at
    assert due == clock.now() + 24 * HOUR
    travel(due - SECOND)
    assert "Timer_imp_feedback" not in case.fired()
    travel(due + SECOND)
    assert "Timer_imp_feedback" in case.fired() and case.open_elements() == {"Task_imp_feedback"}
    [record] = case.limits("Timer_imp_feedback")
    assert (record.status, record.department) == ("breached", "after_sales")


def test_10_urgent_leaders_notified_within_5_minutes_else_by_the_system(deployed, clock, travel, staff,
                                                                       smtp_catcher):
    case = open_case(deployed)
    classify(case, "urgent")
    due = case.task("Task_urg_notify").due_at
    assert due == clock.now() + 5 * MINUTE
    travel(due - SECOND)
    assert case.open_elements() == {"Task_urg_notify"}
    travel(due + SECOND)
    assert case.open_elements() == {"Task_urg_form_team"}
    for head in ("sup.luo", "ts.dong", "sales.zhao", "dev.sun"):
        assert any(s.startswith("紧急问题超时未通知，系统自动通知：SR-2026-0001")
                   for s in subjects(deployed, smtp_catcher, f"{head}@example.com")), head
    [record] = case.limits("Timer_urg_notify")
    assert record.status == "breached"


def test_11_urgent_team_formed_within_15_minutes(deployed, clock, travel):
    case = open_case(deployed)
    classify(case, "urgent")
    case.complete("Task_urg_notify", SPECIALIST, responsible_department="tech_support", emergency_summary="s")
    team = case.task("Task_urg_form_team")
    assert team.department == "service_supervisors" and team.due_at == clock.now() + 15 * MINUTE
    travel(team.due_at - SECOND)
    assert "Timer_urg_form_team" not in case.fired()
    travel(team.due_at + SECOND)
    assert "Timer_urg_form_team" in case.fired() and case.open_elements() == {"Task_urg_form_team"}
    [record] = case.limits("Timer_urg_form_team")
    assert (record.status, record.department) == ("breached", "service_supervisors")


def test_12_urgent_progress_told_to_the_customer_every_30_minutes(deployed, clock, travel):
    case = open_case(deployed)
    urgent_to_team(case)
    started = clock.now()
    travel(started + 30 * MINUTE - SECOND)
    assert "Task_urg_progress" not in case.open_elements()
    travel(started + 30 * MINUTE + SECOND)
    assert case.task("Task_urg_progress").department == "after_sales"
    case.complete("Task_urg_progress", SPECIALIST, progress_to_customer="备件已发出")
    travel(started + 60 * MINUTE + SECOND)
    case.complete("Task_urg_progress", SPECIALIST, progress_to_customer="工程师已到场")
    travel(started + 90 * MINUTE + SECOND)
    duties = case.limits("Timer_urg_progress")
    assert [d.status for d in duties][:2] == ["met", "met"]
    case.complete("Task_urg_resolve", "ts.qian", measures="m", result="r")
    assert case.open_elements() == {"Task_feedback"}  # the resolution ends the report still open


def test_13_urgent_resolved_within_4_hours(deployed, clock, travel):
    case = open_case(deployed)
    urgent_to_team(case)
    due = case.task("Task_urg_resolve").due_at
    assert due == clock.now() + 4 * HOUR
    travel(due - SECOND)
    assert "Timer_urg_resolve" not in case.fired()
    travel(due + SECOND)
    assert "Timer_urg_resolve" in case.fired() and "Task_urg_resolve" in case.open_elements()
    [record] = case.limits("Timer_urg_resolve")
    assert (record.status, record.department) == ("breached", "tech_support")


def saved_state_size(engine, case: Case) -> int:
    from engine.models import ProcessInstance
    with engine.db.sessions() as session:
        return len(session.get(ProcessInstance, case.id).state)


def test_a_long_emergency_with_many_reports_and_restarts_stays_small_and_closes(deployed, travel):
    """Far past a realistic case: 12 hours of half-hourly reports to the customer and 50 rounds of an
    unsatisfied customer; the saved state must not grow with them (the task tree is compacted)."""
    case = open_case(deployed)
    urgent_to_team(case)
    travel(by=SECOND)
    for _ in range(24):
        travel(by=30 * MINUTE)
        case.complete("Task_urg_progress", SPECIALIST, progress_to_customer="进展")
    sizes = {}
    for round_no in range(1, 51):
        case.complete("Task_urg_resolve", "ts.qian", measures=f"第{round_no}轮", result="已处理")
        feedback(case, "dissatisfied")
        case.complete("Task_record_demands", SPECIALIST, unsatisfied_demands="仍不满意")
        if round_no in (1, 50):
            sizes[round_no] = saved_state_size(deployed, case)
    assert sizes[50] <= sizes[1] * 1.1
    case.complete("Task_urg_resolve", "ts.qian", measures="最终", result="解决")
    feedback(case, "satisfied")
    assert case.instance.status == "completed" and service_case(deployed).restarts == 50
    duties = case.limits("Timer_urg_progress")
    assert len(duties) == 24 and all(d.status == "met" for d in duties)
