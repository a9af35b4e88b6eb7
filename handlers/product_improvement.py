"""P6 customer feedback to product improvement: the 《客户反馈记录表》, 《问题分析报告》, improvement plans
reviewed by three heads, beta tests, the customer's verdict, and the case page. Limits, forms and routes live
in processes/feedback_improvement.bpmn; the knowledge base step lives in `knowledge_base`."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.handler_api import BpmnError, HandlerContext, HandlerRegistry, RecordSection
from handlers import knowledge_base
from handlers.customer_feedback import (  # noqa: F401  (the records other areas read are re-exported here)
    BacklogItem,
    BetaParticipant,
    CustomerFeedback,
    ImprovementPlan,
    KnowledgeEntry,
    PlanReview,
    feedback_of,
    problem_key,
    recurring_problems,
)
from handlers.numbering import next_number

registry = HandlerRegistry()
registry.include(knowledge_base.registry)

_BETA_LINE = re.compile(r"\s*[:：]\s*")


@registry.handler("product_improvement.register_feedback")
def register_feedback(ctx: HandlerContext) -> dict[str, Any]:
    """Number the feedback (FK-2026-0001) as the case's business key; its receipt time starts the limits."""
    data = ctx.data
    feedback_no = next_number(ctx.session, CustomerFeedback.feedback_no, "FK", ctx.now)
    ctx.session.add(CustomerFeedback(
        feedback_no=feedback_no, instance_id=ctx.instance_id, channel=data["channel"], customer=data["customer"],
        contact=data.get("contact"), product_model=data.get("product_model"), phenomenon=data.get("summary"),
        complexity=data.get("complexity"), received_at=ctx.now, received_by=ctx.actor, handling_rounds=1,
        recurrence_flagged=False))
    ctx.assign_business_key(feedback_no)
    return {"feedback_no": feedback_no, "handling_rounds": 1}


@registry.handler("product_improvement.record_feedback_form")
def record_feedback_form(ctx: HandlerContext) -> dict[str, Any]:
    """The completed 《客户反馈记录表》 and its class (P6 steps 1 and 3)."""
    data, feedback = ctx.data, feedback_of(ctx)
    feedback.company, feedback.batch = data.get("company"), data.get("batch")
    feedback.phenomenon = data.get("phenomenon") or feedback.phenomenon
    feedback.frequency, feedback.scenario = data.get("frequency"), data.get("scenario")
    feedback.expected_solution = data.get("expected_solution")
    feedback.feedback_class, feedback.class_basis = data.get("feedback_class"), data.get("class_basis")
    feedback.recorded_at = ctx.now
    return {}


@registry.handler("product_improvement.record_first_response")
def record_first_response(ctx: HandlerContext) -> dict[str, Any]:
    """Who acknowledged, how and when, and the handling time promised to the customer (its complexity): the
    first responder and the promised time are columns of the 《客户反馈记录表》."""
    feedback = feedback_of(ctx)
    feedback.first_response_channel = ctx.data.get("response_channel")
    feedback.first_response = ctx.data.get("first_response")
    feedback.complexity = ctx.data.get("complexity") or feedback.complexity
    feedback.first_response_at = ctx.now
    return {"first_responder": ctx.actor}


@registry.handler("product_improvement.record_feasibility")
def record_feasibility(ctx: HandlerContext) -> dict[str, Any]:
    feedback = feedback_of(ctx)
    feedback.feasibility, feedback.feasibility_note = ctx.data.get("feasibility"), ctx.data.get("feasibility_note")
    return {}


@registry.handler("product_improvement.record_analysis")
def record_analysis(ctx: HandlerContext) -> dict[str, Any]:
    """The 《问题分析报告》; its problem code makes the key recurrences are counted by (P6 steps 5 and 10)."""
    data, feedback = ctx.data, feedback_of(ctx)
    feedback.root_cause, feedback.cause_category = data["root_cause"], data["cause_category"]
    findings = [f"{who}：{data[key]}" for who, key in (("研发工程师", "rd_findings"), ("质量工程师", "quality_findings"))
                if data.get(key)]
    feedback.analysis_report = "\n".join([data.get("analysis_report") or "", *findings]).strip() or None
    feedback.test_cases = data.get("test_cases")
    feedback.problem_key = problem_key(feedback.product_model, data["problem_code"])
    feedback.analysed_by, feedback.analysed_at = ctx.actor, ctx.now
    return {"problem_key": feedback.problem_key}


