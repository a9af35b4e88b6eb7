"""P2 (seed 000 4.1) tracking registers: the monthly 《售后问题行动计划追踪表》 and the weekly 《处理后发货统计追踪表》
list (周报), opened by month or week from the records menu so departments and auditors follow them up."""
from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.handler_api import HandlerRegistry, RecordSection
from handlers.after_sales_cases import (
    STATUS_NAMES,
    AfterSalesCase,
    action_plan_rows,
    form_options,
    shipment_rows,
)

registry = HandlerRegistry()
TRACKERS = ("order_management", "after_sales", "quality", "service_supervisors")


def _month(key: str) -> tuple[date, date]:
    try:
        start = date.fromisoformat(f"{key}-01")
    except ValueError:
        raise LookupError(f"'{key}' is no month (YYYY-MM)") from None
    return start, (start + timedelta(days=32)).replace(day=1)


def _week(key: str) -> tuple[date, date]:
    try:
        day = date.fromisoformat(key)
    except ValueError:
        raise LookupError(f"'{key}' is no date (YYYY-MM-DD)") from None
    start = day - timedelta(days=day.weekday())
    return start, start + timedelta(days=7)


@registry.record_book("after_sales_action_plan", "售后问题行动计划追踪表", "After-sales action plan tracking",
                      key_column="month", key_label=("月份（如 2026-11）", "Month (e.g. 2026-11)"), viewers=TRACKERS)
def action_plan_book(session: Session, month: str | None) -> RecordSection | None:
    """Index: the months with actions due; a month: its actions and the earlier ones still open."""
    if month is None:
        due = AfterSalesCase.action_due
        months = sorted({d.strftime("%Y-%m") for d in session.scalars(select(due).where(due.is_not(None)))},
                        reverse=True)
        rows = []
        for key in months:
            listed = action_plan_rows(session, *_month(key))
            rows.append(SimpleNamespace(month=key, actions=len(listed),
                                        open=sum(r["action_status"] != "done" for r in listed),
                                        overdue=sum(bool(r["overdue"]) for r in listed)))
        return RecordSection.of("售后问题行动计划追踪表", "After-sales action plan tracking", [
            ("month", "月份", "Month"), ("actions", "措施数", "Actions"), ("open", "未完成", "Open"),
            ("overdue", "已超期", "Overdue")], rows)
    return RecordSection.of(f"售后问题行动计划追踪表（{month}）", f"After-sales action plan tracking ({month})", [
        ("case_no", "售后处理单", "Case"), ("analysis_report_no", "质量分析报告", "Analysis report"),
        ("dealer", "经销商", "Dealer"), ("product", "产品", "Product"), ("root_cause", "根本原因", "Root cause"),
        ("responsible_party", "责任方", "Responsible party"), ("corrective_action", "措施", "Action"),
        ("action_department", "责任部门", "Department"), ("action_owner", "责任人", "Owner"),
        ("action_due", "期限", "Due"), ("action_status", "状态", "Status"), ("overdue", "超期", "Overdue"),
    ], [SimpleNamespace(**row) for row in action_plan_rows(session, *_month(month))],
        labels={"action_status": STATUS_NAMES})


@registry.record_book("after_sales_shipments", "处理后发货统计追踪表（周报）", "Weekly shipments after handling",
                      key_column="week", key_label=("该周任一日期", "Any date of the week"), viewers=TRACKERS)
def shipment_book(session: Session, week: str | None) -> RecordSection | None:
    """Index: the weeks (Monday) with shipments after handling; a week: what went out."""
    if week is None:
        days = session.execute(select(AfterSalesCase.shipped_on, func.count()).where(
            AfterSalesCase.shipped_on.is_not(None)).group_by(AfterSalesCase.shipped_on)).all()
        weeks: dict[str, int] = {}
        for day, count in days:
            key = (day - timedelta(days=day.weekday())).isoformat()
            weeks[key] = weeks.get(key, 0) + count
        return RecordSection.of("处理后发货统计追踪表（周报）", "Weekly shipments after handling", [
            ("week", "周（周一）", "Week (Monday)"), ("cases", "发货单数", "Cases shipped")],
            [SimpleNamespace(week=k, cases=v) for k, v in sorted(weeks.items(), reverse=True)])
    start, _end = _week(week)
    return RecordSection.of(f"处理后发货统计追踪表（周报，{start.isoformat()}起）", f"Shipments after handling, week of {start}", [
        ("case_no", "售后处理单", "Case"), ("dealer", "经销商", "Dealer"), ("end_customer", "终端客户", "End customer"),
        ("product", "产品", "Product"), ("quantity", "数量", "Quantity"), ("outcome", "处理结果", "Outcome"),
        ("shipment_info", "发货信息", "Shipment"), ("shipped_on", "发货日期", "Shipped on"), ("closed", "已关闭", "Closed"),
    ], [SimpleNamespace(**row) for row in shipment_rows(session, *_week(week))], labels={"outcome": form_options(session).get("outcome", {})})
