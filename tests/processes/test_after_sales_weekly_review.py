"""P2 (seed 000, 4.1 售后服务部) weekly review of the 《处理后发货统计追踪表》: the timer starts it every
Monday at 09:00 Beijing time (not a second before) with last week's shipments after handling; order
management submits it, After-sales reviews it, a returned list goes back to order management."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.conftest import BEIJING
from tests.processes.conftest import Case, cases_of
from tests.processes.test_after_sales_case import (
    CLERK,
    SPECIALIST,
    agreement,
    assessment,
    file_case,
    handling_report,
    outbox,
    supervisor_decides,
    to_third_judgment,
)

SECOND = timedelta(seconds=1)
PROCESS = "after_sales_weekly_review"
MONDAY_23RD = datetime(2026, 11, 23, 9, 0, tzinfo=BEIJING)


def weekly_cases(engine) -> list[Case]:
    return cases_of(engine, PROCESS)


def shipped_case(engine, shipped_on: str) -> None:
    case = file_case(engine)
    to_third_judgment(case)
    supervisor_decides(case)
    assessment(case)
    handling_report(case)
    agreement(case, shipment_info="维修件顺丰 SF1234567890", shipped_on=shipped_on)


def test_weekly_list_starts_on_monday_at_nine_and_is_reviewed_by_after_sales(deployed, travel):
    shipped_case(deployed, "2026-11-18")  # Wednesday of the week 16-22 November
    travel(MONDAY_23RD - SECOND)
    assert weekly_cases(deployed) == []
    travel(MONDAY_23RD)
    [week] = weekly_cases(deployed)
    assert week.instance.business_key == "ZB-2026-W47"
    submit = week.task("Task_submit_shipments")
    assert submit.department == "order_management"
    assert submit.data["shipment_week"] == "2026-11-16 至 2026-11-22" and submit.data["shipment_count"] == 1
    assert "SH-2026-0001 2026-11-18" in submit.data["shipment_list"] and "SF1234567890" in submit.data["shipment_list"]
    week.complete("Task_submit_shipments", CLERK, order_remarks="已全部发出")
    review = week.task("Task_review_shipments")
    assert review.department == "after_sales" and review.data["order_remarks"] == "已全部发出"
    # Returned: order management corrects and submits again.
    week.complete("Task_review_shipments", SPECIALIST, review_result="returned", review_comments="请补充签收情况")
    assert any(m.recipient == "department:order_management" and "退回修改" in m.subject for m in outbox(deployed))
    assert week.task("Task_submit_shipments").data["review_comments"] == "请补充签收情况"
    week.complete("Task_submit_shipments", CLERK, order_remarks="已全部发出，经销商11月20日签收")
    week.complete("Task_review_shipments", SPECIALIST, review_result="approved", review_comments="同意")
    assert week.instance.status == "completed"
    reviews = week.events("weekly_shipments_reviewed")
    assert [(e.actor, e.detail["result"], e.detail["round"]) for e in reviews] == [
        (SPECIALIST, "returned", 1), (SPECIALIST, "approved", 2)]
    assert reviews[-1].detail["cases"] == ["SH-2026-0001"]
    # The next Monday lists the week 23-29 November, which shipped nothing.
    travel(MONDAY_23RD + timedelta(days=7) - SECOND)
    assert len(weekly_cases(deployed)) == 1
    travel(MONDAY_23RD + timedelta(days=7))
    nxt = weekly_cases(deployed)[1]
    assert nxt.task("Task_submit_shipments").data["shipment_list"] == "上周无处理后发货"
