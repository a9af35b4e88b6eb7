"""P6 客户反馈与产品改进: each class from intake to its end (urgent/important to the senior engineer and
technical support, general to the specialist, suggestion to the backlog), the 24 h / 48 h first response and
every working-day limit just before and just after (one across a weekend), a plan rejected by one head, the
four ways of handling sold products, the 10–20 customer beta, a failed verification, a dissatisfied customer's
second handling, the knowledge base and the problem flagged on its 6th feedback of the month."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine import queries
from engine.errors import HeadsOnly
from engine.forms import InvalidForm
from engine.models import OutboxMessage
from handlers.product_improvement import (
    BacklogItem,
    BetaParticipant,
    CustomerFeedback,
    ImprovementPlan,
    KnowledgeEntry,
    PlanReview,
    recurring_problems,
)
from tests.conftest import BEIJING
from tests.processes.conftest import Case

SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
SPECIALIST, SUPPORT, ENGINEER, BUSINESS = "svc.huang", "ts.qian", "dev.liu", "biz.tang"
HEADS = {"product": "pm.deng", "rd": "dev.sun", "quality": "qa.chen"}
KEY = "jz-200/轴承异响"


@pytest.fixture(autouse=True)
def _directory(staff):
    """The demo users: some steps are for a department's head only (candidateGroups "head:<code>")."""
    return staff


def beijing(day: int, hour: int = 9, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BEIJING)


def intake(**overrides):
    form = {"channel": "phone", "customer": "华东机电有限公司", "contact": "王经理 138-0000-1234",
            "product_model": "JZ-200", "complexity": "general", "summary": "电机运行异响，转速下降"}
    form.update(overrides)
    return form


def open_feedback(engine, **overrides) -> Case:
    return Case(engine, engine.start_instance("feedback_improvement", intake(**overrides), SPECIALIST))


def record(case: Case, feedback_class: str = "important") -> None:
    case.complete("Task_record_form", SPECIALIST, company="华东机电有限公司", batch="B2611-07",
                  phenomenon="运行时轴承部位异响，转速低于额定值20%", frequency="每天数次", scenario="产线连续运转",
                  expected_solution="更换电机并查明原因", feedback_class=feedback_class, class_basis="核心功能低于规格")


def respond(case: Case, complexity: str = "general") -> None:
    case.complete(f"Task_first_response_{complexity}", SPECIALIST, response_channel="phone",
                  first_response="已收到反馈，技术人员将于两天内给出初步结论")


def judge_feasibility(case: Case, feasibility: str = "needs_rd") -> None:
    case.complete("Task_feasibility", SUPPORT, feasibility=feasibility, feasibility_note="需拆机分析")


def analysis(problem_code: str = "轴承异响") -> dict:
    return {"root_cause": "轴承游隙偏小，高温下卡滞", "cause_category": "supplier", "problem_code": problem_code,
            "analysis_report": "复现：连续运转4小时后异响；拆检轴承游隙 C2，设计要求 C3",
            "test_cases": "连续运转8小时无异响\n满载转速不低于额定值"}


def analyse(case: Case, feedback_class: str = "important", problem_code: str = "轴承异响") -> None:
    """The analysis of the class's assignee (and technical support's help for urgent/important)."""
    if feedback_class == "general":
        case.complete("Task_specialist_analysis", SPECIALIST, **analysis(problem_code))
    else:
        case.complete("Task_tech_support_assist", SUPPORT, support_actions="远程排查，指导降载运行",
                      temporary_measure="降载至80%运行")
        case.complete("Task_senior_analysis", ENGINEER, **analysis(problem_code))


def propose(case: Case, implementation: str = "none", rd_iteration: bool = False) -> None:
    case.complete("Task_plan", ENGINEER, short_term_fix="更换C3游隙轴承", long_term_change="轴承供应商变更并加严进货检验",
                  schedule="2周内完成", owners="刘洋、王芳", resources="备件200套", implementation=implementation,
                  rd_iteration=rd_iteration)


def review(case: Case, rejected_by: str | None = None) -> None:
    for head, user in HEADS.items():
        decision = "reject" if head == rejected_by else "approve"
        case.complete(f"Task_review_{head}", user, review_decision=decision,
                      review_comment="长期措施不具体" if decision == "reject" else "同意")


