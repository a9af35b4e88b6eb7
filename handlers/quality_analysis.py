"""P3 monthly after-sales quality data analysis (产品售后质量问题分析及改善): the month's record, the
collected and verified figures, abnormal-fluctuation detection and the reports of Quality, Engineering
and Development. Limits, forms, thresholds and routes live in the diagram."""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base, HandlerContext, HandlerRegistry, RecordSection, UtcDateTime
from handlers.quality_figures import (
    CATEGORIES,
    SOURCES,
    STATUSES,
    UNKNOWN_MODEL,
    FigureKey,
    QualityAnomaly,
    QualityFigure,
    find_fluctuations,
    month_bounds,
    month_label,
    months_before,
    parse_decisions,
    parse_figures,
    previous_month,
)
from handlers.service_desk import ServiceCase

registry = HandlerRegistry()

MONTH_STATUSES = {
    "collecting": ("收集质量数据", "Collecting data"), "verifying": ("核实可疑记录", "Verifying doubtful records"),
    "analysing": ("汇总分析", "Analysing"), "investigating": ("售后服务部调查异常波动", "After-sales investigating a fluctuation"),
    "reporting": ("质量部初步分析", "Quality's initial analysis"),
    "engineering": ("工程部综合分析", "Engineering analysis"), "development": ("开发部设计改进", "Design improvement"),
    "verifying_fix": ("工程部跟进改善效果", "Engineering follows up the fix"), "closed": ("已完成", "Closed"),
}
REQUEST_TYPES = {"consultation": "咨询", "complaint": "投诉", "suggestion": "建议"}  # P4's request types


class QualityAnalysisMonth(Base):
    """One month's after-sales quality analysis: its figures, anomalies and the departments' reports."""

    __tablename__ = "quality_analysis_months"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    scheduled_for: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20))
    service_records: Mapped[int] = mapped_column(Integer, default=0)
    figure_count: Mapped[int] = mapped_column(Integer, default=0)
    data_summary: Mapped[str | None] = mapped_column(Text)
    anomaly_count: Mapped[int] = mapped_column(Integer, default=0)
    anomalies: Mapped[str | None] = mapped_column(Text)
    investigation: Mapped[str | None] = mapped_column(Text)
    initial_report: Mapped[str | None] = mapped_column(Text)
    key_problems: Mapped[str | None] = mapped_column(Text)
    reported_by: Mapped[str | None] = mapped_column(String(120))
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    engineering_analysis: Mapped[str | None] = mapped_column(Text)
    handling_proposal: Mapped[str | None] = mapped_column(Text)
    design_cause: Mapped[bool | None] = mapped_column(Boolean)
    design_analysis: Mapped[str | None] = mapped_column(Text)
    improvement_measures: Mapped[str | None] = mapped_column(Text)
    task_force: Mapped[bool | None] = mapped_column(Boolean)
    task_force_members: Mapped[str | None] = mapped_column(String(400))
    improvement_rounds: Mapped[int] = mapped_column(Integer, default=0)
    fix_effective: Mapped[bool | None] = mapped_column(Boolean)
    fix_verification: Mapped[str | None] = mapped_column(Text)
    shared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def month_label(self) -> str:
        return month_label(self.month)


def analysis_month(ctx: HandlerContext) -> QualityAnalysisMonth:
    record = ctx.session.query(QualityAnalysisMonth).filter_by(instance_id=ctx.instance_id).one_or_none()
    if record is None:
        raise LookupError(f"instance {ctx.instance_id} has no monthly quality analysis")
    return record


def company_setting(ctx: HandlerContext, name: str, example: str) -> str:
    value = ctx.property(name)
    if value is None:
        raise ValueError(f"the task '{ctx.element_name}' needs the property {name} (e.g. {example})")
    return value


def _counted(session: Session, month: str) -> dict[FigureKey, int]:
    """The month's verified counts per category/model/fault, all sources together."""
    rows = session.execute(
        select(QualityFigure.category, QualityFigure.model, QualityFigure.fault, func.sum(QualityFigure.count))
        .where(QualityFigure.month == month, QualityFigure.status.in_(("accepted", "verified", "corrected")))
        .group_by(QualityFigure.category, QualityFigure.model, QualityFigure.fault))
    return {(category, model, fault): int(total) for category, model, fault, total in rows}


def sent_back(ctx: HandlerContext, code: str, errors: list[str]) -> None:
    """Record a refused submission the way the engine records a check that sends a task back."""
    ctx.audit("bpmn_error", {"topic": ctx.topic, "code": code, "message": "\n".join(errors), "errors": errors})


