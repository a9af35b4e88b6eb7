"""P1 Information Feedback Form (《信息反馈处理单》): numbering, category derivation and decision, closing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base, BpmnError, HandlerContext, HandlerRegistry, RecordSection, UtcDateTime
from handlers.numbering import next_number

registry = HandlerRegistry()

IMPORTANT, GENERAL = "important", "general"


class FeedbackForm(Base):
    """The feedback form as filed by Sales, with the category decision and its outcome."""

    __tablename__ = "feedback_forms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    customer: Mapped[str] = mapped_column(String(200), index=True)
    product_name: Mapped[str] = mapped_column(String(200))
    spec_model: Mapped[str] = mapped_column(String(200))
    batch_no: Mapped[str] = mapped_column(String(100))
    quantity_shipped: Mapped[int] = mapped_column(Integer)
    quantity_nonconforming: Mapped[int] = mapped_column(Integer)
    recurring: Mapped[bool] = mapped_column(Boolean)
    # Kept for the monthly summary (P1 step 11): which characteristic failed, and complaint/return/claim.
    characteristic: Mapped[str | None] = mapped_column(String(20))
    consequence: Mapped[str | None] = mapped_column(String(30))
    problem_description: Mapped[str] = mapped_column(Text)
    suggested_category: Mapped[str | None] = mapped_column(String(20))
    category_basis: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(20))
    override_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    filed_by: Mapped[str] = mapped_column(String(120))
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


def _form(ctx: HandlerContext) -> FeedbackForm:
    form = ctx.session.query(FeedbackForm).filter_by(instance_id=ctx.instance_id).one_or_none()
    if form is None:
        raise LookupError(f"instance {ctx.instance_id} has no registered feedback form")
    return form


@registry.handler("feedback.register_form")
def register_form(ctx: HandlerContext) -> dict[str, Any]:
    """Number the form and keep it as a record; the number becomes the case's business key."""
    data = ctx.data
    form_no = next_number(ctx.session, FeedbackForm.form_no, "QF", ctx.now)
    ctx.session.add(FeedbackForm(
        form_no=form_no, instance_id=ctx.instance_id, customer=data["customer"],
        product_name=data["product_name"], spec_model=data["spec_model"], batch_no=data["batch_no"],
        quantity_shipped=int(data["quantity_shipped"]), quantity_nonconforming=int(data["quantity_nonconforming"]),
        recurring=bool(data.get("recurring")), characteristic=data.get("characteristic"),
        consequence=data.get("consequence"), problem_description=data["problem_description"],
        filed_by=ctx.actor, filed_at=ctx.now))
    ctx.assign_business_key(form_no)
    # The procedure's limits (000 5.1.2.2) run from the filing of the form: the diagram's timers read filed_at.
    return {"form_no": form_no, "filed_at": ctx.now.isoformat()}


def derive_category(shipped: int, nonconforming: int, recurring: bool, characteristic: str | None,
                    consequence: str | None, rule: CategoryRule) -> tuple[str, str]:
    """000 5.1.1.1: important when a key or important characteristic fails in a batch (share at or above the
    threshold) or the problem recurs, and it led to a complaint, a batch return or a claim; everything else
    is general information (5.1.1.2: minor characteristics, a small share, requirement differences, leading
    to dissatisfaction, a rectification reply or corrective action)."""
    share = nonconforming / shipped if shipped else 0.0
    batch = characteristic in rule.characteristics and share >= rule.share
    serious = consequence in rule.consequences
    facts = [f"不合格比例 {share:.1%} {'≥' if share >= rule.share else '<'} {rule.share:.0%}",
             f"特性：{characteristic or '未填'}（{'关键/重要特性' if characteristic in rule.characteristics else '一般特性等'}）",
             f"后果：{consequence or '未填'}（{'投诉/批量退货/索赔' if serious else '抱怨/整改答复/纠正措施等'}）"]
    if recurring:
        facts.append("质量问题重复出现")
    if (batch or recurring) and serious:
        return IMPORTANT, "重要信息（5.1.1.1）：" + "；".join(facts)
    return GENERAL, "一般信息（5.1.1.2）：" + "；".join(facts)


@dataclass(frozen=True)
class CategoryRule:
    """The thresholds and values of 5.1.1.1, as the diagram's classify task states them."""

    share: float
    characteristics: frozenset[str]
    consequences: frozenset[str]

    @classmethod
    def of(cls, ctx: HandlerContext) -> CategoryRule:
        share = ctx.property("important_share")
        characteristics = ctx.property_list("important_characteristics")
        consequences = ctx.property_list("important_consequences")
        if share is None or not characteristics or not consequences:
            raise ValueError("the classify task needs the properties important_share (e.g. 0.2), "
                             "important_characteristics (e.g. key,important) and important_consequences "
                             "(e.g. complaint,batch_return,claim)")
        return cls(float(share), frozenset(characteristics), frozenset(consequences))


