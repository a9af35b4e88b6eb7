"""The customer service file (《客户服务档案》) opened per customer: who may open it and what it shows."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from handlers.customer_files import CustomerServiceFileEntry


@pytest.fixture
def filed(engine, clock):
    """Two customers' files as P5 leaves them: an installation sheet and a repair record for one, a
    maintenance record for the other."""
    now = clock.now()
    entries = [
        ("苏州恒达精密", "SN-001", "installation", "《装机单》", "IN-2026-0001", "装机调试完成，培训3人", now),
        ("苏州恒达精密", "SN-001", "repair", "《维修记录》", "RP-2026-0004", "更换主板", now + timedelta(days=3)),
        ("宁波海天塑机", "SN-777", "maintenance", "《保养记录》", "MP-2026-0002", "季度保养", now + timedelta(days=1)),
    ]
    with engine.db.sessions.begin() as session:
        session.add_all(CustomerServiceFileEntry(customer=c, serial_no=s, kind=k, document=d, business_key=b,
                                                 instance_id=1, summary=text, signed_by="客户代表",
                                                 signed_on=date(2026, 11, 16), filed_by="svc.huang", filed_at=at)
                        for c, s, k, d, b, text, at in entries)


def test_an_auditor_opens_one_customers_file_from_the_list(as_user, filed):
    auditor = as_user("audit.ma")
    index = auditor.text("/records/customer_service_file")
    assert "客户服务档案" in index and "苏州恒达精密" in index and "宁波海天塑机" in index
    assert 'href="/records/customer_service_file?key=' in index
    assert "客户名称" in index and ">查询</button>" in index  # look up a customer by name

    page = auditor.text("/records/customer_service_file?key=苏州恒达精密")
    assert "《装机单》" in page and "《维修记录》" in page and "RP-2026-0004" in page
    assert "装机" in page and "维修" in page  # the kind in words, not its code
    assert "《保养记录》" not in page and "宁波海天塑机" not in page
    assert page.index("IN-2026-0001") < page.index("RP-2026-0004")  # oldest first


def test_after_sales_reaches_the_file_from_the_menu_and_quality_may_not_open_it(as_user, filed):
    service = as_user("svc.huang")
    assert 'href="/records/customer_service_file"' in service.text("/inbox")
    assert service.page("/records/customer_service_file").status_code == 200

    quality = as_user("qa.wang")
    assert 'href="/records/customer_service_file"' not in quality.text("/inbox")
    assert quality.page("/records/customer_service_file?key=苏州恒达精密").status_code == 403


def test_a_customer_without_a_file_and_an_unknown_book(as_user, filed):
    auditor = as_user("audit.ma")
    assert "还没有归档记录" in auditor.text("/records/customer_service_file?key=无此客户")
    assert auditor.page("/records/no_such_book").status_code == 404


def test_the_file_in_english(as_user, filed):
    auditor = as_user("audit.ma")
    auditor.post("/language", {"language": "en", "next": "/inbox"})
    page = auditor.text("/records/customer_service_file?key=苏州恒达精密")
    assert "Customer service file" in page and "Installation" in page and "Repair record" not in page


def test_the_action_plan_tracking_table_and_the_weekly_shipments_by_month_and_week(as_user, engine):
    """P2 step 7: order management follows up the month's actions and the week's shipments after handling."""
    from datetime import UTC, datetime

    from handlers.after_sales_cases import AfterSalesCase

    def case(number: int, due: date, status: str, shipped: date | None) -> AfterSalesCase:
        return AfterSalesCase(
            case_no=f"SH-2026-{number:04d}", instance_id=number, dealer="华东经销商", end_customer="终端客户",
            product_name="减速电机", model="JZ-200", serial_no="S", ship_date=date(2026, 1, 1), quantity=1,
            problem_description="漏油", filed_by="order.xie", received_at=datetime(2026, 11, 1, tzinfo=UTC),
            judgments=[], customer_rounds=[], handling_rounds=0, return_escalated=False, root_cause="油封老化",
            corrective_action="更换油封材料", action_department="development", action_owner="孙伟",
            action_due=due, action_status=status, outcome="exchange", shipped_on=shipped)
    with engine.db.sessions.begin() as session:
        session.add_all([case(1, date(2026, 10, 20), "open", date(2026, 11, 17)),
                         case(2, date(2026, 11, 10), "done", date(2026, 11, 19)),
                         case(3, date(2026, 12, 5), "open", None)])
    clerk = as_user("order.xie")
    index = clerk.text("/records/after_sales_action_plan")
    assert "售后问题行动计划追踪表" in index and "2026-11" in index and "2026-12" in index
    november = clerk.text("/records/after_sales_action_plan?key=2026-11")
    assert "SH-2026-0001" in november and "SH-2026-0002" in november and "SH-2026-0003" not in november
    assert "进行中" in november and "已完成" in november and "更换油封材料" in november
    assert clerk.page("/records/after_sales_action_plan?key=2026-13").status_code == 404

    week = clerk.text("/records/after_sales_shipments?key=2026-11-18")  # any day of the week opens it
    assert "2026-11-16" in week and "SH-2026-0001" in week and "SH-2026-0002" in week and "换货" in week
    assert as_user("ws.zheng").page("/records/after_sales_shipments").status_code == 403
