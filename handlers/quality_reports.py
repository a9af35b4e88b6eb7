"""P3 step 3, the month's quality reports: After-sales' investigation of the fluctuations, Quality's initial
report (or its request for more data first), Engineering's analysis, Development's design improvement, the
verification of the fix and sharing it with the other product lines. The month itself and its figures are
handlers/quality_analysis.py's; the topics keep its prefix."""
from __future__ import annotations

from typing import Any

from engine.handler_api import HandlerContext, HandlerRegistry
from handlers.quality_analysis import analysis_month, company_setting, sent_back

registry = HandlerRegistry()


@registry.handler("quality_analysis.record_investigation")
def record_investigation(ctx: HandlerContext) -> dict[str, Any]:
    """After-sales' findings on the month's fluctuations (5.1.3), kept for the report and reported at once
    to the recipients the task's `recipients` property names (Quality)."""
    record = analysis_month(ctx)
    parts = [("调查结果", "investigation_findings"), ("初步原因", "suspected_cause"), ("临时措施", "immediate_actions")]
    record.investigation = "\n".join(f"{label}：{ctx.data[key]}" for label, key in parts if ctx.data.get(key))
    record.status = "reporting"
    subject = f"{ctx.element_name}：{record.month_label}异常波动调查情况（{ctx.business_key}）"
    for recipient in ctx.property_list("recipients"):
        ctx.outbox.notify(recipient, subject, record.investigation)
    return {}


def _missing(ctx: HandlerContext, fields: list[tuple[str, str]]) -> list[str]:
    return [f"请填写{label}" for label, key in fields if not str(ctx.data.get(key) or "").strip()]


def _data_request(ctx: HandlerContext, requested_by: str) -> dict[str, Any] | None:
    """A filled-in `data_request` (5.1.4): the analysis waits for After-sales to supply the data."""
    request = str(ctx.data.get("data_request") or "").strip()
    if not request:
        return None
    ctx.audit("data_requested", {"requested_by": requested_by, "request": request})
    return {"data_requested": True, "data_requested_by": requested_by}


@registry.handler("quality_analysis.record_initial_report")
def record_initial_report(ctx: HandlerContext) -> dict[str, Any]:
    """Quality's written initial product-quality analysis report (产品质量初步分析报告, 5.2.1), handed on to
    Engineering; or, when Quality asks After-sales for more data first (5.1.4), that request."""
    if request := _data_request(ctx, "quality"):
        return {**request, "report_accepted": False, "report_errors": ""}
    errors = _missing(ctx, [("主要质量问题", "key_problems"), ("产品质量初步分析报告", "initial_report")])
    if errors:
        sent_back(ctx, "REPORT_INCOMPLETE", errors)
        return {"data_requested": False, "report_accepted": False, "report_errors": "\n".join(errors)}
    record = analysis_month(ctx)
    record.initial_report, record.key_problems = ctx.data.get("initial_report"), ctx.data.get("key_problems")
    record.reported_by, record.reported_at, record.status = ctx.actor, ctx.now, "engineering"
    return {"data_requested": False, "report_accepted": True, "report_errors": ""}


@registry.handler("quality_analysis.record_supplementary_data")
def record_supplementary_data(ctx: HandlerContext) -> dict[str, Any]:
    """What After-sales found out and supplied for the department the task's `requested_by` property names
    (5.1.4), added to the case's supplementary data; a needed database redesign/update is recorded too."""
    requested_by = company_setting(ctx, "requested_by", "quality")
    names = {"quality": "质量部", "engineering": "工程部"}
    request, supplied = str(ctx.data.get("data_request") or ""), str(ctx.data.get("supplied_data") or "")
    database = bool(ctx.data.get("database_update"))
    entry = f"【{names.get(requested_by, requested_by)}要求】{request}\n【售后服务部补充】{supplied}"
    if database:
        entry += f"\n【售后服务系统数据库需重新设计或更新】{ctx.data.get('database_update_note') or ''}"
    ctx.audit("data_supplied", {"requested_by": requested_by, "request": request, "database_update": database})
    previous = str(ctx.data.get("supplementary_data") or "")
    return {"supplementary_data": f"{previous}\n{entry}" if previous else entry, "data_request": "",
            "data_requested": False}