# -- collection and verification (P3 step 1) --------------------------------------------------------
@registry.handler("quality_analysis.open_month")
def open_month(ctx: HandlerContext) -> dict[str, Any]:
    """Open the record of the month before the scheduled run (a run on 1 December analyses November)."""
    scheduled = ctx.data.get("scheduled_for")
    if not scheduled:
        raise ValueError("the monthly analysis needs the case variable scheduled_for (given by its timer start)")
    moment = datetime.fromisoformat(str(scheduled))
    if moment.tzinfo is None:
        raise ValueError(f"scheduled_for '{scheduled}' has no time zone")
    month = previous_month(moment)
    existing = ctx.session.query(QualityAnalysisMonth).filter_by(month=month).one_or_none()
    if existing is not None:
        raise ValueError(f"{month} already has a quality analysis (case {existing.instance_id})")
    ctx.session.add(QualityAnalysisMonth(month=month, instance_id=ctx.instance_id, scheduled_for=moment,
                                         status="collecting"))
    ctx.assign_business_key(f"QA-{month}")
    return {"month": month, "month_label": month_label(month)}


@registry.handler("quality_analysis.count_service_records")
def count_service_records(ctx: HandlerContext) -> dict[str, Any]:
    """Count the month's archived service-system cases (P4) per product and request type as figures of
    the category the task's `category` property names; `request_types` limits the types counted."""
    category = company_setting(ctx, "category", "hotline_data")
    if category not in CATEGORIES:
        raise ValueError(f"category '{category}' is not one of {', '.join(CATEGORIES)}")
    record = analysis_month(ctx)
    start, end = month_bounds(record.month)
    query = (select(ServiceCase.product_service, ServiceCase.request_type, func.count())
             .where(ServiceCase.archived_at >= start, ServiceCase.archived_at < end)
             .group_by(ServiceCase.product_service, ServiceCase.request_type)
             .order_by(ServiceCase.product_service, ServiceCase.request_type))
    if types := ctx.property_list("request_types"):
        query = query.where(ServiceCase.request_type.in_(types))
    lines = []
    for model, request_type, count in ctx.session.execute(query):
        fault = REQUEST_TYPES.get(request_type, request_type or "未分类")
        ctx.session.add(QualityFigure(month=record.month, instance_id=ctx.instance_id, source="service_system",
                                      category=category, model=model, fault=fault, count=count,
                                      reported_count=count, status="accepted", entered_by=ctx.actor,
                                      entered_at=ctx.now))
        record.service_records += count
        lines.append(f"{model} {fault} {count}")
    summary = "\n".join(lines) if lines else "本月服务系统无已归档记录"
    return {"service_system_summary": summary}


@registry.handler("quality_analysis.record_figures")
def record_figures(ctx: HandlerContext) -> dict[str, Any]:
    """Check the pasted lines; a malformed paste is sent back with every error and nothing is stored.
    Figures are flagged doubtful without a model, entered twice, or jumping against the same figure of
    last month (properties `doubt_ratio`, `doubt_min_count`); a new figure is left to the fluctuation check."""
    figures, errors = parse_figures(ctx.data.get("pasted_figures") or "")
    if errors:
        sent_back(ctx, "QUALITY_DATA_INVALID", errors)
        return {"data_accepted": False, "data_errors": "\n".join(errors)}
    ratio = float(company_setting(ctx, "doubt_ratio", "3"))
    min_count = int(company_setting(ctx, "doubt_min_count", "10"))
    record = analysis_month(ctx)
    [last_month] = months_before(record.month, 1)
    last = Counter()
    for row in ctx.session.scalars(select(QualityFigure).where(
            QualityFigure.month == last_month, QualityFigure.status.in_(("accepted", "verified", "corrected")))):
        last[(row.source, row.category, row.model, row.fault)] += row.count
    seen: set[tuple[str, str, str, str]] = set()
    stored = []
    for figure in figures:
        key = (figure.source, figure.category, figure.model, figure.fault)
        reasons = []
        if not figure.model:
            reasons.append("缺少型号")
        if key in seen:
            reasons.append("同一来源重复录入")
        if last[key] and figure.count >= min_count and figure.count > last[key] * ratio:
            reasons.append(f"数量突增（上月{last[key]}件）")
        seen.add(key)
        stored.append(QualityFigure(
            month=record.month, instance_id=ctx.instance_id, source=figure.source, category=figure.category,
            model=figure.model, fault=figure.fault, count=figure.count, reported_count=figure.count,
            status="doubtful" if reasons else "accepted", doubt_reason="；".join(reasons) or None,
            note=ctx.data.get("collection_note"), entered_by=ctx.actor, entered_at=ctx.now))
    ctx.session.add_all(stored)
    ctx.session.flush()
    doubtful = [f for f in stored if f.status == "doubtful"]
    record.status = "verifying" if doubtful else "analysing"
    return {"data_accepted": True, "data_errors": "", "doubtful_count": len(doubtful),
            "doubtful_records": "\n".join(f"{f.line()} —— {f.doubt_reason}" for f in doubtful)}


