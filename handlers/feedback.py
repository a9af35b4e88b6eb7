"""P1 Information Feedback Form (《信息反馈处理单》): numbering, category derivation and decision, closing."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import UtcDateTime
from engine.handler_api import Base, BpmnError, HandlerContext, HandlerRegistry, RecordSection
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
    return {"form_no": form_no}


def derive_category(shipped: int, nonconforming: int, recurring: bool, important_share: float) -> tuple[str, str]:
    """Important when the nonconforming share reaches the threshold or the problem recurs (P1 step 2)."""
    share = nonconforming / shipped if shipped else 0.0
    reasons = []
    if share >= important_share:
        reasons.append(f"不合格比例 {share:.1%} ≥ {important_share:.0%}")
    if recurring:
        reasons.append("质量问题重复发生")
    if reasons:
        return IMPORTANT, "；".join(reasons)
    return GENERAL, f"不合格比例 {share:.1%} < {important_share:.0%}，且非重复发生"


@registry.handler("feedback.classify")
def classify(ctx: HandlerContext) -> dict[str, Any]:
    """Suggest the category from the form; the threshold is a property of the diagram's task."""
    threshold = ctx.property("important_share")
    if threshold is None:
        raise ValueError("the classify task needs the property important_share (e.g. 0.2)")
    category, basis = derive_category(int(ctx.data["quantity_shipped"]), int(ctx.data["quantity_nonconforming"]),
                                      bool(ctx.data.get("recurring")), float(threshold))
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
        ("suggested_category", "系统判定类别", "Derived category"), ("category", "信息类别", "Category"),
        ("override_reason", "改判理由", "Override reason"), ("filed_by", "填写人", "Filed by"),
        ("filed_at", "填写时间", "Filed at"),
    ], session.query(FeedbackForm).filter_by(instance_id=instance_id).all())