@registry.handler("quality_analysis.record_engineering_analysis")
def record_engineering_analysis(ctx: HandlerContext) -> dict[str, Any]:
    """Engineering's comprehensive analysis and initial handling plan, whether the cause lies in the design
    or with another department; or, when Engineering asks After-sales for more data first (5.1.4), that request."""
    if request := _data_request(ctx, "engineering"):
        return {**request, "analysis_accepted": False, "analysis_errors": ""}
    errors = _missing(ctx, [("综合分析", "comprehensive_analysis"), ("初步处理方案", "handling_proposal")])
    liable = ctx.data.get("liable_department") or None
    if liable and not str(ctx.data.get("liable_issue") or "").strip():
        errors.append("指定了责任部门，请填写其须吸取的教训及补救要求")
    if errors:
        sent_back(ctx, "ANALYSIS_INCOMPLETE", errors)
        return {"data_requested": False, "analysis_accepted": False, "analysis_errors": "\n".join(errors)}
    record = analysis_month(ctx)
    record.engineering_analysis = ctx.data.get("comprehensive_analysis")
    record.handling_proposal = ctx.data.get("handling_proposal")
    record.design_cause = bool(ctx.data.get("design_cause"))
    record.status = "development" if record.design_cause else record.status
    return {"data_requested": False, "analysis_accepted": True, "analysis_errors": "",
            "has_liable_department": liable is not None}


@registry.handler("quality_analysis.record_design_improvement")
def record_design_improvement(ctx: HandlerContext) -> dict[str, Any]:
    """Development's design analysis and improvement; each round (after an ineffective fix) is counted."""
    record = analysis_month(ctx)
    record.design_analysis = ctx.data.get("design_analysis")
    record.improvement_measures = ctx.data.get("improvement_measures")
    record.task_force = bool(ctx.data.get("task_force"))
    record.task_force_members = ctx.data.get("task_force_members") if record.task_force else None
    record.improvement_rounds += 1
    record.status = "verifying_fix"
    return {"improvement_round": record.improvement_rounds}


@registry.handler("quality_analysis.record_fix_verification")
def record_fix_verification(ctx: HandlerContext) -> dict[str, Any]:
    """Engineering's follow-up of the fix (执行情况及效果); an ineffective one goes back to Development (in the audit trail)."""
    record = analysis_month(ctx)
    record.fix_effective = bool(ctx.data.get("fix_effective"))
    record.fix_verification = ctx.data.get("fix_verification_note")
    if not record.fix_effective:
        record.status = "development"
        ctx.audit("design_fix_ineffective", {"round": record.improvement_rounds, "note": record.fix_verification})
    return {}


@registry.handler("quality_analysis.share_design_fixes")
def share_design_fixes(ctx: HandlerContext) -> dict[str, Any]:
    """Development shares an effective fix inside the company (分享和推广): the departments the task's
    `departments` property names are told."""
    departments = ctx.property_list("departments")
    if not departments:
        raise ValueError("the task needs the property departments (department codes, comma separated)")
    record = analysis_month(ctx)
    subject = f"{ctx.element_name}：{record.month_label}售后质量分析（{ctx.business_key}）"
    body = "\n".join(f"{label}：{value}" for label, value in [
        ("设计原因分析", record.design_analysis), ("设计改进措施", record.improvement_measures),
        ("执行情况及效果", record.fix_verification), ("工程部初步处理方案", record.handling_proposal)] if value)
    for department in departments:
        ctx.outbox.notify(f"department:{department}", subject, body)
    record.shared_at = ctx.now
    return {"shared_with": departments}


@registry.handler("quality_analysis.close_month")
def close_month(ctx: HandlerContext) -> dict[str, Any]:
    """Close the month; the departments in the optional `departments` property get the conclusions."""
    record = analysis_month(ctx)
    record.status, record.closed_at = "closed", ctx.now
    body = "\n".join(f"{label}：{value}" for label, value in [
        ("初步分析报告", record.initial_report), ("工程部综合分析", record.engineering_analysis),
        ("初步处理方案", record.handling_proposal)] if value)
    for department in ctx.property_list("departments"):
        ctx.outbox.notify(f"department:{department}", f"{record.month_label}售后质量分析已完成（{ctx.business_key}）", body)
    return {"closed_at": ctx.now.isoformat()}
