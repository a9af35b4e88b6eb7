"""P2 (seed 000, 4.1 售后服务部) monthly 《售后问题行动计划追踪表》: the timer starts it on the 1st at 09:00
Beijing time (not a second before) with last month's actions; After-sales adds the improvement action plan
from the customer service centre's satisfaction survey report and publishes the table to the heads."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.conftest import BEIJING
from tests.processes.conftest import Case, cases_of
from tests.processes.test_after_sales_case import (
    QUALITY_HEAD,
    SPECIALIST,
    file_case,
    outbox,
    to_third_judgment,
)

SECOND = timedelta(seconds=1)
PROCESS = "after_sales_monthly_action_plan"
DECEMBER_1ST = datetime(2026, 12, 1, 9, 0, tzinfo=BEIJING)


def monthly_cases(engine) -> list[Case]:
    return cases_of(engine, PROCESS)


def test_action_plan_is_compiled_on_the_1st_improved_from_the_survey_and_published(deployed, travel):
    case = file_case(deployed)
    to_third_judgment(case)
    case.complete("Task_root_cause_route", QUALITY_HEAD, analysis_route="supervisor")
    case.complete("Task_quality_analysis_report", QUALITY_HEAD, root_cause="油封材料耐温不足",
                  responsible_party="development", responsibility="开发部选型不当",
                  corrective_action="油封改用氟橡胶材料", action_department="development", action_owner="孙伟",
                  action_due="2026-11-30")
    travel(DECEMBER_1ST - SECOND)
    assert monthly_cases(deployed) == []
    travel(DECEMBER_1ST)
    [month] = monthly_cases(deployed)
    assert month.instance.business_key == "XD-2026-11"
    plan = month.task("Task_satisfaction_improvement")
    assert plan.department == "after_sales"
    assert (plan.data["action_plan_count"], plan.data["action_plan_open"], plan.data["action_plan_overdue"]) == (1, 1, 1)
    assert "SH-2026-0001（ZL-2026-0001）油封改用氟橡胶材料" in plan.data["action_plan_list"]
    month.complete("Task_satisfaction_improvement", SPECIALIST, survey_report="new_report",
                   survey_report_no="KF-2026-11", survey_findings="售后响应慢的投诉占比上升",
                   improvement_actions="处理后发货改为48小时内发出", improvement_department="order_management",
                   improvement_due="2026-12-31")
    publish = month.task("Task_publish_action_plan")
    assert publish.department == "after_sales" and publish.data["improvement_actions"] == "处理后发货改为48小时内发出"
    month.complete("Task_publish_action_plan", "svc.lin", publish_comments="请各部门按期完成")
    assert month.instance.status == "completed"
    published = {m.recipient for m in outbox(deployed) if m.subject == "售后问题行动计划追踪表（2026-11）"}
    assert published == {"head:development", "head:order_management", "head:quality", "head:after_sales",
                         "head:service_supervisors"}
    [event] = month.events("action_plan_published")
    assert (event.actor, event.detail["survey_report"], event.detail["actions"]) == ("svc.lin", "new_report", 1)
    # January's table reports on December: the open November action is still on it.
    travel(datetime(2027, 1, 1, 9, 0, tzinfo=BEIJING))
    january = monthly_cases(deployed)[1]
    assert january.instance.business_key == "XD-2026-12"
    assert january.task("Task_satisfaction_improvement").data["action_plan_open"] == 1
