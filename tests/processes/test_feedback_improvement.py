"""P6 客户反馈与产品改进 (seed 003): each class from intake to its end (R&D problems to technical support's
root-cause analysis with R&D and quality engineers and the product manager's plan, urgent/important without R&D to
a senior after-sales engineer with technical support, general to the specialist, suggestions to the product
manager), every limit a second before and a second after, counted from the moment the text names (receipt, the
acknowledgement for the 24 h / 48 h promised handling time, the implementation for the result and the callback),
who is told of each miss, a plan rejected by one head, the sold products, the 10–20 customer beta, a failed
verification, a dissatisfied customer's second handling, the knowledge base and the problem flagged on its 6th
feedback of the month."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.diagrams.forms import InvalidForm
from engine.errors import HeadsOnly
from engine.records import queries
from engine.storage.models import OutboxMessage
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
SPECIALIST, SENIOR, SUPPORT, ENGINEER, QE = "svc.huang", "svc.lin", "ts.qian", "dev.liu", "qa.wang"
HEADS = {"product": "pm.deng", "rd": "dev.sun", "quality": "qa.chen"}
KEY = "jz-200/轴承异响"


def beijing(day: int, hour: int = 9, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BEIJING)


def intake(**overrides):
    form = {"channel": "phone", "customer": "华东机电有限公司", "contact": "王经理 138-0000-1234",
            "product_model": "JZ-200", "summary": "电机运行异响，转速下降"}
    form.update(overrides)
    return form


def open_feedback(engine, **overrides) -> Case:
    return Case(engine, engine.start_instance("feedback_improvement", intake(**overrides), SPECIALIST))


def record(case: Case, feedback_class: str = "important") -> None:
    case.complete("Task_record_form", SPECIALIST, company="华东机电有限公司", batch="B2611-07",
                  phenomenon="运行时轴承部位异响，转速低于额定值20%", frequency="每天数次", scenario="产线连续运转",
                  expected_solution="更换电机并查明原因", feedback_class=feedback_class, class_basis="核心功能低于规格")


def respond(case: Case, complexity: str = "general") -> None:
    """The acknowledgement, telling the customer the handling time of the problem's complexity."""
    case.complete("Task_first_response", SPECIALIST, response_channel="phone", complexity=complexity,
                  first_response="已收到您的反馈，我们将尽快处理")


def judge_feasibility(case: Case, feasibility: str = "needs_rd") -> None:
    """Technical support's opinion, then the specialist's judgement (003 二(二): jointly)."""
    case.complete("Task_feasibility_support", SUPPORT, support_opinion="需拆机分析，疑似轴承批次问题")
    case.complete("Task_feasibility", SPECIALIST, feasibility=feasibility, feasibility_note="需拆机分析")


def analysis(problem_code: str = "轴承异响") -> dict:
    return {"root_cause": "轴承游隙偏小，高温下卡滞", "cause_category": "supplier", "problem_code": problem_code,
            "analysis_report": "复现：连续运转4小时后异响；拆检轴承游隙 C2，设计要求 C3",
            "test_cases": "连续运转8小时无异响\n满载转速不低于额定值"}


def analyse(case: Case, problem_code: str = "轴承异响") -> None:
    """An R&D problem's root cause: development and quality engineers join, technical support leads."""
    case.complete("Task_root_cause_development", ENGINEER, rd_findings="日志显示高温报警")
    case.complete("Task_root_cause_quality", QE, quality_findings="拆检：轴承批次 B07 游隙偏小")
    case.complete("Task_root_cause", SUPPORT, **analysis(problem_code))


def handle_directly(case: Case, feedback_class: str, problem_code: str = "轴承异响") -> None:
    """A problem without R&D: the specialist alone (general) or the senior engineer with technical support."""
    fields = {"problem_code": problem_code, "root_cause": "润滑脂不足", "cause_category": "usage",
              "handling_record": "补充润滑脂并更换轴承"}
    if feedback_class == "general":
        case.complete("Task_specialist_follow_up", SPECIALIST, **fields)
    else:
        case.complete("Task_tech_support_joint", SUPPORT, support_actions="远程排查，指导降载运行",
                      temporary_measure="降载至80%运行")
        case.complete("Task_senior_handling", SENIOR, **fields)


