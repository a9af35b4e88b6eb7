"""P6 step 10: problem–cause–solution archived to the knowledge base, and a problem that comes back more
than the diagram's threshold in a calendar month flagged for the monthly cross-department review."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.handler_api import HandlerContext, HandlerRegistry
from handlers.customer_feedback import ImprovementPlan, KnowledgeEntry, count_in_period, feedback_of

registry = HandlerRegistry()
BEIJING = ZoneInfo("Asia/Shanghai")


def calendar_month(moment: datetime) -> tuple[datetime, datetime]:
    """The Beijing calendar month holding `moment`, as [start, end)."""
    local = moment.astimezone(BEIJING)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


@registry.handler("product_improvement.archive_knowledge")
def archive_knowledge(ctx: HandlerContext) -> dict[str, Any]:
    """A new problem becomes an entry; a known one counts one more occurrence and keeps its first wording."""
    feedback = feedback_of(ctx)
    if not feedback.problem_key:
        raise ValueError(f"feedback {feedback.feedback_no} has no analysed problem to archive")
    plan = ctx.session.scalars(select(ImprovementPlan).where(
        ImprovementPlan.feedback_id == feedback.id, ImprovementPlan.status == "approved")
        .order_by(ImprovementPlan.version.desc()).limit(1)).first()
    entry = ctx.session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.key == feedback.problem_key)).first()
    if entry is None:
        solution = (f"短期：{plan.short_term_fix}\n长期：{plan.long_term_change}" if plan
                    else feedback.implementation_record or feedback.result_summary or "")
        entry = KnowledgeEntry(key=feedback.problem_key, product_model=feedback.product_model,
                               problem=feedback.phenomenon or "", cause=feedback.root_cause or "", solution=solution,
                               source_feedback_no=feedback.feedback_no, created_at=ctx.now, occurrences=1)
        ctx.session.add(entry)
    else:
        entry.occurrences += 1
        entry.updated_at = ctx.now
    ctx.audit("knowledge_archived", {"key": entry.key, "occurrences": entry.occurrences,
                                     "feedback_no": feedback.feedback_no})
    return {"knowledge_key": entry.key}


@registry.handler("product_improvement.flag_recurrence")
def flag_recurrence(ctx: HandlerContext) -> dict[str, Any]:
    """Count this problem's feedbacks received in the same calendar month; above the task's
    `recurrence_threshold` the feedback is flagged and the people in `notify` are told."""
    threshold = ctx.property("recurrence_threshold")
    if threshold is None:
        raise ValueError("the task needs the property recurrence_threshold (e.g. 5)")
    feedback = feedback_of(ctx)
    start, end = calendar_month(feedback.received_at)
    count = count_in_period(ctx.session, feedback.problem_key or "", start, end)
    flagged = count > int(threshold)
    if flagged:
        feedback.recurrence_flagged = True
        month = f"{start:%Y-%m}"
        ctx.audit("recurrence_flagged", {"problem_key": feedback.problem_key, "month": month, "count": count,
                                         "threshold": int(threshold), "feedback_no": feedback.feedback_no})
        for recipient in ctx.property_list("notify"):
            ctx.outbox.notify(recipient, f"重复问题提交月度评审：{feedback.problem_key}（{month} 已 {count} 次）",
                              f"客户反馈 {feedback.feedback_no}（{feedback.customer}，{feedback.product_model}）"
                              f"是该问题本月第 {count} 次反馈，超过 {threshold} 次，列入月度跨部门评审。\n"
                              f"根本原因：{feedback.root_cause}")
    return {"recurrence_count": count, "recurrence_flagged": flagged}
