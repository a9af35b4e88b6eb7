"""P2 After-sales oversight on a schedule (seed 000, 4.1 售后服务部): the weekly review of the
《处理后发货统计追踪表》 that order management submits, and the monthly publication of the
《售后问题行动计划追踪表》 with the improvement plan from the customer satisfaction survey report."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from engine.handler_api import HandlerContext, HandlerRegistry
from handlers.after_sales_cases import action_plan_rows, form_options, shipment_rows
from handlers.monthly_review_contents import previous_month
from handlers.numbering import BEIJING

registry = HandlerRegistry()


def _scheduled_for(ctx: HandlerContext) -> datetime:
    value = ctx.data.get("scheduled_for")
    if not value:
        raise ValueError("this review starts from its timer: the case variable scheduled_for is missing")
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("scheduled_for needs a time zone")
    return moment


def previous_week(scheduled_for: datetime) -> tuple[date, date]:
    """[Monday, next Monday) of the calendar week before the occurrence, in Beijing time."""
    day = scheduled_for.astimezone(BEIJING).date()
    this_monday = day - timedelta(days=day.weekday())
    return this_monday - timedelta(days=7), this_monday


def _name(options: dict[str, tuple[str, str]], code: str | None) -> str:
    return options.get(code, (code or "—",))[0]


@registry.handler("after_sales_reviews.compile_shipments")
def compile_shipments(ctx: HandlerContext) -> dict[str, Any]:
    """The draft 《处理后发货统计追踪表》 of last week: every case shipped after handling (P2 4.1)."""
    start, end = previous_week(_scheduled_for(ctx))
    rows = shipment_rows(ctx.session, start, end)
    outcomes = form_options(ctx.session).get("outcome", {})
    year, week, _ = start.isocalendar()
    ctx.assign_business_key(f"ZB-{year}-W{week:02d}")
    listing = "\n".join(
        f"{r['case_no']} {r['shipped_on'].isoformat()} {r['dealer']}/{r['end_customer']} {r['product']}×{r['quantity']}"
        f" {_name(outcomes, r['outcome'])} {r['shipment_info'] or '—'}{'（已关闭）' if r['closed'] else '（未关闭）'}"
        for r in rows) or "上周无处理后发货"
    return {"shipment_week": f"{start.isoformat()} 至 {(end - timedelta(days=1)).isoformat()}",
            "shipment_week_start": start.isoformat(), "shipment_count": len(rows),
            "shipment_cases": [r["case_no"] for r in rows], "shipment_list": listing}


@registry.handler("after_sales_reviews.record_shipment_review")
def record_shipment_review(ctx: HandlerContext) -> dict[str, Any]:
    """After-sales' review of the weekly list; a returned list goes back to order management."""
    result, comments = ctx.data["review_result"], ctx.data.get("review_comments")
    rounds = int(ctx.data.get("review_rounds") or 0) + 1
    ctx.audit("weekly_shipments_reviewed", {"week": ctx.data.get("shipment_week_start"), "result": result,
                                            "comments": comments, "round": rounds,
                                            "cases": ctx.data.get("shipment_cases") or []})
    if result == "returned":
        ctx.outbox.notify("department:order_management",
                          f"《处理后发货统计追踪表》退回修改：{ctx.data.get('shipment_week')}", comments or "")
    return {"review_rounds": rounds}


@registry.handler("after_sales_reviews.compile_action_plan")
def compile_action_plan(ctx: HandlerContext) -> dict[str, Any]:
    """Last month's 《售后问题行动计划追踪表》: actions due in the month and earlier ones still open."""
    start, end = previous_month(_scheduled_for(ctx))
    rows = action_plan_rows(ctx.session, start.date(), end.date())
    month = f"{start.astimezone(BEIJING):%Y-%m}"
    ctx.assign_business_key(f"XD-{month}")
    listing = "\n".join(
        f"{r['case_no']}（{r['analysis_report_no']}）{r['corrective_action']} — {r['action_department']}/"
        f"{r['action_owner']}，期限{r['action_due'].isoformat()}，{'已完成' if r['action_status'] == 'done' else '未完成'}"
        f"{'，已超期' if r['overdue'] else ''}" for r in rows) or "本月无到期或未完成的行动计划"
    return {"action_plan_month": month, "action_plan_count": len(rows),
            "action_plan_open": sum(r["action_status"] != "done" for r in rows),
            "action_plan_overdue": sum(bool(r["overdue"]) for r in rows),
            "action_plan_departments": sorted({r["action_department"] for r in rows if r["action_department"]}),
            "action_plan_list": listing}


@registry.handler("after_sales_reviews.publish_action_plan")
def publish_action_plan(ctx: HandlerContext) -> dict[str, Any]:
    """Publish the month's table: to the heads of every department with an action on it (including the
    satisfaction improvement's) and to the heads the task's `send_to` property names."""
    data = ctx.data
    departments = list(data.get("action_plan_departments") or [])
    if data.get("improvement_actions") and data.get("improvement_department"):
        departments.append(data["improvement_department"])
    recipients = list(dict.fromkeys([*(f"head:{d}" for d in departments), *ctx.property_list("send_to")]))
    improvement = data.get("improvement_actions") or "—"
    body = (f"{data.get('action_plan_list')}\n\n客户满意度改进行动计划（{data.get('survey_report_no') or '本月无新报告'}）："
            f"{improvement}\n\n{data.get('publish_comments') or ''}")
    for recipient in recipients:
        ctx.outbox.notify(recipient, f"售后问题行动计划追踪表（{data.get('action_plan_month')}）", body)
    ctx.audit("action_plan_published", {"month": data.get("action_plan_month"), "recipients": recipients,
                                        "actions": data.get("action_plan_count"),
                                        "survey_report": data.get("survey_report"),
                                        "improvement_actions": data.get("improvement_actions")})
    return {"published_at": ctx.now.isoformat(), "published_to": recipients}