@registry.handler("quality_analysis.record_verification")
def record_verification(ctx: HandlerContext) -> dict[str, Any]:
    """Apply the specialist's results (属实/更正/剔除) to every doubtful record, or send them all back."""
    doubtful = {f.id: f for f in ctx.session.scalars(select(QualityFigure).where(
        QualityFigure.instance_id == ctx.instance_id, QualityFigure.status == "doubtful"))}
    decisions, errors = parse_decisions(ctx.data.get("verification_results") or "", set(doubtful))
    if errors:
        sent_back(ctx, "VERIFICATION_INCOMPLETE", errors)
        return {"verification_accepted": False, "verification_errors": "\n".join(errors)}
    for decision in decisions:
        figure = doubtful[decision.figure_id]
        figure.status, figure.verified_by, figure.verified_at = decision.result, ctx.actor, ctx.now
        figure.note = "；".join(filter(None, [ctx.data.get("verified_with"), decision.note])) or None
        if decision.count is not None:
            figure.count = decision.count
    analysis_month(ctx).status = "analysing"
    results = Counter(d.result for d in decisions)
    return {"verification_accepted": True, "verification_errors": "",
            "verification_summary": "；".join(f"{STATUSES[k][0]} {v}条" for k, v in sorted(results.items()))}


@registry.handler("quality_analysis.aggregate")
def aggregate(ctx: HandlerContext) -> dict[str, Any]:
    """Totals of the verified figures by category (板级维修/整机维修/开箱不良/热线数据) and by source."""
    record = analysis_month(ctx)
    figures = ctx.session.scalars(select(QualityFigure).where(QualityFigure.month == record.month)).all()
    counted = [f for f in figures if f.verified]
    by_category, by_source, by_model = Counter(), Counter(), Counter()
    for figure in counted:
        by_category[figure.category] += figure.count
        by_source[figure.source] += figure.count
        by_model[(CATEGORIES[figure.category][0], figure.model or UNKNOWN_MODEL, figure.fault)] += figure.count
    record.figure_count = sum(by_category.values())
    dropped = sum(1 for f in figures if f.status == "dropped")
    top = "；".join(f"{m} {fault}（{c}）{n}件" for (c, m, fault), n in by_model.most_common(5))
    record.data_summary = "\n".join([
        f"{record.month_label}售后质量数据（已核实）共{record.figure_count}件",
        "按类别：" + "；".join(f"{name} {by_category[code]}件" for code, (name, _) in CATEGORIES.items()),
        "按来源：" + "；".join(f"{name} {by_source[code]}件" for code, (name, _) in SOURCES.items()),
        f"前五位：{top or '无'}", f"核实剔除{dropped}条记录"])
    return {"data_summary": record.data_summary}


# -- abnormal fluctuation (P3 step 2) ---------------------------------------------------------------
@registry.handler("quality_analysis.detect_anomalies")
def detect_anomalies(ctx: HandlerContext) -> dict[str, Any]:
    """Compare each category/model/fault count with its trailing months (properties `trailing_months`,
    `threshold_ratio`, `min_count`) and record every abnormal fluctuation."""
    months_back = int(company_setting(ctx, "trailing_months", "3"))
    ratio = float(company_setting(ctx, "threshold_ratio", "1.5"))
    min_count = int(company_setting(ctx, "min_count", "5"))
    if months_back < 1:
        raise ValueError("trailing_months must be at least 1")
    record = analysis_month(ctx)
    trailing_months = months_before(record.month, months_back)
    trailing = [_counted(ctx.session, month) for month in trailing_months]
    found = find_fluctuations(_counted(ctx.session, record.month), trailing, ratio, min_count)
    for item in found:
        category, model, fault = item.key
        ctx.session.add(QualityAnomaly(month=record.month, instance_id=ctx.instance_id, category=category,
                                       model=model, fault=fault, count=item.count, trailing_counts=item.trailing,
                                       trailing_mean=item.mean, rule=item.rule, reason=item.reason,
                                       detected_at=ctx.now))
    lines = [f"{CATEGORIES[i.key[0]][0]} {i.key[1] or UNKNOWN_MODEL} {i.key[2]}：{i.reason}"
             f"（前{months_back}个月：{'/'.join(map(str, i.trailing))}）" for i in found]
    record.anomaly_count, record.anomalies = len(found), "\n".join(lines) or None
    record.status = "reporting"
    basis = (f"与前{months_back}个月（{trailing_months[0]}至{trailing_months[-1]}）比较：超过月均值×{ratio:g}"
             f"且不少于{min_count}件，或首次出现且不少于{min_count}件，为异常波动")
    if not any(trailing):
        basis += f"；前{months_back}个月无历史数据，本月数据作为比较基线"
    return {"anomaly_count": len(found), "anomaly_list": "\n".join(lines) or "无异常波动", "detection_basis": basis}