def to_verification(case: Case, feedback_class: str = "important", complexity: str = "general") -> None:
    record(case, feedback_class)
    respond(case, complexity)
    judge_feasibility(case)
    analyse(case, feedback_class)
    propose(case)
    review(case)


def verify(case: Case, result: str = "pass") -> None:
    case.complete("Task_verification", "qa.wang", verification_result=result,
                  verification_record="两条测试用例均通过", customer_verification_report="客户现场试运行8小时无异响")


def tell_result(case: Case) -> None:
    case.complete("Task_result_to_customer", SPECIALIST, result_channel="phone", result_summary="已更换轴承，异响消除")


def call_back(case: Case, score: int) -> None:
    case.complete("Task_callback", BUSINESS, satisfaction=score, callback_comment="满意" if score >= 4 else "仍有轻微异响")


def records(engine, model) -> list:
    with engine.db.sessions() as session:
        rows = session.scalars(select(model).order_by(model.id)).all()
        session.expunge_all()
        return rows


def feedback(engine) -> CustomerFeedback:
    [row] = records(engine, CustomerFeedback)
    return row


def outbox(engine) -> list[OutboxMessage]:
    return records(engine, OutboxMessage)


def misses(engine, case: Case) -> list[tuple[str, str]]:
    return [(r.name, r.department) for r in queries.sla_records(engine.db, case.id, status="breached")]


def assert_limit(engine, travel, case: Case, element_id: str, due: datetime, limit: tuple[str, str]) -> None:
    """The task shows the due time; nothing is missed a second before it, the limit is a second after."""
    task = case.task(element_id)
    assert (task.due_at, task.limit_name) == (due, limit[0])
    travel(due - SECOND)
    assert limit not in misses(engine, case)
    travel(due + SECOND)
    assert limit in misses(engine, case)
    assert element_id in case.open_elements()  # a missed limit is recorded; the work itself stays open


# -- the classes ------------------------------------------------------------------------------------------
def test_important_feedback_from_intake_to_the_knowledge_base(deployed, clock, staff):
    case = open_feedback(deployed)
    row = feedback(deployed)
    assert case.instance.business_key == row.feedback_no == "FK-2026-0001"
    assert (row.channel, row.customer, row.received_by, row.handling_rounds) == ("phone", "华东机电有限公司", SPECIALIST, 1)
    assert case.open_elements() == {"Task_record_form", "Task_first_response_general"}
    assert case.task("Task_record_form").department == "after_sales"
    clock.advance(2 * HOUR)
    respond(case)
    record(case, "important")
    row = feedback(deployed)
    assert row.first_response_at == row.received_at + 2 * HOUR and row.first_response_channel == "phone"
    assert (row.feedback_class, row.batch, row.frequency) == ("important", "B2611-07", "每天数次")
    assert case.task("Task_feasibility").department == "tech_support"
    judge_feasibility(case)
    # Important: the senior engineer (R&D) analyses while technical support works with the customer.
    assert case.open_elements() == {"Task_senior_analysis", "Task_tech_support_assist"}
    assert case.task("Task_senior_analysis").department == "development"
    analyse(case, "important")
    row = feedback(deployed)
    assert (row.feasibility, row.root_cause, row.cause_category, row.problem_key) == (
        "needs_rd", "轴承游隙偏小，高温下卡滞", "supplier", KEY)
    assert row.test_cases.startswith("连续运转8小时") and row.analysed_by == ENGINEER
    propose(case)
    assert {case.task(f"Task_review_{h}").department for h in HEADS} == {"product_management", "development", "quality"}
    with pytest.raises(HeadsOnly, match="head of department 'development'"):  # the R&D head reviews, not an engineer
        deployed.claim_task(case.task("Task_review_rd").id, "dev.liu")
    assert case.task("Task_review_rd").claimed_by is None
    review(case)
    [plan] = records(deployed, ImprovementPlan)
    assert (plan.version, plan.status, plan.implementation) == (1, "approved", "none")
    assert sorted((r.role, r.decision, r.reviewer) for r in records(deployed, PlanReview)) == [
        ("产品总监", "approve", "pm.deng"), ("研发负责人", "approve", "dev.sun"), ("质量负责人", "approve", "qa.chen")]
    assert case.task("Task_verification").department == "quality"
    verify(case)
    tell_result(case)
    assert case.task("Task_callback").department == "business_office"
    call_back(case, 5)
    assert case.instance.status == "completed"

    row = feedback(deployed)
    assert (row.satisfaction, row.verification_result, row.handling_rounds, row.recurrence_flagged) == (5, "pass", 1, False)
    assert row.customer_verification_report == "客户现场试运行8小时无异响"
    assert row.result_sent_at is not None and row.closed_at == clock.now()
    [entry] = records(deployed, KnowledgeEntry)
    assert (entry.key, entry.problem, entry.cause, entry.occurrences, entry.source_feedback_no) == (
        KEY, "运行时轴承部位异响，转速低于额定值20%", "轴承游隙偏小，高温下卡滞", 1, "FK-2026-0001")
    assert "更换C3游隙轴承" in entry.solution and "轴承供应商变更" in entry.solution
    sections = {s.title: s for s in deployed.case_records(case.id)}
    assert sections["客户反馈记录表"].rows[0]["feedback_class"] == ("重要", "Important")
    assert len(sections["改进方案评审"].rows) == 3
    assert all(r.status == "met" for r in queries.sla_records(deployed.db, case.id))