@registry.handler("product_improvement.record_direct_handling")
def record_direct_handling(ctx: HandlerContext) -> dict[str, Any]:
    """A problem handled without R&D (known solution, software update, part replacement): its cause and what
    was done, with technical support's part when it handled the case jointly; the problem code makes the key."""
    data, feedback = ctx.data, feedback_of(ctx)
    feedback.root_cause, feedback.cause_category = data["root_cause"], data.get("cause_category")
    feedback.problem_key = problem_key(feedback.product_model, data["problem_code"])
    done = [data.get("handling_record"), data.get("support_actions") and f"技术支持：{data['support_actions']}",
            data.get("temporary_measure") and f"临时措施：{data['temporary_measure']}"]
    feedback.implementation_record = "；".join(d for d in done if d)
    feedback.analysed_by, feedback.analysed_at = ctx.actor, ctx.now
    return {"problem_key": feedback.problem_key}


@registry.handler("product_improvement.record_plan")
def record_plan(ctx: HandlerContext) -> dict[str, Any]:
    """A new version of the improvement plan, waiting for the three heads' review."""
    data, feedback = ctx.data, feedback_of(ctx)
    version = 1 + len(ctx.session.scalars(select(ImprovementPlan.id).where(
        ImprovementPlan.feedback_id == feedback.id)).all())
    plan = ImprovementPlan(
        feedback_id=feedback.id, version=version, short_term_fix=data["short_term_fix"],
        long_term_change=data["long_term_change"], schedule=data["schedule"], owners=data["owners"],
        resources=data.get("resources"), implementation=data["implementation"],
        rd_iteration=bool(data.get("rd_iteration")), drafted_by=ctx.actor, drafted_at=ctx.now, status="in_review")
    ctx.session.add(plan)
    ctx.session.flush()
    return {"plan_id": plan.id, "plan_version": version}


@registry.handler("product_improvement.record_plan_review")
def record_plan_review(ctx: HandlerContext) -> dict[str, Any]:
    """One head's decision; which head is the task's `reviewer_department` / `reviewer_role` property."""
    department = ctx.property("reviewer_department")
    if department is None:
        raise ValueError("the task needs the property reviewer_department (a department code)")
    ctx.session.add(PlanReview(
        plan_id=int(ctx.data["plan_id"]), department=department, role=ctx.property("reviewer_role", department),
        decision=ctx.data["review_decision"], comment=ctx.data.get("review_comment"), reviewer=ctx.actor,
        reviewed_at=ctx.now))
    return {}


@registry.handler("product_improvement.conclude_plan_review")
def conclude_plan_review(ctx: HandlerContext) -> dict[str, Any]:
    """Approved only when every department of `reviewer_departments` approved; any rejection sends it back
    (with the decision fields cleared, so no head finds another's old decision in the next review)."""
    required = ctx.property_list("reviewer_departments")
    if not required:
        raise ValueError("the task needs the property reviewer_departments (department codes)")
    plan = ctx.session.get(ImprovementPlan, int(ctx.data["plan_id"]))
    reviews = {r.department: r for r in ctx.session.scalars(select(PlanReview).where(PlanReview.plan_id == plan.id))}
    missing = [d for d in required if d not in reviews]
    if missing:
        raise LookupError(f"plan {plan.id} has no review from {', '.join(missing)}")
    rejected = [reviews[d] for d in required if reviews[d].decision != "approve"]
    plan.status = "rejected" if rejected else "approved"
    if rejected:
        ctx.audit("improvement_plan_rejected", {
            "plan_version": plan.version,
            "rejected_by": [{"role": r.role, "reviewer": r.reviewer, "comment": r.comment} for r in rejected]})
        return {"plan_approved": False, "review_decision": None, "review_comment": None,
                "plan_rejections": "；".join(f"{r.role}：{r.comment or '否决'}" for r in rejected)}
    feedback = feedback_of(ctx)
    feedback.implementation = plan.implementation
    return {"plan_approved": True, "implementation": plan.implementation, "rd_iteration": plan.rd_iteration,
            "plan_rejections": None}


@registry.handler("product_improvement.record_implementation")
def record_implementation(ctx: HandlerContext) -> dict[str, Any]:
    """What was done with the sold products (recall / on-site replacement / mail-in / nothing)."""
    feedback = feedback_of(ctx)
    feedback.implementation = ctx.data.get("implementation")
    if feedback.implementation != "none":
        details = [ctx.data.get("recall_scope"), ctx.data.get("tracking_no"),
                   f"更换 {ctx.data['units_replaced']} 台" if feedback.implementation == "on_site" else None,
                   ctx.data.get("implementation_record")]
        feedback.implementation_record = "；".join(str(d) for d in details if d)
    return {}


