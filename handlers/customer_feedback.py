"""P6 business records: the 《客户反馈记录表》 with its 《问题分析报告》 and outcome, improvement plans and their
reviews, beta participants, backlog items and the knowledge base; and the recurrence count the monthly review
reads. Handlers live in `product_improvement` and `knowledge_base`."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base, HandlerContext, UtcDateTime


class CustomerFeedback(Base):
    """One customer feedback from intake to closing: the record form, the class, the analysis and the outcome."""

    __tablename__ = "customer_feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feedback_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    channel: Mapped[str] = mapped_column(String(40))
    customer: Mapped[str] = mapped_column(String(200), index=True)
    company: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(200))
    product_model: Mapped[str | None] = mapped_column(String(200), index=True)
    batch: Mapped[str | None] = mapped_column(String(100))
    phenomenon: Mapped[str | None] = mapped_column(Text)
    frequency: Mapped[str | None] = mapped_column(String(200))
    scenario: Mapped[str | None] = mapped_column(Text)
    expected_solution: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    received_by: Mapped[str | None] = mapped_column(String(120))
    recorded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    feedback_class: Mapped[str | None] = mapped_column(String(20), index=True)
    class_basis: Mapped[str | None] = mapped_column(Text)
    complexity: Mapped[str | None] = mapped_column(String(20))
    first_response_channel: Mapped[str | None] = mapped_column(String(20))
    first_response: Mapped[str | None] = mapped_column(Text)
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    feasibility: Mapped[str | None] = mapped_column(String(40))
    feasibility_note: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(Text)
    cause_category: Mapped[str | None] = mapped_column(String(40), index=True)
    problem_key: Mapped[str | None] = mapped_column(String(200), index=True)
    analysis_report: Mapped[str | None] = mapped_column(Text)
    test_cases: Mapped[str | None] = mapped_column(Text)
    analysed_by: Mapped[str | None] = mapped_column(String(120))
    analysed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    implementation: Mapped[str | None] = mapped_column(String(20))
    implementation_record: Mapped[str | None] = mapped_column(Text)
    verification_result: Mapped[str | None] = mapped_column(String(20))
    customer_verification_report: Mapped[str | None] = mapped_column(Text)
    verified_by: Mapped[str | None] = mapped_column(String(120))
    result_summary: Mapped[str | None] = mapped_column(Text)
    result_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    callback_comment: Mapped[str | None] = mapped_column(Text)
    handling_rounds: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    recurrence_flagged: Mapped[bool] = mapped_column(Boolean, default=False)


class ImprovementPlan(Base):
    """One version of the improvement plan (P6 step 6); a rejected or ineffective plan is followed by the next."""

    __tablename__ = "improvement_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("customer_feedback.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    short_term_fix: Mapped[str] = mapped_column(Text)
    long_term_change: Mapped[str] = mapped_column(Text)
    schedule: Mapped[str] = mapped_column(String(200))
    owners: Mapped[str] = mapped_column(String(200))
    resources: Mapped[str | None] = mapped_column(Text)
    implementation: Mapped[str] = mapped_column(String(20))
    rd_iteration: Mapped[bool] = mapped_column(Boolean, default=False)
    drafted_by: Mapped[str] = mapped_column(String(120))
    drafted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20), default="in_review")  # in_review, approved, rejected


class PlanReview(Base):
    """One head's opinion of a plan version: product director, R&D head or quality head."""

    __tablename__ = "improvement_plan_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("improvement_plans.id"), index=True)
    department: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(120))
    reviewed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BetaParticipant(Base):
    """A customer in the beta test of an R&D iteration (P6 step 7: 10–20 customers)."""

    __tablename__ = "beta_participants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("customer_feedback.id"), index=True)
    handling_round: Mapped[int] = mapped_column(Integer)
    customer: Mapped[str] = mapped_column(String(200))
    result: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BacklogItem(Base):
    """A customer's suggestion in the product manager's backlog (P6 step 4: suggestion → backlog)."""

    __tablename__ = "product_backlog_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("customer_feedback.id"), index=True)
    product_model: Mapped[str | None] = mapped_column(String(200))
    suggestion: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(120))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)


class KnowledgeEntry(Base):
    """Problem–cause–solution archived for reuse (P6 step 10); `occurrences` counts the feedbacks it answered."""

    __tablename__ = "knowledge_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    product_model: Mapped[str | None] = mapped_column(String(200), index=True)
    problem: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text)
    solution: Mapped[str] = mapped_column(Text)
    source_feedback_no: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)


def feedback_of(ctx: HandlerContext) -> CustomerFeedback:
    """The case's feedback record; a case without one is a broken diagram (the register step comes first)."""
    feedback = ctx.session.query(CustomerFeedback).filter_by(instance_id=ctx.instance_id).one_or_none()
    if feedback is None:
        raise LookupError(f"instance {ctx.instance_id} has no registered customer feedback")
    return feedback


def problem_key(product_model: str | None, problem_code: str) -> str:
    """The label recurrences are counted by: product model and problem code, case and spacing ignored."""
    def normal(text: str | None) -> str:
        return " ".join((text or "").split()).lower()
    return f"{normal(product_model)}/{normal(problem_code)}"


def count_in_period(session: Session, key: str, start: datetime, end: datetime) -> int:
    """Feedbacks on one problem received in [start, end)."""
    return session.scalar(select(func.count(CustomerFeedback.id)).where(
        CustomerFeedback.problem_key == key, CustomerFeedback.received_at >= start,
        CustomerFeedback.received_at < end)) or 0


def recurring_problems(session: Session, start: datetime, end: datetime,
                       threshold: int = 5) -> list[tuple[str, int]]:
    """Problems received more than `threshold` times in [start, end), most frequent first: the frequent
    problems the monthly cross-department review takes up (P6 step 10)."""
    count = func.count(CustomerFeedback.id)
    rows = session.execute(
        select(CustomerFeedback.problem_key, count)
        .where(CustomerFeedback.problem_key.is_not(None), CustomerFeedback.received_at >= start,
               CustomerFeedback.received_at < end)
        .group_by(CustomerFeedback.problem_key).having(count > threshold)
        .order_by(count.desc(), CustomerFeedback.problem_key)).all()
    return [(key, n) for key, n in rows]
