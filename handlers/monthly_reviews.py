"""Monthly reviews for the management review (管理评审): P1 market quality summary and P6 monthly feedback analysis reports."""
from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import (
    Base,
    HandlerContext,
    HandlerRegistry,
    RecordSection,
    UtcDateTime,
    department_names,
    option_names,
)
from handlers.monthly_review_contents import (
    feedback_analysis_content,
    market_quality_content,
    period_of,
    previous_month,
)
from handlers.monthly_review_rows import KINDS, report_rows, summary_text
from handlers.numbering import BEIJING

registry = HandlerRegistry()

MARKET_QUALITY, FEEDBACK_ANALYSIS = "market_quality", "feedback_analysis"


class MonthlyReviewReport(Base):
    """One month's report: the counted figures (content), then what the reviewers added and decided."""

    __tablename__ = "monthly_review_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    period_start: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    period_end: Mapped[datetime] = mapped_column(UtcDateTime)
    generated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))  # draft, reviewed, finalised
    clerk_comments: Mapped[str | None] = mapped_column(Text)
    additional_information: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(120))
    department_opinions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    review_conclusions: Mapped[str | None] = mapped_column(Text)
    improvement_decisions: Mapped[str | None] = mapped_column(Text)
    reviewers: Mapped[str | None] = mapped_column(String(500))
    finalised_by: Mapped[str | None] = mapped_column(String(120))
    finalised_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


def _scheduled_for(ctx: HandlerContext) -> datetime:
    value = ctx.data.get("scheduled_for")
    if not value:
        raise ValueError("a monthly review starts from its timer: the case variable scheduled_for is missing")
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _report_no(session: Session, kind: str, period_start: datetime) -> str:
    """YB-2026-11-SC for November's market quality summary; a re-run for the same month gets -2, -3 …"""
    stem = f"YB-{period_start.astimezone(BEIJING):%Y-%m}-{KINDS[kind]['code']}"
    taken = set(session.scalars(select(MonthlyReviewReport.report_no)
                                .where(MonthlyReviewReport.report_no.like(f"{stem}%"))))
    if stem not in taken:
        return stem
    sequence = 2
    while f"{stem}-{sequence}" in taken:
        sequence += 1
    return f"{stem}-{sequence}"