def beta_participants(text: str) -> list[tuple[str, str | None]]:
    """Customers of the beta form, one per line ("customer" or "customer: result"), blanks and repeats dropped."""
    seen: dict[str, str | None] = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        customer, *result = _BETA_LINE.split(line.strip(), maxsplit=1)
        seen.setdefault(customer.strip(), (result[0].strip() or None) if result else None)
    return list(seen.items())


@registry.handler("product_improvement.record_beta")
def record_beta(ctx: HandlerContext) -> dict[str, Any]:
    """The beta customers and their results; outside the task's `beta_min_customers`–`beta_max_customers`
    the list is refused and goes back to the beta task with nothing recorded."""
    low, high = ctx.property("beta_min_customers"), ctx.property("beta_max_customers")
    if low is None or high is None:
        raise ValueError("the task needs the properties beta_min_customers and beta_max_customers")
    participants = beta_participants(ctx.data.get("beta_customers", ""))
    if not int(low) <= len(participants) <= int(high):
        raise BpmnError("BETA_CUSTOMERS_OUT_OF_RANGE",
                        f"Beta测试须有 {low}–{high} 家客户，本次填写了 {len(participants)} 家")
    feedback = feedback_of(ctx)
    for customer, result in participants:
        ctx.session.add(BetaParticipant(feedback_id=feedback.id, handling_round=feedback.handling_rounds,
                                        customer=customer, result=result or ctx.data.get("beta_results"),
                                        recorded_at=ctx.now))
    return {"beta_customer_count": len(participants)}


@registry.handler("product_improvement.record_verification")
def record_verification(ctx: HandlerContext) -> dict[str, Any]:
    feedback = feedback_of(ctx)
    feedback.verification_result = ctx.data.get("verification_result")
    feedback.customer_verification_report = ctx.data.get("customer_verification_report")
    feedback.verified_by = ctx.actor
    return {}


@registry.handler("product_improvement.record_result")
def record_result(ctx: HandlerContext) -> dict[str, Any]:
    feedback = feedback_of(ctx)
    feedback.result_summary, feedback.result_sent_at = ctx.data.get("result_summary"), ctx.now
    return {}


@registry.handler("product_improvement.record_satisfaction")
def record_satisfaction(ctx: HandlerContext) -> dict[str, Any]:
    feedback = feedback_of(ctx)
    feedback.satisfaction, feedback.callback_comment = int(ctx.data["satisfaction"]), ctx.data.get("callback_comment")
    return {}


@registry.handler("product_improvement.start_second_handling")
def start_second_handling(ctx: HandlerContext) -> dict[str, Any]:
    """A score below the diagram's bar: one more handling round, and the heads in `notify` are told."""
    feedback = feedback_of(ctx)
    feedback.handling_rounds += 1
    ctx.audit("second_handling_started", {"feedback_no": feedback.feedback_no, "satisfaction": feedback.satisfaction,
                                          "handling_round": feedback.handling_rounds})
    for recipient in ctx.property_list("notify"):
        ctx.outbox.notify(recipient, f"客户反馈 {feedback.feedback_no} 满意度 {feedback.satisfaction} 分，启动第"
                                     f"{feedback.handling_rounds}轮处理",
                          f"客户：{feedback.customer}\n客户意见：{feedback.callback_comment or '（无）'}")
    return {"handling_rounds": feedback.handling_rounds}


@registry.handler("product_improvement.add_to_backlog")
def add_to_backlog(ctx: HandlerContext) -> dict[str, Any]:
    """A suggestion becomes a backlog item of the product manager; the feedback ends there."""
    feedback = feedback_of(ctx)
    suggestion = "\n".join(t for t in (feedback.phenomenon, feedback.scenario, feedback.expected_solution) if t)
    ctx.session.add(BacklogItem(feedback_id=feedback.id, product_model=feedback.product_model, suggestion=suggestion,
                                priority=ctx.data["backlog_priority"], note=ctx.data.get("backlog_note"),
                                added_by=ctx.actor, added_at=ctx.now))
    feedback.closed_at = ctx.now
    return {}


@registry.handler("product_improvement.close_feedback")
def close_feedback(ctx: HandlerContext) -> dict[str, Any]:
    feedback = feedback_of(ctx)
    feedback.closed_at = ctx.now
    return {"closed_at": ctx.now.isoformat()}