@registry.handler("feedback.classify")
def classify(ctx: HandlerContext) -> dict[str, Any]:
    """Suggest the category from the form; the rule's thresholds and values are properties of the diagram's task."""
    data = ctx.data
    category, basis = derive_category(int(data["quantity_shipped"]), int(data["quantity_nonconforming"]),
                                      bool(data.get("recurring")), data.get("characteristic"),
                                      data.get("consequence"), CategoryRule.of(ctx))
    form = _form(ctx)
    form.suggested_category, form.category_basis = category, basis
    return {"suggested_category": category, "category": category, "category_basis": basis}


@registry.handler("feedback.record_category")
def record_category(ctx: HandlerContext) -> dict[str, Any]:
    """Record the confirmed category; overriding the derived one needs a reason, kept in the audit trail."""
    category, suggested = ctx.data["category"], ctx.data.get("suggested_category")
    reason = (ctx.data.get("override_reason") or "").strip()
    overridden = category != suggested
    if overridden and not reason:
        raise BpmnError("OVERRIDE_REASON_REQUIRED", "changing the derived category needs a reason")
    form = _form(ctx)
    form.category, form.decided_by = category, ctx.actor
    form.override_reason = reason if overridden else None
    if overridden:
        ctx.audit("category_overridden", {"from": suggested, "to": category, "reason": reason,
                                          "form_no": form.form_no})
    return {"category_overridden": overridden}


@registry.handler("feedback.convene_review")
def convene_review(ctx: HandlerContext) -> dict[str, Any]:
    """000 5.1.2.5: tell the heads of the departments the task's `review_departments` property names (development,
    production, sales) to review the test and analysis; each gets one review task of their own."""
    departments = list(dict.fromkeys(ctx.property_list("review_departments")))
    if not departments:
        raise ValueError("the task needs the property review_departments (department codes, comma separated)")
    for department in departments:
        ctx.outbox.notify(f"head:{department}", f"请评审确定改进措施：{ctx.business_key}",
                          f"客户 {ctx.data.get('customer', '')}：{ctx.data.get('test_result', '')}\n"
                          f"{ctx.data.get('cause_analysis', '')}")
    ctx.audit("review_convened", {"departments": departments})
    return {"review_departments": departments}


@registry.handler("feedback.record_review")
def record_review(ctx: HandlerContext) -> dict[str, Any]:
    """Keep each head's opinion in the audit trail and give Quality one summary to write the report from."""
    opinions = list(ctx.data.get("review_opinions") or [])
    given = {o.get("review_department") for o in opinions}
    missing = [d for d in ctx.data.get("review_departments") or [] if d not in given]
    ctx.audit("review_recorded", {"opinions": [
        {k: o.get(k) for k in ("review_department", "review_opinion", "proposed_measures", "completed_by")}
        for o in opinions], "missing": missing})
    lines = [f"{o.get('review_department')}（{o.get('completed_by')}）：{o.get('review_opinion')}；"
             f"{o.get('proposed_measures', '')}" for o in opinions]
    lines += [f"{d}：未提交" for d in missing]
    return {"review_summary": "\n".join(lines)}


@registry.handler("feedback.close")
def close_form(ctx: HandlerContext) -> dict[str, Any]:
    form = _form(ctx)
    form.closed_at = ctx.now
    ctx.outbox.notify("department:sales", f"信息反馈处理单 {form.form_no} 已关闭",
                      f"客户 {form.customer} 的质量问题整改已验证有效，处理单关闭。")
    return {"closed_at": ctx.now.isoformat()}


@registry.case_records
def feedback_form_record(session: Session, instance_id: int) -> RecordSection | None:
    """The filed form and its category decision, for everyone who works the case."""
    return RecordSection.of("信息反馈处理单", "Information Feedback Form", [
        ("form_no", "编号", "Number"), ("customer", "客户", "Customer"), ("product_name", "产品名称", "Product"),
        ("spec_model", "规格型号", "Spec/model"), ("batch_no", "批次", "Batch"),
        ("quantity_shipped", "发货数量", "Shipped"), ("quantity_nonconforming", "不合格数量", "Nonconforming"),
        ("recurring", "重复发生", "Recurs"), ("problem_description", "问题描述", "Problem"),
        ("suggested_category", "系统判定类别", "Derived category"),
        ("category_basis", "判定依据（5.1.1.1/5.1.1.2）", "Basis (5.1.1.1/5.1.1.2)"), ("category", "信息类别", "Category"),
        ("override_reason", "改判理由", "Override reason"), ("filed_by", "填写人", "Filed by"),
        ("filed_at", "填写时间", "Filed at"),
    ], session.query(FeedbackForm).filter_by(instance_id=instance_id).all())
