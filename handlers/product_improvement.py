"""P6 customer feedback to product improvement: the 《客户反馈记录表》, 《问题分析报告》, improvement plans and the knowledge base."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import UtcDateTime
from engine.handler_api import Base, HandlerRegistry

registry = HandlerRegistry()


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
    complexity: Mapped[str | None] = mapped_column(String(20))
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    feasibility: Mapped[str | None] = mapped_column(String(40))
    root_cause: Mapped[str | None] = mapped_column(Text)
    cause_category: Mapped[str | None] = mapped_column(String(40), index=True)
    problem_key: Mapped[str | None] = mapped_column(String(200), index=True)
    test_cases: Mapped[str | None] = mapped_column(Text)
    implementation: Mapped[str | None] = mapped_column(String(20))
    result_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    handling_rounds: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    recurrence_flagged: Mapped[bool] = mapped_column(Boolean, default=False)


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


class BacklogItem(Base):
    """A customer's suggestion in the product manager's backlog (P6 step 4: suggestion → backlog)."""

    __tablename__ = "product_backlog_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("customer_feedback.id"), index=True)
    product_model: Mapped[str | None] = mapped_column(String(200))
    suggestion: Mapped[str] = mapped_column(Text)
    priority: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(120))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BetaParticipant(Base):
    """A customer in the beta test of an R&D iteration (P6 step 7: 10–20 customers)."""

    __tablename__ = "beta_participants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("customer_feedback.id"), index=True)
    handling_round: Mapped[int] = mapped_column(Integer)
    customer: Mapped[str] = mapped_column(String(200))
    result: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


def recurring_problems(session: Session, start: datetime, end: datetime,
                       threshold: int = 5) -> list[tuple[str, int]]:
    """Problems analysed more than `threshold` times in [start, end) (by received time), most frequent
    first: the frequent problems the monthly cross-department review takes up (P6 step 10)."""
    count = func.count(CustomerFeedback.id)
    rows = session.execute(
        select(CustomerFeedback.problem_key, count)
        .where(CustomerFeedback.problem_key.is_not(None), CustomerFeedback.received_at >= start,
               CustomerFeedback.received_at < end)
        .group_by(CustomerFeedback.problem_key).having(count > threshold)
        .order_by(count.desc(), CustomerFeedback.problem_key)).all()
    return [(key, n) for key, n in rows]