# -- the case page ----------------------------------------------------------------------------------------
_CLASS = {"urgent": ("紧急", "Urgent"), "important": ("重要", "Important"), "general": ("一般", "General"),
          "suggestion": ("建议", "Suggestion")}
_IMPLEMENTATION = {"recall": ("召回", "Recall"), "on_site": ("上门更换", "On-site replacement"),
                   "mail_in": ("寄回维修/更换", "Mail-in"), "none": ("无需处理", "None")}
_DECISION = {"approve": ("同意", "Approve"), "reject": ("否决", "Reject")}


@registry.case_records
def feedback_record(session: Session, instance_id: int) -> RecordSection | None:
    """The 《客户反馈记录表》 with its analysis and outcome, as the people working the case read it."""
    return RecordSection.of("客户反馈记录表", "Customer Feedback Record", [
        ("feedback_no", "编号", "Number"), ("channel", "渠道", "Channel"), ("customer", "客户", "Customer"),
        ("company", "公司", "Company"), ("contact", "联系人", "Contact"), ("product_model", "产品型号", "Model"),
        ("batch", "批次", "Batch"), ("phenomenon", "问题现象", "Phenomenon"), ("frequency", "频率", "Frequency"),
        ("scenario", "场景", "Scenario"), ("expected_solution", "期望解决方式", "Expected solution"),
        ("received_at", "接收时间", "Received at"), ("feedback_class", "类别", "Class"),
        ("first_response_at", "首次响应时间", "First response at"), ("feasibility", "可行性判断", "Feasibility"),
        ("root_cause", "根本原因", "Root cause"), ("cause_category", "原因类别", "Cause category"),
        ("problem_key", "问题标识", "Problem key"), ("implementation", "已售产品处理", "Sold products"),
        ("result_sent_at", "结果告知时间", "Result sent at"), ("satisfaction", "满意度", "Satisfaction"),
        ("handling_rounds", "处理轮次", "Handling rounds"), ("recurrence_flagged", "月度评审重复问题", "Recurring"),
        ("closed_at", "结案时间", "Closed at"),
    ], session.query(CustomerFeedback).filter_by(instance_id=instance_id).all(),
        labels={"feedback_class": _CLASS, "implementation": _IMPLEMENTATION})


def _feedback_id(session: Session, instance_id: int) -> int | None:
    return session.scalar(select(CustomerFeedback.id).where(CustomerFeedback.instance_id == instance_id))


@registry.case_records
def plan_review_record(session: Session, instance_id: int) -> RecordSection | None:
    """Every plan version's review by the product director, the R&D head and the quality head."""
    rows = session.execute(select(ImprovementPlan.version, PlanReview).join(
        PlanReview, PlanReview.plan_id == ImprovementPlan.id).where(
        ImprovementPlan.feedback_id == _feedback_id(session, instance_id)).order_by(PlanReview.id)).all()
    return RecordSection.of("改进方案评审", "Improvement plan reviews", [
        ("plan_version", "方案版本", "Plan version"), ("role", "评审人角色", "Role"), ("reviewer", "评审人", "Reviewer"),
        ("decision", "结论", "Decision"), ("comment", "意见", "Comments"), ("reviewed_at", "评审时间", "Reviewed at"),
    ], [_Row(plan_version=version, role=r.role, reviewer=r.reviewer, decision=r.decision, comment=r.comment,
             reviewed_at=r.reviewed_at) for version, r in rows], labels={"decision": _DECISION})


@registry.case_records
def beta_record(session: Session, instance_id: int) -> RecordSection | None:
    return RecordSection.of("Beta测试客户", "Beta customers", [
        ("handling_round", "处理轮次", "Round"), ("customer", "客户", "Customer"), ("result", "结果", "Result"),
    ], session.query(BetaParticipant).filter_by(feedback_id=_feedback_id(session, instance_id))
        .order_by(BetaParticipant.id).all())


@registry.case_records
def backlog_record(session: Session, instance_id: int) -> RecordSection | None:
    return RecordSection.of("产品需求池", "Product backlog", [
        ("suggestion", "建议", "Suggestion"), ("priority", "优先级", "Priority"), ("note", "评估意见", "Assessment"),
        ("added_by", "登记人", "Added by"), ("added_at", "登记时间", "Added at"),
    ], session.query(BacklogItem).filter_by(feedback_id=_feedback_id(session, instance_id)).all())


class _Row:
    """A row of a section built from a join (RecordSection reads attributes)."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)