@pytest.mark.parametrize("feedback_class", ["urgent", "important"])
def test_urgent_and_important_go_to_the_senior_engineer_and_technical_support(deployed, feedback_class):
    case = open_feedback(deployed)
    record(case, feedback_class)
    respond(case)
    judge_feasibility(case)
    assert case.open_elements() == {"Task_senior_analysis", "Task_tech_support_assist"}
    assert {case.task(e).department for e in case.open_elements()} == {"development", "tech_support"}
    case.complete("Task_senior_analysis", ENGINEER, **analysis())
    assert case.open_elements() == {"Task_tech_support_assist"}  # the plan waits for technical support too
    case.complete("Task_tech_support_assist", SUPPORT, support_actions="现场排查")
    assert case.open_elements() == {"Task_plan"}


def test_general_feedback_is_handled_by_the_specialist(deployed):
    case = open_feedback(deployed)
    record(case, "general")
    respond(case)
    judge_feasibility(case, "part_replacement")
    assert case.open_elements() == {"Task_specialist_analysis"}
    assert case.task("Task_specialist_analysis").department == "after_sales"
    analyse(case, "general")
    propose(case, "mail_in")
    review(case)
    case.complete("Task_mail_in", SPECIALIST, tracking_no="SF1234567890", implementation_record="客户寄回，已换新")
    verify(case)
    tell_result(case)
    call_back(case, 4)
    assert case.instance.status == "completed"
    row = feedback(deployed)
    assert (row.feedback_class, row.analysed_by, row.implementation) == ("general", SPECIALIST, "mail_in")
    assert row.implementation_record == "SF1234567890；客户寄回，已换新"


def test_a_suggestion_ends_in_the_product_managers_backlog(deployed, clock):
    case = open_feedback(deployed, summary="希望增加远程监控接口")
    record(case, "suggestion")
    respond(case)
    judge_feasibility(case, "needs_rd")
    assert case.open_elements() == {"Task_backlog"}
    assert case.task("Task_backlog").department == "product_management"
    case.complete("Task_backlog", "pm.han", backlog_priority="medium", backlog_note="列入下一代产品规划")
    assert case.instance.status == "completed"
    [item] = records(deployed, BacklogItem)
    assert (item.priority, item.added_by, item.product_model) == ("medium", "pm.han", "JZ-200")
    assert "运行时轴承部位异响" in item.suggestion and "更换电机并查明原因" in item.suggestion
    assert feedback(deployed).closed_at == clock.now()
    assert records(deployed, ImprovementPlan) == [] and records(deployed, KnowledgeEntry) == []
    assert {s.title for s in deployed.case_records(case.id)} == {"客户反馈记录表", "产品需求池"}