def propose(case: Case, implementation: str = "none", rd_iteration: bool = False) -> None:
    """R&D, after-sales and quality give their input, the product manager draws up the plan."""
    case.complete("Task_plan_development", ENGINEER, plan_input_development="更换C3游隙轴承")
    case.complete("Task_plan_after_sales", SPECIALIST, plan_input_after_sales="已售200台上门更换")
    case.complete("Task_plan_quality", QE, plan_input_quality="加严进货检验")
    case.complete("Task_plan", "pm.han", short_term_fix="更换C3游隙轴承", long_term_change="轴承供应商变更并加严进货检验",
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
    analyse(case)
    propose(case)
    review(case)


def verify(case: Case, result: str = "pass") -> None:
    case.complete("Task_verification", QE, verification_result=result,
                  verification_record="两条测试用例均通过", customer_verification_report="客户现场试运行8小时无异响")


def tell_result(case: Case) -> None:
    case.complete("Task_result_to_customer", SPECIALIST, result_channel="phone", result_summary="已更换轴承，异响消除",
                  usage_guidance="每500小时补充润滑脂")


def call_back(case: Case, score: int) -> None:
    case.complete("Task_callback", SPECIALIST, callback_way="phone", satisfaction=score,
                  callback_comment="满意" if score >= 4 else "仍有轻微异响")


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


def told_of_miss(engine, case: Case, limit_name: str) -> set[str]:
    return {m.recipient for m in outbox(engine) if m.instance_id == case.id and m.subject.startswith(f"超时：{limit_name}")}


def assert_limit(engine, travel, case: Case, timer: str, due: datetime, name: str, department: str,
                 told: set[str]) -> None:
    """Nothing is missed a second before the due time, the limit is a second after, and `told` hear of it."""
    [limit] = [r for r in case.limits(timer) if r.status == "running"]
    assert (limit.due_at, limit.name, limit.department) == (due, name, department)
    travel(due - SECOND)
    assert case.limits(timer)[-1].status == "running" and told_of_miss(engine, case, name) == set()
    travel(due + SECOND)
    assert case.limits(timer)[-1].status == "breached"
    assert told_of_miss(engine, case, name) == told
    assert case.open_elements()  # a missed limit is recorded; the work itself stays open


def close(case: Case) -> None:
    """From the approved plan to the closing of an R&D case without sold products or iteration."""
    verify(case)
    tell_result(case)
    call_back(case, 5)


# -- the classes ------------------------------------------------------------------------------------------
def test_an_rd_problem_from_intake_to_the_knowledge_base(deployed, clock, staff):
    case = open_feedback(deployed)
    row = feedback(deployed)
    assert case.instance.business_key == row.feedback_no == "FK-2026-0001"
    assert (row.channel, row.customer, row.received_by, row.handling_rounds) == ("phone", "华东机电有限公司", SPECIALIST, 1)
    assert case.open_elements() == {"Task_record_form"}
    assert case.task("Task_record_form").department == "after_sales"
    record(case, "important")
    assert case.task("Task_first_response").department == "after_sales"
    clock.advance(2 * HOUR)
    respond(case, "complex")
    row = feedback(deployed)
    assert row.first_response_at == row.received_at + 2 * HOUR and row.first_response_channel == "phone"
    assert (row.feedback_class, row.batch, row.frequency, row.complexity) == ("important", "B2611-07", "每天数次", "complex")
    # 003 二(二): the specialist judges jointly with technical support.
    assert case.task("Task_feasibility_support").department == "tech_support"
    case.complete("Task_feasibility_support", SUPPORT, support_opinion="疑似轴承批次问题，需研发介入")
    assert case.task("Task_feasibility").department == "after_sales"
    case.complete("Task_feasibility", SPECIALIST, feasibility="needs_rd", feasibility_note="需拆机分析")
    # 003 二(三): R&D problems: technical support leads, R&D and quality engineers join.
    assert {t.element_id: t.department for t in case.open_tasks()} == {
        "Task_root_cause_development": "development", "Task_root_cause_quality": "quality"}
    case.complete("Task_root_cause_development", ENGINEER, rd_findings="日志显示高温报警")
    case.complete("Task_root_cause_quality", QE, quality_findings="拆检：轴承批次 B07 游隙偏小")
    assert case.task("Task_root_cause").department == "tech_support"
    case.complete("Task_root_cause", SUPPORT, **analysis())
    row = feedback(deployed)
    assert (row.feasibility, row.root_cause, row.cause_category, row.problem_key) == (
        "needs_rd", "轴承游隙偏小，高温下卡滞", "supplier", KEY)
    assert row.test_cases.startswith("连续运转8小时") and row.analysed_by == SUPPORT
    assert "研发工程师：日志显示高温报警" in row.analysis_report and "质量工程师：拆检" in row.analysis_report
    # 003 二(三): the product manager organises R&D, after-sales and quality for the plan.
    assert {t.element_id: t.department for t in case.open_tasks()} == {
        "Task_plan_development": "development", "Task_plan_after_sales": "after_sales",
        "Task_plan_quality": "quality"}
    propose(case)
    assert {case.task(f"Task_review_{h}").department for h in HEADS} == {"product_management", "development", "quality"}
    with pytest.raises(HeadsOnly, match="head of department 'development'"):  # the R&D head reviews, not an engineer
        deployed.claim_task(case.task("Task_review_rd").id, "dev.liu")
    review(case)
    [plan] = records(deployed, ImprovementPlan)
    assert (plan.version, plan.status, plan.implementation, plan.drafted_by) == (1, "approved", "none", "pm.han")
    assert sorted((r.role, r.decision, r.reviewer) for r in records(deployed, PlanReview)) == [
        ("产品总监", "approve", "pm.deng"), ("研发负责人", "approve", "dev.sun"), ("质量负责人", "approve", "qa.chen")]
    assert case.task("Task_verification").department == "quality"
    verify(case)
    assert case.task("Task_result_to_customer").department == "after_sales"
    tell_result(case)
    assert case.task("Task_callback").department == "after_sales"
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
    assert {r.element_id: r.status for r in queries.sla_records(deployed.db, case.id)} == {
        "Timer_record_form": "met", "Timer_handling": "met", "Timer_feasibility": "met", "Timer_root_cause": "met",
        "Timer_result_to_customer": "met", "Timer_callback": "met"}


@pytest.mark.parametrize("feedback_class", ["urgent", "important"])
def test_urgent_and_important_go_to_a_senior_after_sales_engineer_with_technical_support(deployed, feedback_class):
    case = open_feedback(deployed)
    record(case, feedback_class)
    respond(case)
    judge_feasibility(case, "part_replacement")
    assert {t.element_id: t.department for t in case.open_tasks()} == {
        "Task_senior_handling": "after_sales", "Task_tech_support_joint": "tech_support"}
    case.complete("Task_senior_handling", SENIOR, problem_code="轴承异响", root_cause="润滑脂不足",
                  cause_category="usage", handling_record="更换轴承")
    assert case.open_elements() == {"Task_tech_support_joint"}  # the result waits for technical support too
    case.complete("Task_tech_support_joint", SUPPORT, support_actions="现场排查")
    assert case.open_elements() == {"Task_result_to_customer"}
    row = feedback(deployed)
    # Saved once both have finished (by whoever finished last), with technical support's part.
    assert (row.analysed_by, row.problem_key, row.implementation_record) == (SUPPORT, KEY, "更换轴承；技术支持：现场排查")
    assert [e.actor for e in case.events("task_completed")][-2:] == [SENIOR, SUPPORT]
    assert records(deployed, ImprovementPlan) == []  # no R&D: no root-cause analysis, no plan


def test_a_general_problem_is_followed_up_by_the_specialist_directly(deployed):
    case = open_feedback(deployed)
    record(case, "general")
    respond(case)
    judge_feasibility(case, "known_issue")
    assert case.open_elements() == {"Task_specialist_follow_up"}
    assert case.task("Task_specialist_follow_up").department == "after_sales"
    handle_directly(case, "general")
    tell_result(case)
    call_back(case, 4)
    assert case.instance.status == "completed"
    row = feedback(deployed)
    assert (row.feedback_class, row.analysed_by, row.implementation_record) == ("general", SPECIALIST, "补充润滑脂并更换轴承")
    [entry] = records(deployed, KnowledgeEntry)
    assert (entry.cause, entry.solution) == ("润滑脂不足", "补充润滑脂并更换轴承")


def test_a_general_problem_that_needs_rd_goes_to_the_root_cause_analysis(deployed):
    case = open_feedback(deployed)
    record(case, "general")
    respond(case)
    judge_feasibility(case, "needs_rd")
    assert case.open_elements() == {"Task_root_cause_development", "Task_root_cause_quality"}


def test_a_suggestion_is_passed_to_the_product_manager(deployed, clock):
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


# -- the limits, each from the moment the text names -----------------------------------------------------
RECORD_FORM = "收到反馈后1个工作日内完成《客户反馈记录表》"
HANDLING = "告知客户的处理时限：一般问题24小时内、复杂问题48小时内"
FEASIBILITY = "1个工作日内完成初步可行性判断"
ROOT_CAUSE = "3个工作日内完成根因分析（《问题分析报告》）"
RESULT = "方案实施完成后1个工作日内将处理结果同步至客户"
CALLBACK = "方案实施后3个工作日内完成满意度回访"


def test_record_form_within_1_working_day_of_receipt(deployed, travel):
    case = open_feedback(deployed)  # Monday 16 Nov 09:00
    assert case.task("Task_record_form").due_at == beijing(17)
    assert_limit(deployed, travel, case, "Timer_record_form", beijing(17), RECORD_FORM, "after_sales",
                 {"department:after_sales"})


def test_the_record_form_is_complete_only_with_the_first_response(deployed, travel):
    """Table 1 has the columns 首次响应人 and 处理时限: the acknowledgement is inside the 1 working day."""
    case = open_feedback(deployed)
    record(case)
    assert case.open_elements() == {"Task_first_response"}
    assert case.task("Task_first_response").due_at == beijing(17)
    assert_limit(deployed, travel, case, "Timer_record_form", beijing(17), RECORD_FORM, "after_sales",
                 {"department:after_sales"})
    # The acknowledgement has no limit of its own (the text gives none), the handling time has not started.
    assert {r.element_id for r in queries.sla_records(deployed.db, case.id)} == {"Timer_record_form"}


def test_a_friday_feedback_has_its_record_form_due_on_monday(deployed, clock, travel):
    clock.set(beijing(20, 10))  # Friday 20 Nov 2026
    case = open_feedback(deployed)
    assert_limit(deployed, travel, case, "Timer_record_form", beijing(23, 10), RECORD_FORM, "after_sales",
                 {"department:after_sales"})


@pytest.mark.parametrize("complexity, hours", [("general", 24), ("complex", 48)])
def test_the_handling_time_promised_runs_from_the_acknowledgement_to_the_result(deployed, clock, travel,
                                                                                complexity, hours):
    case = open_feedback(deployed)
    record(case, "general")
    clock.set(beijing(20, 16))  # acknowledged on Friday afternoon: hours count over the weekend
    respond(case, complexity)
    acknowledged = clock.now()
    # The technical support opinion is open when the time runs out: its department, and after-sales' head
    # (who promised the customer) hear of it.
    assert_limit(deployed, travel, case, "Timer_handling", acknowledged + hours * HOUR, HANDLING, "after_sales",
                 {"department:tech_support", "head:after_sales"})


def test_the_handling_time_is_met_when_the_result_reaches_the_customer(deployed, clock, travel):
    case = open_feedback(deployed)
    record(case, "general")
    respond(case, "general")
    acknowledged = clock.now()
    judge_feasibility(case, "known_issue")
    handle_directly(case, "general")
    travel(acknowledged + 24 * HOUR - SECOND)
    tell_result(case)
    assert case.limit("Timer_handling").status == "met"
    travel(acknowledged + 30 * HOUR)
    assert case.limit("Timer_handling").status == "met" and "Timer_handling" not in case.fired()


def test_feasibility_judged_within_1_working_day_jointly(deployed, clock, travel):
    case = open_feedback(deployed)
    record(case)
    clock.set(beijing(19, 15))  # acknowledged on Thursday afternoon: the judgement can start
    respond(case, "complex")
    assert_limit(deployed, travel, case, "Timer_feasibility", beijing(20, 15), FEASIBILITY, "after_sales",
                 {"department:tech_support", "head:after_sales"})
    # Technical support's opinion in, the specialist's judgement is still under the same limit.
    case.complete("Task_feasibility_support", SUPPORT, support_opinion="已知问题")
    assert case.task("Task_feasibility").department == "after_sales"


def test_root_cause_within_3_working_days_across_a_weekend(deployed, clock, travel):
    case = open_feedback(deployed)
    record(case)
    respond(case, "complex")
    clock.set(beijing(19, 11))  # needs R&D on Thursday: Friday, Monday, Tuesday
    judge_feasibility(case, "needs_rd")
    case.complete("Task_root_cause_development", ENGINEER, rd_findings="日志显示高温报警")
    assert_limit(deployed, travel, case, "Timer_root_cause", beijing(24, 11), ROOT_CAUSE, "tech_support",
                 {"department:quality", "head:tech_support"})


def test_result_within_1_working_day_and_callback_within_3_of_the_implementation(deployed, clock, travel):
    case = open_feedback(deployed)
    to_verification(case)
    clock.set(beijing(20, 16))  # implemented (verified) on Friday afternoon
    verify(case)
    assert_limit(deployed, travel, case, "Timer_result_to_customer", beijing(23, 16), RESULT, "after_sales",
                 {"department:after_sales"})
    tell_result(case)  # told late, on Monday
    # The callback's 3 working days run from the implementation, not from the result: Mon, Tue, Wed.
    assert_limit(deployed, travel, case, "Timer_callback", beijing(25, 16), CALLBACK, "after_sales",
                 {"department:after_sales"})


def test_the_callback_limit_of_a_direct_handling_runs_from_its_end(deployed, clock, travel):
    case = open_feedback(deployed)
    record(case, "general")
    respond(case)
    judge_feasibility(case, "software_update")
    clock.set(beijing(18, 14))  # handled on Wednesday: Thursday, Friday, Monday
    handle_directly(case, "general")
    clock.set(beijing(19, 10))
    tell_result(case)
    assert case.limit("Timer_result_to_customer").status == "met"
    assert_limit(deployed, travel, case, "Timer_callback", beijing(23, 14), CALLBACK, "after_sales",
                 {"department:after_sales"})


def test_limits_of_finished_work_never_fire(deployed, travel):
    case = open_feedback(deployed)
    record(case, "general")
    respond(case)
    judge_feasibility(case, "known_issue")
    handle_directly(case, "general")
    tell_result(case)
    call_back(case, 5)
    assert case.instance.status == "completed"
    travel(by=timedelta(days=30))  # the monthly processes start their own cases on 1 December meanwhile
    assert case.events("timer_fired") == [] and misses(deployed, case) == []


# -- the alternative paths --------------------------------------------------------------------------------
def rd_case(engine) -> Case:
    case = open_feedback(engine)
    record(case)
    respond(case)
    judge_feasibility(case)
    analyse(case)
    return case


def test_a_plan_rejected_by_one_head_goes_back_for_a_new_version(deployed):
    case = rd_case(deployed)
    propose(case)
    review(case, rejected_by="quality")
    assert case.open_elements() == {"Task_plan_development", "Task_plan_after_sales", "Task_plan_quality"}
    [rejection] = case.events("improvement_plan_rejected")
    assert rejection.detail["rejected_by"] == [{"role": "质量负责人", "reviewer": "qa.chen", "comment": "长期措施不具体"}]
    assert case.task("Task_plan_quality").data["plan_rejections"] == "质量负责人：长期措施不具体"
    propose(case)
    assert all(case.task(f"Task_review_{h}").data.get("review_decision") is None for h in HEADS)
    review(case)
    assert case.open_elements() == {"Task_verification"}
    assert [(p.version, p.status) for p in records(deployed, ImprovementPlan)] == [(1, "rejected"), (2, "approved")]
    assert len(records(deployed, PlanReview)) == 6


@pytest.mark.parametrize("implementation, element_id, form, recorded", [
    ("recall", "Task_recall", {"recall_scope": "B2611-07 批次 300 台", "implementation_record": "已召回"},
     "B2611-07 批次 300 台；已召回"),
    ("on_site", "Task_on_site_replacement", {"units_replaced": 12, "implementation_record": "已上门更换"},
     "更换 12 台；已上门更换"),
    ("mail_in", "Task_mail_in", {"implementation_record": "客户寄回维修"}, "客户寄回维修"),
])
def test_sold_products_are_recalled_replaced_on_site_or_mailed_in_by_after_sales(deployed, implementation,
                                                                                element_id, form, recorded):
    case = rd_case(deployed)
    propose(case, implementation)
    review(case)
    assert case.open_elements() == {element_id}
    assert case.task(element_id).department == "after_sales"  # 003 二(四) 售后端
    case.complete(element_id, SPECIALIST, **form)
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
    case = rd_case(deployed)
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
    assert case.open_elements() == {"Task_plan_development", "Task_plan_after_sales", "Task_plan_quality"}
    propose(case)
    review(case)
    verify(case)
    assert case.open_elements() == {"Task_result_to_customer"}


def test_a_score_below_4_starts_a_second_handling_then_5_archives(deployed, staff):
    case = open_feedback(deployed)
    to_verification(case)
    close_round = case.limits("Timer_handling")
    verify(case)
    tell_result(case)
    call_back(case, 3)
    # Second handling: the handling again, from the joint feasibility judgement.
    assert case.open_elements() == {"Task_feasibility_support"}
    assert len(case.limits("Timer_handling")) == len(close_round) + 1
    row = feedback(deployed)
    assert (row.handling_rounds, row.satisfaction, row.closed_at) == (2, 3, None)
    [started] = case.events("second_handling_started")
    assert started.detail == {"feedback_no": "FK-2026-0001", "satisfaction": 3, "handling_round": 2}
    assert "head:after_sales" in {m.recipient for m in outbox(deployed)}
    assert records(deployed, KnowledgeEntry) == []
    judge_feasibility(case)
    analyse(case, problem_code="轴承异响")
    propose(case)
    review(case)
    close(case)
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
    judge_feasibility(case, "known_issue")
    handle_directly(case, "general", problem_code)
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
    [notice] = [m for m in outbox(deployed) if m.recipient == "head:product_management"]  # who organises the review
    assert KEY in notice.subject and "FK-2026-0002" in notice.body
    [entry] = records(deployed, KnowledgeEntry)
    assert (entry.occurrences, entry.source_feedback_no) == (2, "FK-2026-0001")
    with deployed.db.sessions() as session:
        assert recurring_problems(session, beijing(1, 0), beijing(1, 0, month=12)) == [(KEY, 6)]
        assert recurring_problems(session, beijing(1, 0), beijing(1, 0, month=12), threshold=6) == []
        assert recurring_problems(session, beijing(1, 0, month=10), beijing(1, 0)) == []