def _attainment(ctx: HandlerContext, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The period's limits met and missed, by department, in the process the task's property names."""
    process_key = ctx.property("sla_process")
    if process_key is None:
        raise ValueError("the task needs the property sla_process (the process whose limits are reported)")
    return ctx.sla_attainment(start, end, by="department", process_key=process_key, by_source=True)


def draft_report(ctx: HandlerContext, kind: str, content: dict[str, Any], start: datetime,
                 end: datetime) -> dict[str, Any]:
    """Keep the counted month as a numbered draft; its number becomes the case's business key."""
    report_no = _report_no(ctx.session, kind, start)
    content = {"period": period_of(start, end), **content}
    ctx.session.add(MonthlyReviewReport(
        report_no=report_no, instance_id=ctx.instance_id, kind=kind, period_start=start, period_end=end,
        generated_at=ctx.now, content=content, status="draft"))
    ctx.assign_business_key(report_no)
    return {"report_no": report_no, "period": content["period"]["label"],
            "report_summary": summary_text(kind, content, _source_names(ctx.session, kind))}


@registry.handler("monthly_reviews.summarise_market_quality")
def summarise_market_quality(ctx: HandlerContext) -> dict[str, Any]:
    """P1 step 11: the draft summary of last month's market quality information for the Sales clerk."""
    threshold = ctx.property("important_share")
    if threshold is None:
        raise ValueError("the task needs the property important_share (e.g. 0.2)")
    start, end = previous_month(_scheduled_for(ctx))
    content = market_quality_content(ctx.session, start, end, float(threshold), _attainment(ctx, start, end))
    return draft_report(ctx, MARKET_QUALITY, content, start, end)


@registry.handler("monthly_reviews.analyse_feedback")
def analyse_feedback(ctx: HandlerContext) -> dict[str, Any]:
    """P6 step 10: the draft 《月度反馈分析报告》 for the cross-department review."""
    threshold = ctx.property("frequent_threshold")
    if threshold is None:
        raise ValueError("the task needs the property frequent_threshold (e.g. 5: more than 5 times a month)")
    start, end = previous_month(_scheduled_for(ctx))
    content = feedback_analysis_content(ctx.session, start, end, int(threshold), _attainment(ctx, start, end))
    return draft_report(ctx, FEEDBACK_ANALYSIS, content, start, end)


def _source_names(session: Session, kind: str) -> dict[str, Any]:
    """The option names of the counted process's diagram (its categories, causes…)."""
    return option_names(session, KINDS[kind]["source_process"])


def _report(ctx: HandlerContext) -> MonthlyReviewReport:
    report = ctx.session.scalars(select(MonthlyReviewReport).filter_by(instance_id=ctx.instance_id)).one_or_none()
    if report is None:
        raise LookupError(f"instance {ctx.instance_id} has no monthly review report")
    return report


@registry.handler("monthly_reviews.record_clerk_summary")
def record_clerk_summary(ctx: HandlerContext) -> dict[str, Any]:
    """The Sales clerk's comments and additions complete the summary before the management review."""
    report = _report(ctx)
    report.clerk_comments = ctx.data["clerk_comments"]
    report.additional_information = ctx.data.get("additional_information") or None
    report.reviewed_by, report.status = ctx.actor, "reviewed"
    return {}


@registry.handler("monthly_reviews.record_department_opinion")
def record_department_opinion(ctx: HandlerContext) -> dict[str, Any]:
    """One department's opinion in the cross-department review (its branch runs this on completion)."""
    department = ctx.property("department")
    if department is None:
        raise ValueError("the task needs the property department (the code of the reviewing department)")
    zh, en = department_names(ctx.session).get(department, (department, department))
    report = _report(ctx)
    report.department_opinions = [*(report.department_opinions or []), {
        "department": department, "name_zh": zh, "name_en": en, "by": ctx.actor, "at": ctx.now.isoformat(),
        "opinion": ctx.data["department_opinion"], "actions": ctx.data.get("department_actions") or None}]
    report.status = "reviewed"
    return {}


REVIEW_ADDITIONS = {"plan_effectiveness": ("改进方案有效性", "Effectiveness of the plans"),
                    "next_quarter_focus": ("下一季度产品优化重点", "Next quarter's focus")}


@registry.handler("monthly_reviews.finalise_report")
def finalise_report(ctx: HandlerContext) -> dict[str, Any]:
    """Record the reviewers' conclusions and decisions, then send the report to whom the diagram names."""
    report = _report(ctx)
    report.review_conclusions = ctx.data["review_conclusions"]
    report.improvement_decisions = ctx.data.get("improvement_decisions") or None
    report.reviewers = ctx.data.get("reviewers") or None
    # P6's review also judges the plans' effectiveness and names the next quarter's focus (kept in the content).
    added = {key: ctx.data[key] for key in REVIEW_ADDITIONS if ctx.data.get(key)}
    if added:
        report.content = {**report.content, **added}
    report.finalised_by, report.finalised_at, report.status = ctx.actor, ctx.now, "finalised"
    title = KINDS[report.kind]["title"][0]
    body = summary_text(report.kind, report.content, _source_names(ctx.session, report.kind)) + f"\n\n评审结论：{report.review_conclusions}"
    if report.improvement_decisions:
        body += f"\n改进决定与措施：{report.improvement_decisions}"
    for key, label in REVIEW_ADDITIONS.items():
        if added.get(key):
            body += f"\n{label[0]}：{added[key]}"
    for recipient in ctx.property_list("send_to"):
        ctx.outbox.notify(recipient, f"{title} {report.report_no}（{report.content['period']['label']}）", body)
    return {"finalised_at": ctx.now.isoformat()}


@registry.handler("monthly_reviews.hand_to_management_review")
def hand_to_management_review(ctx: HandlerContext) -> dict[str, Any]:
    """P1 (000 5.1.2.11): the Sales clerk's monthly summary, with the improvement status of serious and batch
    problems and the complaint and claim cases, goes as input to the management review, to whom the diagram
    names. The review itself belongs to the management review procedure, not to this one."""
    report = _report(ctx)
    report.finalised_by, report.finalised_at, report.status = ctx.actor, ctx.now, "finalised"
    title = KINDS[report.kind]["title"][0]
    body = summary_text(report.kind, report.content, _source_names(ctx.session, report.kind))
    body += f"\n\n销售部内勤汇总意见：{report.clerk_comments}"
    if report.additional_information:
        body += f"\n补充信息：{report.additional_information}"
    for recipient in ctx.property_list("send_to"):
        ctx.outbox.notify(recipient, f"管理评审信息：{title} {report.report_no}（{report.content['period']['label']}）",
                          body)
    return {"finalised_at": ctx.now.isoformat()}


@registry.case_records
def monthly_review_record(session: Session, instance_id: int) -> RecordSection | None:
    """The month's report as a table: one row per figure, Pareto item, listed case or review entry."""
    report = session.scalars(select(MonthlyReviewReport).filter_by(instance_id=instance_id)).one_or_none()
    if report is None:
        return None
    zh, en = KINDS[report.kind]["title"]
    return RecordSection(f"{zh} {report.report_no}", f"{en} {report.report_no}", [
        ("review_section", "栏目", "Section"), ("review_item", "项目", "Item"), ("review_figure", "数值", "Figure"),
        ("review_share", "比例", "Share"), ("review_remark", "说明", "Remark"),
    ], report_rows(report, _source_names(session, report.kind)))


REVIEWERS = ("sales", "quality", "development", "production", "after_sales", "product_management")
REPORT_STATUS_NAMES = {"draft": ("草稿", "Draft"), "reviewed": ("已汇总", "Summarised"),
                       "finalised": ("已评审定稿", "Finalised")}


def _review_month(key: str) -> tuple[datetime, datetime]:
    """'2026-11' as the Beijing month's [start, end) in UTC."""
    try:
        start = datetime.strptime(f"{key}-01", "%Y-%m-%d").replace(tzinfo=BEIJING)
    except ValueError:
        raise LookupError(f"'{key}' is no month (YYYY-MM)") from None
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, end


@registry.record_book("monthly_reviews", "月度评审报告", "Monthly review reports", key_column="month",
                      key_label=("月份（如 2026-11）", "Month (e.g. 2026-11)"), viewers=REVIEWERS)
def monthly_review_book(session: Session, month: str | None) -> RecordSection | None:
    """Index: every month's reports (number, kind, state); a month: its reports as the case page shows them."""
    if month is None:
        reports = session.scalars(select(MonthlyReviewReport).order_by(
            MonthlyReviewReport.period_start.desc(), MonthlyReviewReport.report_no)).all()
        rows = [SimpleNamespace(month=f"{r.period_start.astimezone(BEIJING):%Y-%m}", report_no=r.report_no,
                                kind=r.kind, status=r.status, generated_at=r.generated_at,
                                finalised_at=r.finalised_at) for r in reports]
        return RecordSection.of("月度评审报告", "Monthly review reports", [
            ("month", "月份", "Month"), ("report_no", "报告编号", "Report"), ("kind", "报告", "Kind"),
            ("status", "状态", "State"), ("generated_at", "生成时间", "Generated"),
            ("finalised_at", "定稿时间", "Finalised")], rows,
            labels={"kind": {kind: spec["title"] for kind, spec in KINDS.items()}, "status": REPORT_STATUS_NAMES})
    start, end = _review_month(month)
    reports = session.scalars(select(MonthlyReviewReport).where(
        MonthlyReviewReport.period_start >= start, MonthlyReviewReport.period_start < end)
        .order_by(MonthlyReviewReport.report_no)).all()
    if not reports:
        return None
    rows = []
    for report in reports:
        for entry in report_rows(report, _source_names(session, report.kind)):
            rows.append({"report_no": report.report_no, **entry})
    return RecordSection(f"月度评审报告（{month}）", f"Monthly review reports ({month})", [
        ("report_no", "报告编号", "Report"), ("review_section", "栏目", "Section"), ("review_item", "项目", "Item"),
        ("review_figure", "数值", "Figure"), ("review_share", "比例", "Share"), ("review_remark", "说明", "Remark"),
    ], rows)