# -- the limits -------------------------------------------------------------------------------------------
def test_general_problem_first_response_within_24_hours(deployed, clock, travel):
    case = open_feedback(deployed, complexity="general")
    assert "Task_first_response_complex" not in case.open_elements()
    assert_limit(deployed, travel, case, "Task_first_response_general", clock.now() + 24 * HOUR,
                 ("一般问题24小时内首次响应", "after_sales"))


def test_complex_problem_first_response_within_48_hours(deployed, clock, travel):
    case = open_feedback(deployed, complexity="complex")
    assert "Task_first_response_general" not in case.open_elements()
    assert_limit(deployed, travel, case, "Task_first_response_complex", clock.now() + 48 * HOUR,
                 ("复杂问题48小时内首次响应", "after_sales"))


def test_record_form_within_1_working_day(deployed, travel):
    case = open_feedback(deployed)  # Monday 09:00
    assert_limit(deployed, travel, case, "Task_record_form", beijing(17),
                 ("1个工作日内完成《客户反馈记录表》", "after_sales"))


def test_a_friday_feedback_has_its_record_form_due_on_monday_but_its_first_response_on_saturday(
        deployed, clock, travel):
    clock.set(beijing(20, 10))  # Friday 20 Nov 2026
    case = open_feedback(deployed)
    assert case.task("Task_first_response_general").due_at == beijing(21, 10)  # hours count over the weekend
    assert_limit(deployed, travel, case, "Task_record_form", beijing(23, 10),
                 ("1个工作日内完成《客户反馈记录表》", "after_sales"))


def test_feasibility_judged_within_1_working_day(deployed, clock, travel):
    case = open_feedback(deployed)
    clock.set(beijing(19, 15))  # Thursday afternoon
    record(case)
    respond(case)
    assert_limit(deployed, travel, case, "Task_feasibility", beijing(20, 15),
                 ("1个工作日内完成可行性判断", "tech_support"))


@pytest.mark.parametrize("feedback_class, element_id, department", [
    ("important", "Task_senior_analysis", "development"),
    ("general", "Task_specialist_analysis", "after_sales"),
])
def test_root_cause_within_3_working_days_across_a_weekend(deployed, clock, travel, feedback_class, element_id,
                                                          department):
    case = open_feedback(deployed)
    record(case, feedback_class)
    respond(case)
    clock.set(beijing(19, 11))  # Thursday: Friday, Monday, Tuesday
    judge_feasibility(case)
    assert_limit(deployed, travel, case, element_id, beijing(24, 11),
                 ("3个工作日内完成根本原因分析（《问题分析报告》）", department))


def test_result_to_the_customer_within_1_working_day(deployed, clock, travel):
    case = open_feedback(deployed)
    to_verification(case)
    clock.set(beijing(20, 16))  # verified on Friday afternoon: the customer hears by Monday afternoon
    verify(case)
    assert_limit(deployed, travel, case, "Task_result_to_customer", beijing(23, 16),
                 ("1个工作日内将处理结果告知客户", "after_sales"))


def test_satisfaction_callback_within_3_working_days(deployed, clock, travel):
    case = open_feedback(deployed)
    to_verification(case)
    verify(case)
    clock.set(beijing(18, 14))  # told on Wednesday: Thursday, Friday, Monday
    tell_result(case)
    assert_limit(deployed, travel, case, "Task_callback", beijing(23, 14),
                 ("3个工作日内满意度回访", "business_office"))


def test_limits_of_finished_work_never_fire(deployed, travel):
    case = open_feedback(deployed)
    to_verification(case)
    assert case.open_elements() == {"Task_verification"} and case.instance.next_due_at is None
    travel(by=timedelta(days=30))  # the monthly processes start their own cases on 1 December meanwhile
    assert case.events("timer_fired") == [] and misses(deployed, case) == []


