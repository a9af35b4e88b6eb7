"""P1 市场质量信息反馈处理: an important and a general case from the form to closing, every limit just
before and just after, the category override, and working days across the 2026 National Day."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine import queries
from engine.forms import InvalidForm
from handlers.change_notices import TechnicalChangeNotice
from handlers.feedback import FeedbackForm
from handlers.rectification import RectificationReport
from handlers.samples import SampleLedgerEntry
from tests.conftest import BEIJING
from tests.processes.conftest import Case

SECOND = timedelta(seconds=1)


def feedback_form(**overrides):
    form = {
        "customer": "华东机电有限公司", "product_name": "减速电机", "spec_model": "JZ-200", "batch_no": "B2611-07",
        "quantity_shipped": 1000, "quantity_nonconforming": 260, "characteristic": "key", "recurring": False,
        "consequence": "batch_return", "problem_description": "轴承异响，整批退货",
        "improvement_request": "请给出整改措施",
    }
    form.update(overrides)
    return form


def file_feedback(engine, **overrides) -> Case:
    return Case(engine, engine.start_instance("quality_feedback", feedback_form(**overrides), "sales.li"))


def register_samples(case: Case) -> None:
    case.complete("Task_register_samples", "sales.li", sample_name="退回样机", sample_spec="JZ-200",
                  supplier="本公司", arrival_time="2026-11-16", custodian="李雷", sample_quantity=2,
                  sample_source="customer_return")


def records(engine, model):
    with engine.db.sessions() as session:
        return session.scalars(select(model)).all()


def outbox(engine):
    engine.deliver_outbox()
    from engine.models import OutboxMessage
    return records(engine, OutboxMessage)


def walk_important_to_change(case: Case) -> None:
    case.complete("Task_confirm_category", "qa.wang", category="important")
    register_samples(case)
    case.complete("Task_imp_test", "qa.wang", test_result="轴承游隙超差", cause_analysis="供应商轴承批次问题",
                  technical_lead="张工")
    case.complete("Task_imp_review", "qa.wang", improvement_measures="更换轴承供应商并加严进货检验",
                  technical_change_required=True, reviewers="开发赵、生产钱、销售孙")
    case.complete("Task_imp_report", "qa.wang", report_content="整改报告：更换轴承供应商")
    case.complete("Task_imp_reply_customer", "sales.li", customer_reply="已答复客户整改方案", replied_on="2026-11-18")
    case.complete("Task_imp_tracking", "qa.wang", tracking_status="新轴承已到货，返工进行中")


def test_important_case_from_form_to_closing(deployed, staff, smtp_catcher):
    case = file_feedback(deployed)
    [form] = records(deployed, FeedbackForm)
    assert case.instance.business_key == form.form_no and form.form_no.startswith("QF-2026-")
    assert (form.suggested_category, form.customer) == ("important", "华东机电有限公司")
    assert "26.0%" in form.category_basis
    # Quality and Development are told at once; Quality confirms the category, Sales registers samples.
    assert {m.recipient for m in outbox(deployed)} >= {"department:quality", "department:development"}
    assert case.open_elements() == {"Task_confirm_category", "Task_register_samples"}
    assert case.task("Task_confirm_category").data["category"] == "important"

    walk_important_to_change(case)
    [sample] = records(deployed, SampleLedgerEntry)
    assert (sample.location, sample.custodian, sample.label_no[:3]) == ("sample_room", "李雷", "YP-")
    [report] = records(deployed, RectificationReport)
    assert report.content == "整改报告：更换轴承供应商" and report.improvement_measures.startswith("更换轴承")
    assert any(m.recipient == "department:sales" and report.report_no in m.subject for m in outbox(deployed))

    case.complete("Task_issue_change_notice", "dev.zhao", change_content="轴承改用 C3 游隙", effective_date="2026-11-20",
                  tooling_required=True)
    [notice] = records(deployed, TechnicalChangeNotice)
    assert notice.tooling_required and notice.notice_no.startswith("JG-")
    assert case.open_elements() == {"Task_rework_stock", "Task_negotiate_market", "Task_design_tooling",
                                    "Task_update_documents"}
    case.complete("Task_rework_stock", "prod.qian", disposition="库存 300 台返工", rework_quantity=300)
    case.complete("Task_spot_check", "qa.wang", spot_check_result="fail", spot_check_remarks="仍有 2 台异响")
    case.complete("Task_rework_stock", "prod.qian", disposition="再次返工", rework_quantity=2)
    case.complete("Task_spot_check", "qa.wang", spot_check_result="pass")
    case.complete("Task_negotiate_market", "sales.li", market_disposition="市场产品免费换新", customer_agreed=True)
    case.complete("Task_design_tooling", "dev.zhao", tooling_design="压装工装改进")
    assert case.task("Task_make_tooling").department == "workshops"
    case.complete("Task_make_tooling", "mold.sun", tooling_delivered_on="2026-11-19")
    case.complete("Task_update_documents", "dev.zhao", documents_changed="图纸 JZ-200-05 C 版")
    case.complete("Task_produce_per_notice", "ws.zhou", production_batch="B2611-20")
    case.complete("Task_verify", "qa.wang", verification_result="effective", verification_remarks="连续三批无异响")

    assert case.instance.status == "completed"
    [form] = records(deployed, FeedbackForm)
    assert form.closed_at is not None and form.category == "important"
    assert [r.status for r in queries.sla_records(deployed.db, case.id) if r.status != "met"] == []
    kinds = [e.kind for e in case.events()]
    assert kinds[0] == "instance_started" and kinds[-1] == "instance_completed"
    assert kinds.count("task_completed") == 18
    deployed.deliver_outbox()
    delivered = smtp_catcher.subjects("sales.li@example.com")
    assert any(s.startswith("信息反馈处理单") and "已关闭" in s for s in delivered)


def test_general_case_without_technical_change(deployed):
    case = file_feedback(deployed, quantity_nonconforming=50, characteristic="appearance", consequence="complaint")
    assert case.task("Task_confirm_category").data["suggested_category"] == "general"
    case.complete("Task_confirm_category", "qa.wang", category="general")
    register_samples(case)
    assert case.open_elements() == {"Task_gen_test"}
    case.complete("Task_gen_test", "qa.wang", test_result="外观划伤", cause_analysis="包装不当", technical_lead="张工")
    case.complete("Task_gen_review", "qa.wang", improvement_measures="改进包装", technical_change_required=False,
                  reviewers="开发赵、生产钱、销售孙")
    case.complete("Task_gen_report", "qa.wang", report_content="整改报告：改进包装")
    case.complete("Task_gen_reply_customer", "sales.li", customer_reply="已答复", replied_on="2026-11-17")
    case.complete("Task_gen_tracking", "qa.wang", tracking_status="新包装已使用")
    assert case.open_elements() == {"Task_verify"}
    case.complete("Task_verify", "qa.wang", verification_result="effective")
    assert case.instance.status == "completed"
    assert records(deployed, TechnicalChangeNotice) == []


def test_override_needs_a_reason_and_is_recorded(deployed):
    case = file_feedback(deployed, quantity_nonconforming=50, characteristic="appearance")
    case.complete("Task_confirm_category", "qa.wang", category="important")
    # No reason: the handler's BPMN error sends the decision back to Quality.
    assert "Task_confirm_category" in case.open_elements()
    assert [e.detail["code"] for e in case.events("bpmn_error")] == ["OVERRIDE_REASON_REQUIRED"]
    assert case.events("incident_opened") == []  # the diagram caught it: no incident
    case.complete("Task_confirm_category", "qa.wang", category="important", override_reason="客户为战略客户，已索赔")
    [override] = case.events("category_overridden")
    assert override.actor == "qa.wang"
    assert override.detail["from"] == "general" and override.detail["to"] == "important"
    [form] = records(deployed, FeedbackForm)
    assert (form.category, form.override_reason) == ("important", "客户为战略客户，已索赔")
    register_samples(case)
    assert "Task_imp_test" in case.open_elements()


def test_invalid_feedback_form_is_rejected(deployed):
    with pytest.raises(InvalidForm) as err:
        deployed.start_instance("quality_feedback", feedback_form(quantity_shipped=0, characteristic="colour"),
                                "sales.li")
    assert set(err.value.errors) == {"quantity_shipped", "characteristic"}
    assert records(deployed, FeedbackForm) == []


# -- the four limits, each just before and just after -------------------------------------------------
# Filed Monday 2026-11-16 09:00 Beijing time (the clock fixture); working days skip the weekend.
MON = datetime(2026, 11, 16, 9, 0, tzinfo=BEIJING)


def misses(engine):
    """Limits missed, as the SLA records count them against a department."""
    return [(r.name, r.department) for r in queries.sla_records(engine.db, status="breached")]


def test_important_3_day_limit(deployed, travel):
    case = file_feedback(deployed)
    case.complete("Task_confirm_category", "qa.wang", category="important")
    register_samples(case)
    test_task = case.task("Task_imp_test")
    assert test_task.due_at == datetime(2026, 11, 19, 9, 0, tzinfo=BEIJING)  # Thursday: 3 working days
    assert test_task.limit_name == "重要信息：3天内回复检测结果及分析改进措施"
    travel(datetime(2026, 11, 18, 9, 0, tzinfo=BEIJING) + SECOND)  # reminder at 2 working days
    assert [e.element_id for e in case.events("timer_fired")] == ["Timer_imp_measures_reminder"]
    assert len(case.events("sla_reminded")) == 1
    travel(test_task.due_at - SECOND)
    assert misses(deployed) == []
    travel(test_task.due_at + SECOND)
    assert misses(deployed) == [("重要信息：3天内回复检测结果及分析改进措施", "quality")]
    # Nobody had claimed the test: the breach goes to all of Quality, its head included.
    assert any(m.recipient == "department:quality" and m.subject.startswith("超时") for m in outbox(deployed))
    assert "Task_imp_test" in case.open_elements()  # the work goes on after the escalation


def test_important_7_day_limit_counts_against_whoever_holds_the_work(deployed, travel):
    case = file_feedback(deployed)
    case.complete("Task_confirm_category", "qa.wang", category="important")
    register_samples(case)
    case.complete("Task_imp_test", "qa.wang", test_result="r", cause_analysis="c", technical_lead="张工")
    case.complete("Task_imp_review", "qa.wang", improvement_measures="m", reviewers="r")
    case.complete("Task_imp_report", "qa.wang", report_content="整改报告")
    reply = case.task("Task_imp_reply_customer")
    due = datetime(2026, 11, 25, 9, 0, tzinfo=BEIJING)  # Wednesday next week: 7 working days
    assert reply.due_at == due and reply.limit_name == "重要信息：7天内回复跟踪整改情况"
    travel(datetime(2026, 11, 24, 9, 0, tzinfo=BEIJING) - SECOND)  # reminder at 6 working days
    assert case.events("sla_reminded") == []
    travel(by=2 * SECOND)
    [reminded] = case.events("sla_reminded")
    assert reminded.detail["recipients"] == ["department:sales"]  # Sales holds the reply to the customer
    travel(due - SECOND)
    assert misses(deployed) == []
    travel(due + SECOND)
    assert misses(deployed) == [("重要信息：7天内回复跟踪整改情况", "sales")]


def test_general_1_day_limit(deployed, travel):
    case = file_feedback(deployed, quantity_nonconforming=10)
    case.complete("Task_confirm_category", "qa.wang", category="general")
    register_samples(case)
    task = case.task("Task_gen_test")
    assert task.due_at == datetime(2026, 11, 17, 9, 0, tzinfo=BEIJING)
    travel(task.due_at - SECOND)
    assert misses(deployed) == []
    assert [e.element_id for e in case.events("timer_fired")] == ["Timer_gen_screening_reminder"]
    travel(task.due_at + SECOND)
    assert misses(deployed) == [("一般信息：1天内回复厂内筛选及检测分析结果", "quality")]


def test_general_3_day_limit(deployed, travel):
    case = file_feedback(deployed, quantity_nonconforming=10)
    case.complete("Task_confirm_category", "qa.wang", category="general")
    register_samples(case)
    case.complete("Task_gen_test", "qa.wang", test_result="r", cause_analysis="c", technical_lead="张工")
    review = case.task("Task_gen_review")
    due = datetime(2026, 11, 19, 9, 0, tzinfo=BEIJING)
    assert review.due_at == due and review.limit_name == "一般信息：3天内回复改进措施及整改跟踪"
    travel(datetime(2026, 11, 18, 9, 0, tzinfo=BEIJING) - SECOND)  # reminder at 2 working days
    assert [e.element_id for e in case.events("timer_fired")] == []
    travel(by=2 * SECOND)
    assert [e.element_id for e in case.events("timer_fired")] == ["Timer_gen_tracking_reminder"]
    travel(due - SECOND)
    assert misses(deployed) == []
    travel(due + SECOND)
    assert misses(deployed) == [("一般信息：3天内回复改进措施及整改跟踪", "quality")]
    case.complete("Task_gen_review", "qa.wang", improvement_measures="m", reviewers="r")
    assert "Task_gen_report" in case.open_elements()


def test_limit_across_national_day_2026_and_the_adjusted_working_saturday(deployed, clock, travel):
    clock.set(datetime(2026, 9, 30, 10, 0, tzinfo=BEIJING))
    case = file_feedback(deployed)
    case.complete("Task_confirm_category", "qa.wang", category="important")
    register_samples(case)
    # 1–7 Oct are off; 8 Oct (Thu) and 9 Oct (Fri) are working days, and Saturday 10 Oct is an adjusted
    # working day (调休上班): 3 working days end on Saturday 10 Oct at 10:00.
    due = datetime(2026, 10, 10, 10, 0, tzinfo=BEIJING)
    assert case.task("Task_imp_test").due_at == due
    travel(due - SECOND)
    assert misses(deployed) == []
    travel(due + SECOND)
    assert misses(deployed) == [("重要信息：3天内回复检测结果及分析改进措施", "quality")]


def finish_change_branches(case: Case, tooling: bool = False) -> None:
    case.complete("Task_rework_stock", "prod.qian", disposition="返工", rework_quantity=10)
    case.complete("Task_spot_check", "qa.wang", spot_check_result="pass")
    case.complete("Task_negotiate_market", "sales.li", market_disposition="换新")
    if tooling:
        case.complete("Task_design_tooling", "dev.zhao", tooling_design="新检具")
        case.complete("Task_make_tooling", "mold.sun", tooling_delivered_on="2026-11-19")
    case.complete("Task_update_documents", "dev.zhao", documents_changed="图纸 C 版")


def test_ineffective_change_starts_a_new_notice_whose_branches_all_rejoin(deployed):
    case = file_feedback(deployed)
    walk_important_to_change(case)
    for round_no in range(1, 4):
        case.complete("Task_issue_change_notice", "dev.zhao", change_content=f"第{round_no}次更改",
                      effective_date="2026-11-20")
        case.complete("Task_update_documents", "dev.zhao", documents_changed="图纸")
        # The other branches of this notice are still open: production must wait for all of them.
        assert case.open_elements() == {"Task_rework_stock", "Task_negotiate_market"}
        case.complete("Task_rework_stock", "prod.qian", disposition="返工", rework_quantity=10)
        case.complete("Task_spot_check", "qa.wang", spot_check_result="pass")
        assert case.open_elements() == {"Task_negotiate_market"}
        case.complete("Task_negotiate_market", "sales.li", market_disposition="换新")
        case.complete("Task_produce_per_notice", "ws.zhou", production_batch=f"B{round_no}")
        verdict = "effective" if round_no == 3 else "not_effective"
        case.complete("Task_verify", "qa.wang", verification_result=verdict)
    assert case.instance.status == "completed"
    assert len(records(deployed, TechnicalChangeNotice)) == 3


def saved_state_size(engine, case: Case) -> int:
    from engine.models import ProcessInstance
    with engine.db.sessions() as session:
        return len(session.get(ProcessInstance, case.id).state)


def test_a_case_reworked_hundreds_of_times_stays_small_and_still_closes(deployed):
    """Far past any realistic number of failed spot checks: without compaction the task tree would be
    over 1,000 levels deep (RecursionError in SpiffWorkflow) and the saved state would grow each round."""
    case = file_feedback(deployed)
    walk_important_to_change(case)
    case.complete("Task_issue_change_notice", "dev.zhao", change_content="更改", effective_date="2026-11-20")
    case.complete("Task_negotiate_market", "sales.li", market_disposition="换新")
    case.complete("Task_update_documents", "dev.zhao", documents_changed="图纸")
    sizes = {}
    for round_no in range(1, 401):
        case.complete("Task_rework_stock", "prod.qian", disposition=f"第{round_no}次返工", rework_quantity=1)
        case.complete("Task_spot_check", "qa.wang", spot_check_result="fail")
        if round_no in (1, 400):
            sizes[round_no] = saved_state_size(deployed, case)
    assert sizes[400] <= sizes[1] * 1.1
    case.complete("Task_rework_stock", "prod.qian", disposition="最终返工", rework_quantity=1)
    case.complete("Task_spot_check", "qa.wang", spot_check_result="pass")
    case.complete("Task_produce_per_notice", "ws.zhou", production_batch="B9")
    case.complete("Task_verify", "qa.wang", verification_result="effective")
    assert case.instance.status == "completed"
    assert len([e for e in case.events("task_completed") if e.element_id == "Task_spot_check"]) == 401


def test_limits_of_finished_work_never_fire(deployed, travel):
    case = file_feedback(deployed, quantity_nonconforming=10)
    case.complete("Task_confirm_category", "qa.wang", category="general")
    register_samples(case)
    case.complete("Task_gen_test", "qa.wang", test_result="r", cause_analysis="c", technical_lead="张工")
    case.complete("Task_gen_review", "qa.wang", improvement_measures="m", reviewers="r")
    case.complete("Task_gen_report", "qa.wang", report_content="整改报告")
    case.complete("Task_gen_reply_customer", "sales.li", customer_reply="已答复", replied_on="2026-11-16")
    case.complete("Task_gen_tracking", "qa.wang", tracking_status="完成")
    assert case.instance.next_due_at is None  # only Task_verify is open, and it has no limit
    travel(by=timedelta(days=30))  # scheduled processes (P3 on 1 December) start their own cases meanwhile
    assert case.events("timer_fired") == [] and misses(deployed) == []
