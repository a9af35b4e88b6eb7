"""P1 市场质量信息反馈处理 (seed 000 5.1): an important and a general case from the form to closing, who works
each step, the category rule of 5.1.1.1/5.1.1.2 and its override, and the four limits of 5.1.2.2 counted in
calendar days from the filing of the form, each 1 s before and 1 s after, with who is told of a miss."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.diagrams.forms import InvalidForm
from engine.records import queries
from handlers.change_notices import TechnicalChangeNotice
from handlers.feedback import FeedbackForm
from handlers.rectification import RectificationReport
from handlers.samples import SampleLedgerEntry
from tests.conftest import BEIJING
from tests.processes.conftest import Case

SECOND = timedelta(seconds=1)
HEADS = {"development": "dev.sun", "production": "prod.wu", "sales": "sales.zhao"}


def feedback_form(**overrides):
    form = {
        "customer": "华东机电有限公司", "product_name": "减速电机", "spec_model": "JZ-200", "batch_no": "B2611-07",
        "quantity_shipped": 1000, "quantity_nonconforming": 260, "characteristic": "key", "recurring": False,
        "consequence": "batch_return", "problem_description": "轴承异响，整批退货",
        "improvement_request": "请给出整改措施",
    }
    form.update(overrides)
    return form


GENERAL = {"quantity_nonconforming": 50, "characteristic": "appearance", "consequence": "dissatisfaction"}


def file_feedback(engine, **overrides) -> Case:
    return Case(engine, engine.start_instance("quality_feedback", feedback_form(**overrides), "sales.li"))


def register_samples(case: Case) -> None:
    case.complete("Task_register_samples", "sales.li", sample_name="退回样机", sample_spec="JZ-200",
                  supplier="本公司", arrival_time="2026-11-16", custodian="李雷", sample_quantity=2,
                  sample_source="customer_return")


def intake(case: Case, category: str) -> None:
    case.complete("Task_confirm_category", "qa.wang", category=category)
    register_samples(case)


def review(case: Case, element_id: str) -> None:
    """Each department head gives the opinion of their own review task."""
    tasks = [t for t in case.open_tasks() if t.element_id == element_id]
    assert sorted(t.department for t in tasks) == sorted(HEADS) and all(t.heads_only for t in tasks)
    for task in tasks:
        case.engine.complete_task(task.id, HEADS[task.department], {
            "review_opinion": "agree", "proposed_measures": f"{task.department}：加严检验"})


def report(case: Case, element_id: str, change: bool = False, stock: bool = True, market: bool = True) -> None:
    case.complete(element_id, "qa.wang", report_content="整改报告：更换轴承供应商",
                  improvement_measures="更换轴承供应商并加严进货检验", technical_change_required=change,
                  stock_affected=stock, market_affected=market)


def walk_important_measures(case: Case, **flags) -> None:
    case.complete("Task_imp_test", "qa.wang", test_result="轴承游隙超差", cause_analysis="供应商轴承批次问题",
                  technical_lead="张工")
    case.complete("Task_imp_dev_analysis", "dev.liu", development_analysis="轴承选型裕量不足",
                  standard_changes="轴承游隙改 C3")
    review(case, "Task_imp_review")
    report(case, "Task_imp_report", **flags)


def walk_important_reply(case: Case) -> None:
    case.complete("Task_imp_reply_customer", "sales.li", customer_reply="已答复客户整改方案", replied_on="2026-11-18")
    case.complete("Task_imp_sample_room", "sample.gao", storage_place="样品室A-03")
    case.complete("Task_imp_tracking", "qa.wang", tracking_status="新轴承已到货，返工进行中")


def walk_important_to_change(case: Case) -> None:
    """From the filed form to the technical change notice (stock rework and market negotiation open too)."""
    intake(case, "important")
    walk_important_measures(case, change=True)
    walk_important_reply(case)


def walk_general(case: Case, **flags) -> None:
    case.complete("Task_gen_test", "qa.wang", test_result="外观划伤", cause_analysis="包装不当", technical_lead="张工")
    case.complete("Task_gen_dev_analysis", "dev.liu", development_analysis="包装标准未规定护角")
    review(case, "Task_gen_review")
    report(case, "Task_gen_report", **flags)
    case.complete("Task_gen_reply_customer", "sales.li", customer_reply="已答复", replied_on="2026-11-17")
    case.complete("Task_gen_sample_room", "sample.gao", storage_place="样品室B-01")
    case.complete("Task_gen_tracking", "qa.wang", tracking_status="新包装已使用")


def records(engine, model):
    with engine.db.sessions() as session:
        return session.scalars(select(model)).all()


def outbox(engine):
    engine.deliver_outbox()
    from engine.storage.models import OutboxMessage
    return records(engine, OutboxMessage)


def told_of_miss(engine, case: Case, limit_name: str) -> set[str]:
    return {m.recipient for m in outbox(engine) if m.instance_id == case.id and m.subject.startswith(f"超时：{limit_name}")}


def misses(engine):
    """Limits missed, as the SLA records count them against a department."""
    return [(r.name, r.department) for r in queries.sla_records(engine.db, status="breached")]


def departments_of(case: Case) -> dict[str, str]:
    return {t.element_id: t.department for t in case.open_tasks()}


# -- the paths ---------------------------------------------------------------------------------------------
def test_important_case_from_form_to_closing(deployed, smtp_catcher):
    case = file_feedback(deployed)
    [form] = records(deployed, FeedbackForm)
    assert case.instance.business_key == form.form_no and form.form_no.startswith("QF-2026-")
    assert form.suggested_category == "important" and form.category_basis.startswith("重要信息（5.1.1.1）")
    assert {m.recipient for m in outbox(deployed)} >= {"department:quality", "department:development"}
    assert departments_of(case) == {"Task_confirm_category": "quality", "Task_register_samples": "sales"}
    assert case.task("Task_confirm_category").data["category"] == "important"

    intake(case, "important")
    assert departments_of(case) == {"Task_imp_test": "quality"}
    case.complete("Task_imp_test", "qa.wang", test_result="轴承游隙超差", cause_analysis="供应商轴承批次问题",
                  technical_lead="张工")
    assert departments_of(case) == {"Task_imp_dev_analysis": "development"}  # 3.2: Development analyses
    case.complete("Task_imp_dev_analysis", "dev.liu", development_analysis="轴承选型裕量不足")
    # 5.1.2.5: the heads of development, production and sales are told and each reviews.
    assert {m.recipient for m in outbox(deployed) if m.subject.startswith("请评审")} == \
        {"head:development", "head:production", "head:sales"}
    review(case, "Task_imp_review")
    summary = case.task("Task_imp_report").data["review_summary"]
    assert all(f"{d}（{u}）：agree" in summary for d, u in HEADS.items())
    [recorded] = case.events("review_recorded")
    assert {o["completed_by"] for o in recorded.detail["opinions"]} == set(HEADS.values())
    report(case, "Task_imp_report", change=True)
    [rectification] = records(deployed, RectificationReport)
    assert rectification.improvement_measures.startswith("更换轴承")
    assert any(m.recipient == "department:sales" and rectification.report_no in m.subject for m in outbox(deployed))
    # Sales replies, the sample room takes the tested samples into central keeping, Quality tracks.
    assert departments_of(case) == {"Task_imp_reply_customer": "sales", "Task_imp_sample_room": "sample_room"}
    walk_important_reply(case)
    [sample] = records(deployed, SampleLedgerEntry)
    assert (sample.location, sample.custodian, sample.label_no[:3]) == ("sample_room", "sample.gao", "YP-")
    [received] = case.events("samples_received")
    assert received.detail["storage_place"] == "样品室A-03" and received.detail["samples"][0]["previous_custodian"] == "李雷"

    # 5.1.2.7 / 5.1.2.8: the change, the stock rework and the market product are handled at the same time.
    assert departments_of(case) == {"Task_issue_change_notice": "development", "Task_rework_stock": "production",
                                    "Task_negotiate_market": "sales"}
    case.complete("Task_issue_change_notice", "dev.liu", change_content="轴承改用 C3 游隙", effective_date="2026-11-20",
                  tooling_required=True)
    [notice] = records(deployed, TechnicalChangeNotice)
    assert notice.tooling_required and notice.notice_no.startswith("JG-")
    case.complete("Task_rework_stock", "prod.zhou", disposition="库存 300 台返工", rework_quantity=300)
    assert case.task("Task_spot_check").department == "quality"
    case.complete("Task_spot_check", "qa.wang", spot_check_result="fail", spot_check_remarks="仍有 2 台异响")
    case.complete("Task_rework_stock", "prod.zhou", disposition="再次返工", rework_quantity=2)
    case.complete("Task_spot_check", "qa.wang", spot_check_result="pass")
    case.complete("Task_negotiate_market", "sales.li", market_disposition="市场产品免费换新", customer_agreed=True)
    case.complete("Task_design_tooling", "dev.liu", tooling_design="压装工装改进")
    assert case.task("Task_make_tooling").department == "workshops"
    case.complete("Task_make_tooling", "ws.zheng", tooling_delivered_on="2026-11-19")
    case.complete("Task_update_documents", "dev.liu", documents_changed="图纸 JZ-200-05 C 版")
    assert departments_of(case) == {"Task_produce_per_notice": "workshops"}
    case.complete("Task_produce_per_notice", "ws.zheng", production_batch="B2611-20")
    case.complete("Task_verify", "qa.wang", verification_result="effective", verification_remarks="连续三批无异响")

    assert case.instance.status == "completed"
    [form] = records(deployed, FeedbackForm)
    assert form.closed_at is not None and form.category == "important"
    assert {r.status for r in queries.sla_records(deployed.db, case.id)} == {"met"}
    deployed.deliver_outbox()
    assert any(s.startswith("信息反馈处理单") and "已关闭" in s for s in smtp_catcher.subjects("sales.li@example.com"))


def test_general_case_without_technical_change_still_handles_its_nonconforming_product(deployed):
    case = file_feedback(deployed, **GENERAL)
    assert case.task("Task_confirm_category").data["suggested_category"] == "general"
    intake(case, "general")
    assert departments_of(case) == {"Task_gen_test": "quality"}
    case.complete("Task_gen_test", "qa.wang", test_result="外观划伤", cause_analysis="包装不当", technical_lead="张工")
    # 1-day reply of the screening and test results to Sales and Development; then analysis and review.
    assert any(m.recipient == "department:sales" and m.subject.startswith("回复厂内排查及测试分析结果")
               for m in outbox(deployed))
    assert departments_of(case) == {"Task_gen_dev_analysis": "development", "Task_gen_sample_room": "sample_room"}
    case.complete("Task_gen_dev_analysis", "dev.liu", development_analysis="包装标准未规定护角")
    review(case, "Task_gen_review")
    report(case, "Task_gen_report", change=False)
    case.complete("Task_gen_reply_customer", "sales.li", customer_reply="已答复", replied_on="2026-11-17")
    case.complete("Task_gen_sample_room", "sample.gao", storage_place="样品室B-01")
    case.complete("Task_gen_tracking", "qa.wang", tracking_status="新包装已使用")
    # No technical change, yet stock rework with spot check and the market negotiation run (5.1.2.8).
    assert departments_of(case) == {"Task_rework_stock": "production", "Task_negotiate_market": "sales"}
    case.complete("Task_rework_stock", "prod.zhou", disposition="库存重新包装", rework_quantity=40)
    case.complete("Task_spot_check", "qa.wang", spot_check_result="pass")
    case.complete("Task_negotiate_market", "sales.li", market_disposition="补发护角", customer_agreed=True)
    assert departments_of(case) == {"Task_verify": "quality"}
    case.complete("Task_verify", "qa.wang", verification_result="effective")
    assert case.instance.status == "completed"
    assert records(deployed, TechnicalChangeNotice) == []


def test_a_refused_market_negotiation_is_negotiated_again_until_the_customer_agrees(deployed):
    case = file_feedback(deployed, **GENERAL)
    intake(case, "general")
    walk_general(case, stock=False)
    case.complete("Task_negotiate_market", "sales.li", market_disposition="打折", customer_agreed=False,
                  customer_response="要求换新")
    assert departments_of(case) == {"Task_negotiate_market": "sales"}
    case.complete("Task_negotiate_market", "sales.li", market_disposition="换新", customer_agreed=True)
    assert departments_of(case) == {"Task_verify": "quality"}


def test_nothing_to_dispose_goes_straight_to_verification(deployed):
    case = file_feedback(deployed, **GENERAL)
    intake(case, "general")
    walk_general(case, stock=False, market=False)
    assert departments_of(case) == {"Task_verify": "quality"}


@pytest.mark.parametrize("overrides, expected", [
    ({}, "important"),  # key characteristic, 26 % ≥ 20 %, batch return
    ({"quantity_nonconforming": 100}, "general"),  # 10 %, not recurring
    ({"quantity_nonconforming": 100, "recurring": True}, "important"),  # recurs and led to a return
    ({"characteristic": "appearance"}, "general"),  # 26 % but an appearance defect
    ({"characteristic": "important", "consequence": "claim"}, "important"),
    ({"consequence": "corrective_action"}, "general"),  # key, 26 %, but only corrective action asked
    ({"consequence": "dissatisfaction", "recurring": True}, "general"),  # a recurring grumble
    ({"characteristic": "precision", "recurring": True, "consequence": "complaint"}, "important"),
])
def test_the_category_follows_characteristic_share_recurrence_and_consequence(deployed, overrides, expected):
    case = file_feedback(deployed, **overrides)
    assert case.task("Task_confirm_category").data["suggested_category"] == expected


def test_override_needs_a_reason_and_is_recorded(deployed):
    case = file_feedback(deployed, **GENERAL)
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


def test_an_ineffective_rectification_is_done_again_with_the_branches_quality_asks_for(deployed):
    case = file_feedback(deployed)
    intake(case, "important")
    walk_important_measures(case, change=True, stock=False, market=False)
    walk_important_reply(case)
    for round_no in range(1, 4):
        case.complete("Task_issue_change_notice", "dev.liu", change_content=f"第{round_no}次更改",
                      effective_date="2026-11-20")
        case.complete("Task_update_documents", "dev.liu", documents_changed="图纸")
        case.complete("Task_produce_per_notice", "ws.zheng", production_batch=f"B{round_no}")
        verdict = "effective" if round_no == 3 else "not_effective"
        case.complete("Task_verify", "qa.wang", verification_result=verdict, technical_change_required=True,
                      stock_affected=round_no == 2)
        if round_no == 2:  # this time the stock is reworked too, and production waits for it
            assert departments_of(case) == {"Task_issue_change_notice": "development", "Task_rework_stock": "production"}
            case.complete("Task_rework_stock", "prod.zhou", disposition="返工", rework_quantity=10)
            case.complete("Task_spot_check", "qa.wang", spot_check_result="pass")
    assert case.instance.status == "completed"
    assert len(records(deployed, TechnicalChangeNotice)) == 3


def saved_state_size(engine, case: Case) -> int:
    from engine.storage.models import ProcessInstance
    with engine.db.sessions() as session:
        return len(session.get(ProcessInstance, case.id).state)


def test_a_case_reworked_hundreds_of_times_stays_small_and_still_closes(deployed):
    """Far past any realistic number of failed spot checks: without compaction the task tree would be
    over 1,000 levels deep (RecursionError in SpiffWorkflow) and the saved state would grow each round."""
    case = file_feedback(deployed)
    intake(case, "important")
    walk_important_measures(case, market=False)
    walk_important_reply(case)
    sizes = {}
    for round_no in range(1, 401):
        case.complete("Task_rework_stock", "prod.zhou", disposition=f"第{round_no}次返工", rework_quantity=1)
        case.complete("Task_spot_check", "qa.wang", spot_check_result="fail")
        if round_no in (1, 400):
            sizes[round_no] = saved_state_size(deployed, case)
    assert sizes[400] <= sizes[1] * 1.1
    case.complete("Task_rework_stock", "prod.zhou", disposition="最终返工", rework_quantity=1)
    case.complete("Task_spot_check", "qa.wang", spot_check_result="pass")
    case.complete("Task_verify", "qa.wang", verification_result="effective")
    assert case.instance.status == "completed"
    assert len([e for e in case.events("task_completed") if e.element_id == "Task_spot_check"]) == 401


# -- the limits of 5.1.2.2: calendar days from the filing of the form ---------------------------------------
# Filed Wednesday 30 September 2026 10:00 Beijing time, the eve of the National Day holiday: calendar days
# give 3 October and 7 October (working days would have given 10 and 15 October).
FILED = datetime(2026, 9, 30, 10, 0, tzinfo=BEIJING)


@pytest.fixture
def filed_on_30_september(clock):
    clock.set(FILED)
    return FILED


def test_important_3_days_from_filing(deployed, travel, filed_on_30_september):
    case = file_feedback(deployed)
    intake(case, "important")
    limit = case.limit("Timer_imp_measures_limit")
    due = datetime(2026, 10, 3, 10, 0, tzinfo=BEIJING)
    assert (limit.due_at, limit.name) == (due, "重要信息：3天内回复测试结果、分析改进措施")
    assert case.task("Task_imp_test").due_at == due
    travel(due - SECOND)
    assert misses(deployed) == [] and case.limit("Timer_imp_measures_limit").status == "running"
    travel(due + SECOND)
    assert misses(deployed) == [("重要信息：3天内回复测试结果、分析改进措施", "quality")]
    # Nobody had claimed the test: all of Quality (its head included) is told.
    assert told_of_miss(deployed, case, limit.name) == {"department:quality"}
    assert "Task_imp_test" in case.open_elements()  # the work goes on after the escalation


def test_important_7_days_from_filing_count_against_whoever_holds_the_work(deployed, travel, filed_on_30_september):
    case = file_feedback(deployed)
    intake(case, "important")
    walk_important_measures(case)
    assert case.limit("Timer_imp_measures_limit").status == "met"
    reply = case.task("Task_imp_reply_customer")
    due = datetime(2026, 10, 7, 10, 0, tzinfo=BEIJING)
    assert reply.due_at == due and reply.limit_name == "重要信息：7天内答复跟踪整改情况"
    assert reply.department == "sales"
    case.complete("Task_imp_sample_room", "sample.gao", storage_place="样品室A-03")
    travel(due - SECOND)
    assert misses(deployed) == []
    travel(due + SECOND)
    assert misses(deployed) == [("重要信息：7天内答复跟踪整改情况", "sales")]
    # Only Sales holds the work (the reply): all of Sales, its head included, and Quality's head are told.
    assert told_of_miss(deployed, case, "重要信息：7天内答复跟踪整改情况") == {"department:sales", "head:quality"}


def test_general_1_day_from_filing(deployed, travel, filed_on_30_september):
    case = file_feedback(deployed, **GENERAL)
    intake(case, "general")
    due = datetime(2026, 10, 1, 10, 0, tzinfo=BEIJING)
    task = case.task("Task_gen_test")
    assert (task.due_at, task.limit_name) == (due, "一般信息：1天内回复厂内排查及测试分析结果")
    travel(due - SECOND)
    assert misses(deployed) == []
    assert case.fired() == ["Timer_gen_screening_reminder"]  # company rule: after 12 hours
    travel(due + SECOND)
    assert misses(deployed) == [("一般信息：1天内回复厂内排查及测试分析结果", "quality")]
    assert told_of_miss(deployed, case, "一般信息：1天内回复厂内排查及测试分析结果") == {"department:quality"}


def test_general_3_days_from_filing(deployed, travel, filed_on_30_september):
    case = file_feedback(deployed, **GENERAL)
    intake(case, "general")
    case.complete("Task_gen_test", "qa.wang", test_result="r", cause_analysis="c", technical_lead="张工")
    assert case.limit("Timer_gen_screening_limit").status == "met"
    analysis = case.task("Task_gen_dev_analysis")
    due = datetime(2026, 10, 3, 10, 0, tzinfo=BEIJING)
    assert (analysis.due_at, analysis.limit_name, analysis.department) == \
        (due, "一般信息：3天内答复改进措施及跟踪整改情况", "development")
    case.complete("Task_gen_dev_analysis", "dev.liu", development_analysis="a")
    claimed = [t for t in case.open_tasks() if t.element_id == "Task_gen_review" and t.department == "production"]
    deployed.claim_task(claimed[0].id, "prod.wu")
    travel(due - SECOND)
    assert misses(deployed) == []
    travel(due + SECOND)
    [(name, _department)] = misses(deployed)
    assert name == "一般信息：3天内答复改进措施及跟踪整改情况"
    # The heads' reviews and the sample room are open: the head who claimed his is told by name.
    told = told_of_miss(deployed, case, name)
    assert {"user:prod.wu", "department:development", "department:sales", "department:sample_room",
            "head:quality"} <= told


def test_the_clock_runs_from_filing_even_when_the_intake_waits(deployed, travel, filed_on_30_september):
    """Confirming the category and registering samples are inside the limits, not before them: a case whose
    intake waited still has its limits from the filing, and the intake itself is bounded (company rule)."""
    case = file_feedback(deployed, **GENERAL)
    assert case.limit("Timer_confirm_category").due_at == FILED + timedelta(hours=4)
    travel(FILED + timedelta(hours=4) + SECOND)
    assert {name for name, _ in misses(deployed)} == {"公司规定：收到处理单后4小时内确认信息类别",
                                                      "公司规定：收到处理单后4小时内登记样品"}
    travel(FILED + timedelta(hours=20))
    intake(case, "general")
    assert case.task("Task_gen_test").due_at == datetime(2026, 10, 1, 10, 0, tzinfo=BEIJING)
    travel(datetime(2026, 10, 1, 10, 0, tzinfo=BEIJING) + SECOND)
    assert ("一般信息：1天内回复厂内排查及测试分析结果", "quality") in misses(deployed)


def test_limits_of_finished_work_never_fire(deployed, travel):
    case = file_feedback(deployed, **GENERAL)
    intake(case, "general")
    walk_general(case, stock=False, market=False)
    assert case.instance.next_due_at is None  # only Task_verify is open, and it has no limit
    travel(by=timedelta(days=30))  # scheduled processes (P3 on 1 December) start their own cases meanwhile
    assert case.events("timer_fired") == [] and queries.sla_records(deployed.db, case.id, status="breached") == []