# -- the alternative paths --------------------------------------------------------------------------------
def test_a_plan_rejected_by_one_head_goes_back_for_a_new_version(deployed):
    case = open_feedback(deployed)
    record(case)
    respond(case)
    judge_feasibility(case)
    analyse(case)
    propose(case)
    review(case, rejected_by="quality")
    assert case.open_elements() == {"Task_plan"}
    [rejection] = case.events("improvement_plan_rejected")
    assert rejection.detail["rejected_by"] == [{"role": "质量负责人", "reviewer": "qa.chen", "comment": "长期措施不具体"}]
    assert case.task("Task_plan").data["plan_rejections"] == "质量负责人：长期措施不具体"
    propose(case)
    assert all(case.task(f"Task_review_{h}").data.get("review_decision") is None for h in HEADS)
    review(case)
    assert case.open_elements() == {"Task_verification"}
    assert [(p.version, p.status) for p in records(deployed, ImprovementPlan)] == [(1, "rejected"), (2, "approved")]
    assert len(records(deployed, PlanReview)) == 6


@pytest.mark.parametrize("implementation, element_id, department, form, recorded", [
    ("recall", "Task_recall", "after_sales", {"recall_scope": "B2611-07 批次 300 台", "implementation_record": "已召回"},
     "B2611-07 批次 300 台；已召回"),
    ("on_site", "Task_on_site_replacement", "tech_support", {"units_replaced": 12, "implementation_record": "已上门更换"},
     "更换 12 台；已上门更换"),
    ("mail_in", "Task_mail_in", "after_sales", {"implementation_record": "客户寄回维修"}, "客户寄回维修"),
])
def test_sold_products_are_recalled_replaced_on_site_or_mailed_in(deployed, implementation, element_id, department,
                                                                 form, recorded):
    case = open_feedback(deployed)
    record(case)
    respond(case)
    judge_feasibility(case)
    analyse(case)
    propose(case, implementation)
    review(case)
    assert case.open_elements() == {element_id}
    assert case.task(element_id).department == department
    case.complete(element_id, SPECIALIST if department == "after_sales" else SUPPORT, **form)
    assert case.open_elements() == {"Task_verification"}
    row = feedback(deployed)
    assert (row.implementation, row.implementation_record) == (implementation, recorded)


def test_no_action_on_sold_products_goes_straight_to_verification(deployed):
    case = open_feedback(deployed)
    to_verification(case)
    assert case.open_elements() == {"Task_verification"}
    assert feedback(deployed).implementation == "none"


def beta_list(count: int) -> str:
    return "\n".join(f"客户{n:02d}：试用两周无异响" for n in range(1, count + 1))


def test_a_beta_needs_10_to_20_customers(deployed):
    case = open_feedback(deployed)
    record(case)
    respond(case)
    judge_feasibility(case)
    analyse(case)
    propose(case, "none", rd_iteration=True)
    review(case)
    assert case.task("Task_internal_test").department == "development"
    case.complete("Task_internal_test", ENGINEER, iteration_version="V2.1", internal_test_result="台架测试通过")
    case.complete("Task_beta", ENGINEER, beta_customers=beta_list(9) + "\n客户09：重复一行\n\n", beta_results="通过")
    [refusal] = case.events("bpmn_error")
    assert refusal.detail["message"] == "Beta测试须有 10–20 家客户，本次填写了 9 家"
    assert case.open_elements() == {"Task_beta"} and records(deployed, BetaParticipant) == []
    case.complete("Task_beta", ENGINEER, beta_customers=beta_list(21), beta_results="通过")
    assert case.open_elements() == {"Task_beta"} and records(deployed, BetaParticipant) == []
    case.complete("Task_beta", ENGINEER, beta_customers=beta_list(10), beta_results="通过")
    assert case.open_elements() == {"Task_verification"}
    participants = records(deployed, BetaParticipant)
    assert len(participants) == 10 and participants[0].customer == "客户01"
    assert participants[0].result == "试用两周无异响" and participants[0].handling_round == 1
    [section] = [s for s in deployed.case_records(case.id) if s.title == "Beta测试客户"]
    assert len(section.rows) == 10


def test_a_failed_verification_needs_a_new_plan(deployed):
    case = open_feedback(deployed)
    to_verification(case)
    verify(case, "fail")
    assert case.open_elements() == {"Task_plan"}
    propose(case)
    review(case)
    verify(case)
    assert case.open_elements() == {"Task_result_to_customer"}