@registry.handler("quality_analysis.open_investigation")
def open_investigation(ctx: HandlerContext) -> dict[str, Any]:
    """Tell the people named by the task's `recipients` property at once that an investigation is open."""
    recipients = ctx.property_list("recipients")
    if not recipients:
        raise ValueError("the task needs the property recipients (e.g. department:quality,head:engineering)")
    record = analysis_month(ctx)
    record.status = "investigating"
    subject = f"{ctx.element_name}：{record.month_label} {record.anomaly_count}项异常波动（{ctx.business_key}）"
    for recipient in recipients:
        ctx.outbox.notify(recipient, subject, record.anomalies or "")
    ctx.audit("investigation_opened", {"month": record.month, "anomalies": record.anomaly_count,
                                       "recipients": recipients})
    return {}


# -- what the case page shows --------------------------------------------------------------------------
@registry.case_records
def month_record(session: Session, instance_id: int) -> RecordSection | None:
    """The month's analysis as Quality, Engineering, Development and the auditors read it."""
    return RecordSection.of("月度质量分析", "Monthly quality analysis", [
        ("month_label", "分析月份", "Month"), ("status", "状态", "Status"),
        ("service_records", "服务系统记录", "Service-system records"), ("figure_count", "已核实件数", "Verified count"),
        ("data_summary", "汇总分类", "Summary"), ("anomaly_count", "异常波动数", "Anomalies"),
        ("anomalies", "异常波动", "Abnormal fluctuations"), ("investigation", "异常波动调查（售后服务部）", "Investigation (After-sales)"),
        ("initial_report", "产品质量初步分析报告", "Initial product-quality analysis report"),
        ("engineering_analysis", "工程部综合分析", "Engineering analysis"),
        ("handling_proposal", "初步处理方案", "Initial handling plan"), ("design_cause", "设计原因", "Design cause"),
        ("improvement_measures", "设计改进措施", "Design improvement"), ("task_force", "攻关小组", "Tackling team"),
        ("fix_effective", "改善有效（工程部跟进）", "Fix effective (Engineering's follow-up)"), ("shared_at", "内部分享时间", "Shared at"),
        ("closed_at", "完成时间", "Closed at"),
    ], session.query(QualityAnalysisMonth).filter_by(instance_id=instance_id).all(),
        labels={"status": MONTH_STATUSES})


@registry.case_records
def anomaly_records(session: Session, instance_id: int) -> RecordSection | None:
    """Each abnormal fluctuation with the trailing mean and the rule that flagged it."""
    return RecordSection.of("异常波动", "Abnormal fluctuations", [
        ("category", "类别", "Category"), ("model", "型号", "Model"), ("fault", "故障", "Fault"),
        ("count", "本月件数", "This month"), ("trailing_mean", "前期月均", "Trailing mean"),
        ("reason", "判定依据", "Basis"),
    ], session.query(QualityAnomaly).filter_by(instance_id=instance_id).order_by(QualityAnomaly.id).all(),
        labels={"category": CATEGORIES})


@registry.case_records
def figure_records(session: Session, instance_id: int) -> RecordSection | None:
    """The month's collected figures with what verification made of each."""
    return RecordSection.of("月度质量数据", "Monthly quality figures", [
        ("id", "编号", "No."), ("source", "来源", "Source"), ("category", "类别", "Category"),
        ("model", "型号", "Model"), ("fault", "故障", "Fault"), ("count", "数量", "Count"),
        ("reported_count", "原报数量", "As reported"), ("status", "核实状态", "Verification"),
        ("doubt_reason", "可疑原因", "Doubt"), ("note", "说明", "Note"),
    ], session.query(QualityFigure).filter_by(instance_id=instance_id).order_by(QualityFigure.id).all(),
        labels={"source": SOURCES, "category": CATEGORIES, "status": STATUSES})
