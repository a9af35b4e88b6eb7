"""The warranty criteria of P2's first judgment and the action-plan tracking table, without a process."""
from __future__ import annotations

from datetime import UTC, date, datetime

from handlers.after_sales_cases import AfterSalesCase, action_plan_rows
from handlers.warranty_criteria import WarrantyCriterion, add_months, judge_warranty, matching_criterion


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert add_months(date(2026, 3, 10), 18) == date(2027, 9, 10)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)


def test_last_day_of_the_period_is_within_warranty():
    criterion = WarrantyCriterion(model_prefix="JZ-", product_category="减速电机", warranty_months=18,
                                  counted_from="ship_date")
    verdict, basis, until = judge_warranty(criterion, date(2025, 5, 16), None, date(2026, 11, 16))
    assert (verdict, until) == ("in_warranty", date(2026, 11, 16)) and "保修18个月" in basis
    assert judge_warranty(criterion, date(2025, 5, 15), None, date(2026, 11, 16))[0] == "out_of_warranty"
    assert judge_warranty(None, date(2025, 5, 15), None, date(2026, 11, 16))[0] == "undetermined"


def test_the_longest_matching_prefix_wins_and_defaults_are_installed_once(database):
    with database.sessions.begin() as session:
        assert matching_criterion(session, "jz-200").product_category == "减速电机"
        session.add(WarrantyCriterion(model_prefix="JZ-2", product_category="大功率减速电机", warranty_months=24,
                                      counted_from="ship_date"))
        session.flush()
        assert matching_criterion(session, "JZ-200").warranty_months == 24
        assert matching_criterion(session, "QQ-1").model_prefix == ""
        assert session.query(WarrantyCriterion).count() == 6


def _case(number: int, due: date, status: str) -> AfterSalesCase:
    return AfterSalesCase(
        case_no=f"SH-2026-{number:04d}", instance_id=number, dealer="经销商", end_customer="终端客户",
        product_name="减速电机", model="JZ-200", serial_no="S", ship_date=date(2026, 1, 1), quantity=1,
        problem_description="漏油", filed_by="order.xie", received_at=datetime(2026, 11, 1, tzinfo=UTC),
        judgments=[], customer_rounds=[], handling_rounds=0, return_escalated=False, root_cause="油封",
        corrective_action="换材料", action_department="development", action_owner="孙伟", action_due=due,
        action_status=status)


def test_action_plan_lists_the_months_actions_and_earlier_open_ones(database):
    with database.sessions.begin() as session:
        session.add_all([_case(1, date(2026, 10, 20), "open"), _case(2, date(2026, 10, 25), "done"),
                         _case(3, date(2026, 11, 10), "done"), _case(4, date(2026, 11, 28), "open"),
                         _case(5, date(2026, 12, 5), "open")])
    with database.sessions() as session:
        rows = action_plan_rows(session, date(2026, 11, 1), date(2026, 12, 1))
    assert [(r["case_no"], r["action_status"], r["overdue"]) for r in rows] == [
        ("SH-2026-0001", "open", True), ("SH-2026-0003", "done", False), ("SH-2026-0004", "open", True)]