def test_a_score_below_4_starts_a_second_handling_then_5_archives(deployed, staff):
    case = open_feedback(deployed)
    to_verification(case)
    verify(case)
    tell_result(case)
    call_back(case, 3)
    # Second handling: back to the assignment of the class, the senior engineer and support again.
    assert case.open_elements() == {"Task_senior_analysis", "Task_tech_support_assist"}
    row = feedback(deployed)
    assert (row.handling_rounds, row.satisfaction, row.closed_at) == (2, 3, None)
    [started] = case.events("second_handling_started")
    assert started.detail == {"feedback_no": "FK-2026-0001", "satisfaction": 3, "handling_round": 2}
    assert {"head:after_sales", "head:business_office"} <= {m.recipient for m in outbox(deployed)}
    assert records(deployed, KnowledgeEntry) == []
    analyse(case, problem_code="轴承异响")
    propose(case)
    review(case)
    verify(case)
    tell_result(case)
    call_back(case, 5)
    assert case.instance.status == "completed"
    row = feedback(deployed)
    assert (row.handling_rounds, row.satisfaction) == (2, 5) and row.closed_at is not None
    [entry] = records(deployed, KnowledgeEntry)
    assert (entry.key, entry.occurrences) == (KEY, 1)


def test_satisfaction_outside_1_to_5_is_refused(deployed):
    case = open_feedback(deployed)
    to_verification(case)
    verify(case)
    tell_result(case)
    with pytest.raises(InvalidForm):
        call_back(case, 6)
    assert case.open_elements() == {"Task_callback"} and feedback(deployed).satisfaction is None


# -- the knowledge base and the monthly review --------------------------------------------------------------
def earlier_feedback(session, number: int, received: datetime, key: str = KEY) -> None:
    """A feedback on the same problem handled earlier (its case is long closed)."""
    session.add(CustomerFeedback(feedback_no=f"FK-2025-{number:04d}", instance_id=10_000 + number, channel="phone",
                                 customer=f"客户{number}", product_model="JZ-200", received_at=received,
                                 problem_key=key, handling_rounds=1, recurrence_flagged=False, closed_at=received))


def close_general_feedback(engine, problem_code: str = "轴承异响") -> Case:
    case = open_feedback(engine)
    record(case, "general")
    respond(case)
    judge_feasibility(case)
    analyse(case, "general", problem_code)
    propose(case)
    review(case)
    verify(case)
    tell_result(case)
    call_back(case, 5)
    assert case.instance.status == "completed"
    return case


def flagged(engine, case: Case) -> bool:
    with engine.db.sessions() as session:
        return session.scalar(select(CustomerFeedback.recurrence_flagged).where(CustomerFeedback.instance_id == case.id))


def test_the_6th_feedback_on_a_problem_in_a_month_is_flagged_for_the_monthly_review(deployed, staff):
    with deployed.db.sessions.begin() as session:
        for number, day in enumerate((2, 5, 9, 12), start=1):  # four earlier this November
            earlier_feedback(session, number, beijing(day))
        earlier_feedback(session, 5, beijing(31, 23, month=10))  # October: another month
        earlier_feedback(session, 6, beijing(3), key="jz-200/漏油")  # another problem
    fifth = close_general_feedback(deployed, problem_code=" 轴承异响 ")
    assert not flagged(deployed, fifth) and fifth.events("recurrence_flagged") == []
    sixth = close_general_feedback(deployed, problem_code="轴承异响")
    assert flagged(deployed, sixth)
    [event] = sixth.events("recurrence_flagged")
    assert (event.detail["count"], event.detail["month"], event.detail["threshold"]) == (6, "2026-11", 5)
    [notice] = [m for m in outbox(deployed) if m.recipient == "head:quality"]
    assert KEY in notice.subject and "FK-2026-0002" in notice.body
    [entry] = records(deployed, KnowledgeEntry)
    assert (entry.occurrences, entry.source_feedback_no) == (2, "FK-2026-0001")
    with deployed.db.sessions() as session:
        assert recurring_problems(session, beijing(1, 0), beijing(1, 0, month=12)) == [(KEY, 6)]
        assert recurring_problems(session, beijing(1, 0), beijing(1, 0, month=12), threshold=6) == []
        assert recurring_problems(session, beijing(1, 0, month=10), beijing(1, 0)) == []
