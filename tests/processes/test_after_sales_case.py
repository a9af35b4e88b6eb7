"""P2 售后问题处理（三判）(seed 000, 3.0 and 4.1): the 《售后处理单》 through the three judgments to the
handling report, the customer's agreement and the closing on After-sales' notice; the return path with the
confirmation on the item (with the quality supervisor), the on-site confirmation when nothing comes back,
the Quality Expert Group, the assessment of the responsible department, every outcome, the disagreement
loop, overrides with reasons, and each stage limit (company rules: the procedure's 3.3 table gives no
numbers) 1 s before and 1 s after, counted from the moment its stage starts."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.diagrams.forms import InvalidForm
from engine.errors import HeadsOnly
from engine.records import queries
from engine.storage.models import OutboxMessage
from handlers.after_sales_cases import AfterSalesCase, action_plan_rows, shipment_rows
from handlers.expert_group import ExpertOpinion
from tests.conftest import BEIJING, PROCESSES
from tests.processes.conftest import Case

SECOND = timedelta(seconds=1)
# The second judgment is the after-sales engineer's (售后服务部工程师), the handling report After-sales'.
CLERK, ENGINEER, QUALITY_HEAD, SPECIALIST = "order.xie", "svc.huang", "qa.chen", "svc.huang"
HEADS = {"quality": "qa.chen", "production": "prod.wu", "development": "dev.sun", "process_engineering": "pe.cao",
         "after_sales": "svc.lin", "test_center": "tc.peng", "order_management": "order.fu"}
MON = datetime(2026, 11, 16, 9, 0, tzinfo=BEIJING)  # the clock fixture: filed on a Monday morning


def handling_form(**overrides):
    form = {"dealer": "苏州恒达机电经销部", "end_customer": "昆山精工机械厂", "customer_contact": "周工 139-0000-8888",
            "product_name": "减速电机", "model": "JZ-200", "serial_no": "JZ200-2606-0142", "ship_date": "2026-03-10",
            "quantity": 2, "problem_description": "运行三个月后齿轮箱漏油",
            "photos": "IMG_0142_漏油.jpg\nhttps://pan.example.com/s/jz200-0142"}
    form.update(overrides)
    return form


def file_case(engine, **overrides) -> Case:
    return Case(engine, engine.start_instance("after_sales_case", handling_form(**overrides), CLERK))


def records(engine, model):
    with engine.db.sessions() as session:
        return session.scalars(select(model).order_by(model.id)).all()


def the_case(engine) -> AfterSalesCase:
    [case] = records(engine, AfterSalesCase)
    return case


def outbox(engine):
    engine.deliver_outbox()
    return records(engine, OutboxMessage)


def first_judgment(case: Case, warranty: str = "in_warranty", **extra) -> None:
    case.complete("Task_first_judgment", CLERK, warranty=warranty, problem_type="漏油", **extra)


def second_judgment(case: Case, decision: str = "no_return", via: str = "logistics") -> None:
    case.complete("Task_second_judgment", ENGINEER, return_decision=decision, return_basis="照片可判定为油封老化",
                  return_via=via, problem_type="漏油（油封）")


def site_confirmation(case: Case) -> None:
    case.complete("Task_site_confirmation", ENGINEER, site_findings="齿轮箱输出轴油封处渗油",
                  site_confirmed_how="经销商现场视频", problem_type="漏油（油封）")


def joint_confirmation(case: Case) -> None:
    case.complete("Task_joint_quality_confirmation", ENGINEER, quality_supervisor="陈静",
                  quality_problem="quality_problem", joint_findings="拆检确认油封唇口硬化开裂")


def supervisor_decides(case: Case) -> None:
    case.complete("Task_root_cause_route", QUALITY_HEAD, analysis_route="supervisor", route_note="常见问题")
    analysis_report(case)


def analysis_report(case: Case) -> None:
    case.complete("Task_quality_analysis_report", QUALITY_HEAD, root_cause="油封材料耐温不足",
                  responsible_party="development", responsibility="开发部选型不当，承担主要责任",
                  corrective_action="油封改用氟橡胶材料", action_department="development", action_owner="孙伟",
                  action_due="2026-12-15")


def handling_report(case: Case, outcome: str = "free_repair", **extra) -> None:
    case.complete("Task_handling_report", SPECIALIST, outcome=outcome, handling_details="更换油封，免费维修", **extra)


def agreement(case: Case, answer: str = "agreed", **extra) -> None:
    case.complete("Task_customer_agreement", CLERK, dealer_notified_on="2026-11-20", customer_agreement=answer,
                  **extra)


def assessment(case: Case) -> None:
    case.complete("Task_assess_responsibility", SPECIALIST, assessed_department="development",
                  assessed_role="选型工程师", assessment="油封选型未考虑工况温度，考核开发部")


def close(case: Case) -> None:
    """After-sales gives the final notice, order management closes the form."""
    case.complete("Task_close_approval", SPECIALIST, close_instruction="终端客户满意，请关闭")
    case.complete("Task_close_form", CLERK, dealer_told_of_closing=True)


def to_third_judgment(case: Case) -> None:
    first_judgment(case)
    second_judgment(case)
    site_confirmation(case)


def finish(case: Case) -> None:
    """From the open handling report and assessment to the closed form."""
    assessment(case)
    handling_report(case)
    agreement(case)
    close(case)


# -- the paths ---------------------------------------------------------------------------------------

def test_in_warranty_no_return_supervisor_decides(deployed, staff):
    case = file_case(deployed)
    record = the_case(deployed)
    assert case.instance.business_key == record.case_no == "SH-2026-0001"
    assert record.photos.splitlines() == ["IMG_0142_漏油.jpg", "https://pan.example.com/s/jz200-0142"]
    # The criteria table proposes the first judgment: JZ- gear motors have 18 months from the ship date.
    task = case.task("Task_first_judgment")
    assert (task.department, task.customer, task.category) == ("order_management", "昆山精工机械厂", "in_warranty")
    assert (task.data["suggested_warranty"], task.data["warranty"]) == ("in_warranty", "in_warranty")
    assert "保修18个月" in task.data["warranty_basis"] and "2027-09-10" in task.data["warranty_basis"]
    first_judgment(case)
    assert case.task("Task_second_judgment").department == "after_sales"
    assert case.task("Task_second_judgment").data["problem_type"] == "漏油"  # order management's, to confirm
    second_judgment(case)
    # Nothing comes back: the engineer confirms the problem point on site.
    assert case.open_elements() == {"Task_site_confirmation"}
    assert case.task("Task_site_confirmation").department == "after_sales"
    site_confirmation(case)
    assert case.open_elements() == {"Task_root_cause_route"}
    # The route is the quality supervisor's (head of quality) decision; a quality engineer is refused.
    with pytest.raises(HeadsOnly, match="head of department 'quality'"):
        case.complete("Task_root_cause_route", "qa.wang", analysis_route="supervisor", route_note="常见问题")
    assert case.task("Task_root_cause_route").claimed_by is None
    supervisor_decides(case)
    # After-sales writes the handling report and, beside it, assesses the responsible department.
    assert case.open_elements() == {"Task_handling_report", "Task_assess_responsibility"}
    assert {t.department for t in case.open_tasks()} == {"after_sales"}
    assess = case.task("Task_assess_responsibility")
    assert (assess.data["root_cause"], assess.data["responsibility"]) == ("油封材料耐温不足", "开发部选型不当，承担主要责任")
    assessment(case)
    handling_report(case)
    assert case.task("Task_customer_agreement").department == "order_management"
    agreement(case, shipment_info="维修件顺丰 SF1234567890", shipped_on="2026-11-21")
    # The customer agreed: After-sales gives the final notice, order management closes the form.
    assert case.task("Task_close_approval").department == "after_sales"
    case.complete("Task_close_approval", SPECIALIST, close_instruction="终端客户满意，请关闭")
    assert case.instance.status != "completed" and the_case(deployed).closed_at is None
    closing = case.task("Task_close_form")
    assert closing.department == "order_management" and closing.data["close_instruction"] == "终端客户满意，请关闭"
    case.complete("Task_close_form", CLERK, dealer_told_of_closing=True)
    assert case.instance.status == "completed"

    record = the_case(deployed)
    assert (record.warranty, record.warranty_override_reason, record.warranty_until) == ("in_warranty", None,
                                                                                       date(2027, 9, 10))
    assert (record.return_decision, record.return_escalated, record.analysis_route) == ("no_return", False,
                                                                                      "supervisor")
    assert record.analysis_report_no == "ZL-2026-0001" and record.handling_report_no == "CL-2026-0001"
    assert (record.root_cause, record.responsible_party, record.outcome) == ("油封材料耐温不足", "development",
                                                                            "free_repair")
    assert record.customer_agreed is True and record.closed_at is not None and record.handling_rounds == 1
    assert [j["stage"] for j in record.judgments] == ["一判", "二判", "现场确认", "考核", "关闭"]
    assert [j.get("problem_type") for j in record.judgments[:3]] == ["漏油", "漏油（油封）", "漏油（油封）"]
    assert record.recheck_findings == "齿轮箱输出轴油封处渗油"
    assert record.judgments[3]["department"] == "development" and record.judgments[4]["by"] == CLERK
    assert record.assessment_summary == "development/选型工程师：油封选型未考虑工况温度，考核开发部"
    assert records(deployed, ExpertOpinion) == []
    mails = outbox(deployed)
    assert any(m.recipient == "head:development" and "行动计划" in m.subject for m in mails)
    assert any(m.recipient == "head:development" and "考核" in m.subject for m in mails)
    assert any(m.recipient == "department:after_sales" and "已关闭" in m.subject for m in mails)
    assert [r.status for r in queries.sla_records(deployed.db, case.id)] == ["met", "met", "met"]
    # The tracking tables of P2 step 7.
    [plan] = action_plan_rows_in(deployed, date(2026, 12, 1), date(2027, 1, 1))
    assert (plan["case_no"], plan["action_department"], plan["action_owner"], plan["action_status"]) == (
        "SH-2026-0001", "development", "孙伟", "open")
    [shipped] = shipment_rows_in(deployed, date(2026, 11, 16), date(2026, 11, 23))
    assert shipped["shipment_info"] == "维修件顺丰 SF1234567890" and shipped["outcome"] == "free_repair"
    assert shipment_rows_in(deployed, date(2026, 11, 23), date(2026, 11, 30)) == []


def action_plan_rows_in(engine, start, end):
    with engine.db.sessions() as session:
        return action_plan_rows(session, start, end)


def shipment_rows_in(engine, start, end):
    with engine.db.sessions() as session:
        return shipment_rows(session, start, end)


def test_case_record_is_shown_on_the_case_page(deployed):
    case = file_case(deployed)
    to_third_judgment(case)
    [section] = [s for s in deployed.case_records(case.id) if s.title == "售后处理单"]
    [row] = section.rows
    assert row["case_no"] == "SH-2026-0001" and row["warranty"] == ("保修期内", "Within warranty")
    assert row["return_decision"] == ("无需返厂", "No return")


def test_returned_item_is_received_and_rechecked(deployed):
    case = file_case(deployed)
    first_judgment(case)
    second_judgment(case, "return")
    task = case.task("Task_receive_return")
    assert task.department == "logistics"
    case.complete("Task_receive_return", "log.feng", received_on="2026-11-18", waybill_no="SF9876543210",
                  received_quantity=2, arrival_condition="包装完好")
    recheck = case.task("Task_recheck")
    assert recheck.data["confirmed_warranty"] == "in_warranty"
    # Changing the first judgment on the real item needs a reason: without it the re-check comes back.
    case.complete("Task_recheck", ENGINEER, recheck_findings="铭牌被更换，实为2024年出厂", warranty="out_of_warranty",
                  problem_type="漏油")
    assert case.open_elements() == {"Task_recheck"}
    assert [e.detail["code"] for e in case.events("bpmn_error")] == ["OVERRIDE_REASON_REQUIRED"]
    case.complete("Task_recheck", ENGINEER, recheck_findings="铭牌被更换，实为2024年出厂", warranty="out_of_warranty",
                  recheck_change_reason="实物序列号显示2024年出厂，已过保修期", problem_type="漏油")
    # After-sales then confirms the quality problem on the item together with the quality supervisor.
    assert case.task("Task_joint_quality_confirmation").department == "after_sales"
    joint_confirmation(case)
    assert case.open_elements() == {"Task_root_cause_route"}
    record = the_case(deployed)
    assert (record.warranty, record.returned_received_on, record.return_waybill_no) == (
        "out_of_warranty", date(2026, 11, 18), "SF9876543210")
    assert record.warranty_override_reason == "实物序列号显示2024年出厂，已过保修期"
    assert [j["stage"] for j in record.judgments] == ["一判", "二判", "返厂复核", "会同品质主管确认"]
    joint = record.judgments[-1]
    assert (joint["quality_supervisor"], joint["quality_problem"], joint["by"]) == ("陈静", "quality_problem", ENGINEER)
    [confirmed] = case.events("problem_confirmed")
    assert confirmed.detail["stage"] == "会同品质主管确认"
    [changed] = case.events("warranty_judgment_overridden")
    assert (changed.actor, changed.detail["from"], changed.detail["to"]) == (ENGINEER, "in_warranty",
                                                                             "out_of_warranty")


def test_item_brought_back_by_the_engineer_skips_logistics(deployed):
    case = file_case(deployed)
    first_judgment(case)
    second_judgment(case, "return", via="engineer")
    assert case.open_elements() == {"Task_recheck"}
    case.complete("Task_recheck", ENGINEER, recheck_findings="确认油封老化", warranty="in_warranty", problem_type="漏油")
    joint_confirmation(case)
    assert case.open_elements() == {"Task_root_cause_route"}
    assert the_case(deployed).recheck_findings == "确认油封老化"
    assert case.events("warranty_judgment_overridden") == []


def test_first_judgment_override_needs_a_reason_and_is_recorded(deployed):
    case = file_case(deployed, ship_date="2024-01-05")  # 18 months ended in July 2026
    assert case.task("Task_first_judgment").data["suggested_warranty"] == "out_of_warranty"
    first_judgment(case, "in_warranty")
    assert case.open_elements() == {"Task_first_judgment"}
    assert case.events("incident_opened") == []
    first_judgment(case, "in_warranty", override_reason="经销商延保协议，保修期延长至36个月")
    assert case.open_elements() == {"Task_second_judgment"}
    record = the_case(deployed)
    assert (record.suggested_warranty, record.warranty) == ("out_of_warranty", "in_warranty")
    assert record.warranty_override_reason == "经销商延保协议，保修期延长至36个月"
    [override] = case.events("warranty_judgment_overridden")
    assert (override.actor, override.detail["stage"]) == (CLERK, "一判")


@pytest.mark.parametrize(("model", "ship_date", "purchase_date", "suggested", "months"), [
    ("BP-75", "2024-06-01", "2025-03-01", "in_warranty", "保修24个月"),        # inverters: from purchase
    ("BP-75", "2024-06-01", None, "out_of_warranty", "自发货日期2024-06-01"),    # no purchase date: ship date
    ("PJ-OIL", "2026-03-01", None, "out_of_warranty", "保修6个月"),             # spare parts: 6 months
    ("XX-1", "2025-12-01", None, "in_warranty", "通用标准"),                    # the general row
])
def test_criteria_table_proposes_the_first_judgment(deployed, model, ship_date, purchase_date, suggested, months):
    overrides = {"model": model, "ship_date": ship_date}
    if purchase_date:
        overrides["purchase_date"] = purchase_date
    case = file_case(deployed, **overrides)
    task = case.task("Task_first_judgment")
    assert task.data["suggested_warranty"] == suggested and months in task.data["warranty_basis"]


def test_expert_group_gives_each_members_opinion(deployed, staff):
    case = file_case(deployed)
    to_third_judgment(case)
    case.complete("Task_root_cause_route", QUALITY_HEAD, analysis_route="expert_group", route_note="多部门交叉问题")
    opinions = case.open_tasks()
    departments = ["quality", "production", "development", "process_engineering", "after_sales", "test_center",
                   "order_management"]
    assert sorted(t.department for t in opinions) == sorted(departments)
    heads = {m.recipient for m in outbox(deployed) if m.subject.startswith("质量专家小组评审")}
    assert heads == {f"head:{d}" for d in departments}
    members = HEADS
    production = next(t for t in opinions if t.department == "production")
    with pytest.raises(HeadsOnly, match="head of department 'production'"):  # each department's head gives it
        deployed.complete_task(production.id, "prod.zhou", {"expert_opinion": "意见", "suspected_cause": "油封选型",
                                                            "suggested_party": "development"})
    for task in opinions:
        deployed.complete_task(task.id, members[task.department],
                               {"expert_opinion": f"{task.department} 意见", "suspected_cause": "油封选型",
                                "suggested_party": "development"})
    assert case.open_elements() == {"Task_quality_analysis_report"}
    recorded = records(deployed, ExpertOpinion)
    assert sorted((o.department, o.status, o.given_by, o.opinion) for o in recorded) == sorted(
        (d, "given", members[d], f"{d} 意见") for d in departments)
    assert all(o.given_at is not None for o in recorded)
    [section] = [s for s in deployed.case_records(case.id) if s.title == "质量专家小组意见"]
    assert len(section.rows) == 7 and {r["status"] for r in section.rows} == {("已提交", "Given")}
    analysis_report(case)
    assert the_case(deployed).analysis_route == "expert_group"
    assert case.open_elements() == {"Task_handling_report", "Task_assess_responsibility"}


@pytest.mark.parametrize(("outcome", "extra"), [
    ("return", {"amount": 3600.0}), ("exchange", {}), ("repair", {"amount": 480.0}), ("free_repair", {}),
    ("parts_supplement", {"parts_list": "油封 2 个"}), ("compensation", {"amount": 1200.0}), ("explanation", {}),
])
def test_every_outcome_is_recorded(deployed, outcome, extra):
    case = file_case(deployed)
    to_third_judgment(case)
    supervisor_decides(case)
    assessment(case)
    handling_report(case, outcome, **extra)
    agreement(case)
    close(case)
    record = the_case(deployed)
    assert (record.outcome, record.amount, record.parts_list) == (outcome, extra.get("amount"), extra.get("parts_list"))
    assert case.instance.status == "completed"


@pytest.mark.parametrize("outcome", ["compensation", "parts_supplement"])  # an amount / a parts list missing
def test_handling_report_without_amount_or_parts_comes_back(deployed, outcome):
    case = file_case(deployed)
    to_third_judgment(case)
    supervisor_decides(case)
    handling_report(case, outcome)
    assert case.open_elements() == {"Task_handling_report", "Task_assess_responsibility"}
    assert [e.detail["code"] for e in case.events("bpmn_error")] == ["HANDLING_REPORT_INCOMPLETE"]
    assert the_case(deployed).handling_report_no is None


def test_customer_disagrees_twice_then_agrees(deployed):
    case = file_case(deployed)
    to_third_judgment(case)
    supervisor_decides(case)
    assessment(case)
    handling_report(case, "explanation")
    agreement(case, "disagreed", customer_feedback="要求换货")
    assert case.open_elements() == {"Task_handling_report"}
    assert case.task("Task_handling_report").data["customer_feedback"] == "要求换货"
    handling_report(case, "repair", amount=300.0)
    agreement(case, "disagreed", customer_feedback="不接受收费维修")
    handling_report(case, "exchange")
    agreement(case, "agreed", customer_feedback="同意换货")
    assert case.task("Task_close_approval").data["customer_feedback"] == "同意换货"
    close(case)
    assert case.instance.status == "completed"
    record = the_case(deployed)
    assert record.handling_rounds == 3 and record.outcome == "exchange" and record.customer_agreed is True
    assert [(r["round"], r["outcome"], r["agreed"]) for r in record.customer_rounds] == [
        (1, "explanation", False), (2, "repair", False), (3, "exchange", True)]
    assert len(case.events("customer_disagreed")) == 2


def test_invalid_handling_form_is_refused(deployed):
    with pytest.raises(InvalidForm) as err:
        deployed.start_instance("after_sales_case", handling_form(quantity=0, ship_date="soon", dealer=""), CLERK)
    assert set(err.value.errors) == {"quantity", "ship_date", "dealer"}
    assert records(deployed, AfterSalesCase) == []


# -- the three-stage limits (三段式处理时效) ------------------------------------------------------------
# The procedure's 3.3 names the three-stage limits but its table gives no numbers: the limits are the
# company's rules (sla_source=company), each walked 1 s before and 1 s after, from the moment it starts.

FIRST, SECOND_STAGE, THIRD, EXPERTS = ("公司规定：一判1个工作日（自受理《售后处理单》起）",
                                       "公司规定：二判2个工作日（判定是否返厂并结合实物/现场确认问题点，自一判完成起）",
                                       "公司规定：三判5个工作日（根因分析及判定、《质量分析报告》，自二判阶段完成起）",
                                       "公司规定：质量专家小组3个工作日内提交评审意见")


def misses(engine):
    return [(r.name, r.department) for r in queries.sla_records(engine.db, status="breached")]


def told(engine, subject_start: str = "超时") -> set[str]:
    return {m.recipient for m in outbox(engine) if m.subject.startswith(subject_start)}


def test_every_limit_is_a_company_rule_and_says_so(deployed):
    bpmn = (PROCESSES / "after_sales_case.bpmn").read_text(encoding="utf-8")
    assert bpmn.count('name="sla_source" value="company"') == 4 and 'value="procedure"' not in bpmn


def test_first_judgment_limit_one_working_day_from_receipt(deployed, travel):
    case = file_case(deployed)  # received Monday 09:00: the clock starts at receipt
    task = case.task("Task_first_judgment")
    due = datetime(2026, 11, 17, 9, 0, tzinfo=BEIJING)
    assert (task.department, task.due_at, task.limit_name) == ("order_management", due, FIRST)
    travel(due - SECOND)
    assert misses(deployed) == [] and told(deployed) == set()
    travel(due + SECOND)
    assert misses(deployed) == [(FIRST, "order_management")]
    # Nobody held the judgment: the department is told (its head reads the department's messages too).
    assert told(deployed) == {"department:order_management"}
    first_judgment(case)  # the judgment is still made by order management
    assert case.open_elements() == {"Task_second_judgment"}


def test_second_stage_limit_spans_the_return_and_the_confirmation_on_the_item(deployed, travel, clock):
    case = file_case(deployed)
    travel(by=timedelta(hours=3))  # the first judgment is made at 12:00: the second stage starts then
    first_judgment(case)
    due = datetime(2026, 11, 18, 12, 0, tzinfo=BEIJING)  # 2 working days
    assert case.task("Task_second_judgment").due_at == due
    assert case.task("Task_second_judgment").limit_name == SECOND_STAGE
    second_judgment(case, "return")  # the decision alone does not meet the limit: the item must be seen
    assert case.task("Task_receive_return").department == "logistics"
    case.complete("Task_receive_return", "log.feng", received_on="2026-11-18", received_quantity=2)
    deployed.claim_task(case.task("Task_recheck").id, ENGINEER)  # the engineer holds the re-check
    travel(due - SECOND)
    assert misses(deployed) == [] and told(deployed) == set()
    travel(due + SECOND)
    assert misses(deployed) == [(SECOND_STAGE, "after_sales")]
    [breach] = queries.sla_records(deployed.db, status="breached")
    assert breach.person == ENGINEER
    # The engineer, the after-sales head and the after-sales supervisors are told; the work stays.
    assert told(deployed) == {f"user:{ENGINEER}", "head:after_sales", "head:service_supervisors"}
    assert the_case(deployed).return_escalated is True
    assert [j["stage"] for j in the_case(deployed).judgments] == ["一判", "二判", "二判超时升级"]
    case.complete("Task_recheck", ENGINEER, recheck_findings="确认油封老化", warranty="in_warranty", problem_type="漏油")
    joint_confirmation(case)
    assert case.open_elements() == {"Task_root_cause_route"}


def test_second_stage_met_when_confirmed_on_site_in_time(deployed, travel):
    case = file_case(deployed)
    first_judgment(case)
    due = datetime(2026, 11, 18, 9, 0, tzinfo=BEIJING)
    second_judgment(case)
    travel(due - SECOND)
    site_confirmation(case)
    travel(due + SECOND)
    assert misses(deployed) == []
    assert [(r.element_id, r.status) for r in queries.sla_records(deployed.db, case.id)] == [
        ("Timer_first_judgment", "met"), ("Timer_second_judgment", "met"), ("Timer_third_judgment", "running")]


def test_third_judgment_limit_five_working_days_from_the_end_of_the_second_stage(deployed, travel):
    case = file_case(deployed)
    first_judgment(case)
    second_judgment(case)
    travel(datetime(2026, 11, 17, 14, 0, tzinfo=BEIJING))
    site_confirmation(case)  # the third stage starts now: Tuesday 14:00
    due = datetime(2026, 11, 24, 14, 0, tzinfo=BEIJING)
    route = case.task("Task_root_cause_route")
    assert (route.department, route.due_at, route.limit_name) == ("quality", due, THIRD)
    case.complete("Task_root_cause_route", QUALITY_HEAD, analysis_route="supervisor")
    travel(due - SECOND)
    assert misses(deployed) == []
    travel(due + SECOND)
    assert misses(deployed) == [(THIRD, "quality")]
    assert told(deployed) == {"department:quality"}
    assert case.open_elements() == {"Task_quality_analysis_report"}  # the report is still written
    analysis_report(case)
    assert case.open_elements() == {"Task_handling_report", "Task_assess_responsibility"}


def test_expert_member_missing_closes_the_review_at_the_limit(deployed, travel, staff):
    case = file_case(deployed)
    to_third_judgment(case)
    travel(by=timedelta(hours=1))
    case.complete("Task_root_cause_route", QUALITY_HEAD, analysis_route="expert_group")  # convened at 10:00
    opinions = case.open_tasks()
    due = datetime(2026, 11, 19, 10, 0, tzinfo=BEIJING)  # 3 working days
    assert {t.due_at for t in opinions} == {due}
    assert {t.limit_name for t in opinions} == {EXPERTS}
    for task in opinions:
        if task.department != "test_center":
            deployed.complete_task(task.id, HEADS[task.department], {"expert_opinion": f"{task.department} 同意"})
    assert case.open_elements() == {"Task_expert_opinion"}
    travel(due - SECOND)
    assert misses(deployed) == [] and case.open_elements() == {"Task_expert_opinion"}
    travel(due + SECOND)
    # The miss counts against the member who gave no opinion, and that department's head is told.
    assert misses(deployed) == [(EXPERTS, "test_center")]
    assert told(deployed) == {"department:test_center", "head:quality"}
    # The review closes: the six opinions and the missing test center are recorded, the supervisor reports.
    assert case.open_elements() == {"Task_quality_analysis_report"}
    recorded = {o.department: o for o in records(deployed, ExpertOpinion)}
    assert len(recorded) == 7 and recorded["test_center"].status == "missing"
    assert recorded["test_center"].opinion is None and recorded["test_center"].given_by is None
    assert all(o.status == "given" and o.given_by == HEADS[d] for d, o in recorded.items() if d != "test_center")
    [event] = case.events("expert_opinions_recorded")
    assert event.detail["missing"] == ["test_center"]


def test_process_owner_changes_a_stage_limit_and_the_expert_group_in_the_diagram(deployed):
    """No Python edit: the limit and the group's departments are the diagram's to change."""
    bpmn = (PROCESSES / "after_sales_case.bpmn").read_text(encoding="utf-8")
    first_limit = ">working_days(1)</bpmn:timeDuration>"
    assert bpmn.count(first_limit) == 1
    bpmn = bpmn.replace(first_limit, ">working_days(2)</bpmn:timeDuration>").replace(
        "quality,production,development,process_engineering,after_sales,test_center,order_management",
        "quality,production,development")
    assert deployed.deploy(bpmn.encode("utf-8"), "owner.xu", filename="after_sales_case.bpmn").version == 2
    case = file_case(deployed)
    assert case.task("Task_first_judgment").due_at == datetime(2026, 11, 18, 9, 0, tzinfo=BEIJING)
    to_third_judgment(case)
    case.complete("Task_root_cause_route", QUALITY_HEAD, analysis_route="expert_group")
    assert sorted(t.department for t in case.open_tasks()) == ["development", "production", "quality"]
