"""What the monthly reviews count: the previous month's market quality information (P1 step 11) and
customer feedback (P6 step 10), as the plain JSON content of a monthly review report."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.handler_api import department_names
from handlers.feedback import FeedbackForm
from handlers.numbering import BEIJING
from handlers.product_improvement import CustomerFeedback, KnowledgeEntry, recurring_problems
from handlers.rectification import RectificationReport

VITAL_FEW_SHARE = 0.8  # the Pareto rule: the few causes that make up 80 % of the cases
BATCH_CONSEQUENCES = ("batch_return", "claim")
COMPLAINT_CONSEQUENCES = ("complaint", "claim")
SERIOUS_FEEDBACK_CLASSES = ("urgent", "important")


def previous_month(scheduled_for: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month before the occurrence, midnight to midnight Beijing time."""
    if scheduled_for.tzinfo is None:
        raise ValueError("scheduled_for needs a time zone (an ISO datetime such as 2026-12-01T09:00:00+08:00)")
    end = scheduled_for.astimezone(BEIJING).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = (end - timedelta(days=1)).replace(day=1)
    return start, end


def period_of(start: datetime, end: datetime) -> dict[str, str]:
    last_day = (end.astimezone(BEIJING) - timedelta(days=1)).date()
    first_day = start.astimezone(BEIJING).date()
    return {"start": start.isoformat(), "end": end.isoformat(), "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(), "label": f"{first_day:%Y-%m}"}


def pareto(counts: Mapping[str, int], vital_share: float = VITAL_FEW_SHARE) -> list[dict[str, Any]]:
    """Causes most frequent first with share and cumulative share; `vital` marks the few causes that
    together reach `vital_share` (a cause is vital while the causes before it stay below it)."""
    total = sum(counts.values())
    items, cumulative = [], 0
    for cause, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if count <= 0:
            continue
        vital = cumulative / total < vital_share
        cumulative += count
        items.append({"cause": cause, "count": count, "share": round(count / total, 4),
                      "cumulative_share": round(cumulative / total, 4), "vital": vital})
    return items


def attainment_by_department(session: Session, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """ctx.sla_attainment's rows ({who, met, breached, …}) with the departments' names, as the report keeps them."""
    names = department_names(session)
    result = []
    for row in rows:
        total = row["met"] + row["breached"]
        zh, en = names.get(row["who"], (row["who"], row["who"]))
        result.append({"department": row["who"], "name_zh": zh, "name_en": en, "met": row["met"],
                       "breached": row["breached"], "total": total,
                       "rate": round(row["met"] / total, 4) if total else None,
                       "source": row.get("source")})
    return result


def _in_period(column, start: datetime, end: datetime):
    return (column >= start) & (column < end)


def _improvement_status(form: FeedbackForm, reported: set[str]) -> str:
    if form.closed_at is not None:
        return "closed"
    return "report_issued" if form.form_no in reported else "open"


def market_quality_content(session: Session, start: datetime, end: datetime, important_share: float,
                           attainment: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """P1 step 11: all feedback forms filed in the period by category, consequence and nonconforming
    characteristic; batch, serious, complaint and claim cases with their improvement status."""
    forms = session.scalars(select(FeedbackForm).where(_in_period(FeedbackForm.filed_at, start, end))
                            .order_by(FeedbackForm.filed_at, FeedbackForm.id)).all()
    keys = [f.form_no for f in forms]
    reported = set(session.scalars(select(RectificationReport.business_key)
                                   .where(RectificationReport.business_key.in_(keys)))) if keys else set()

    def case(form: FeedbackForm, **extra: Any) -> dict[str, Any]:
        return {"form_no": form.form_no, "customer": form.customer, "product_name": form.product_name,
                "spec_model": form.spec_model, "batch_no": form.batch_no,
                "category": form.category or form.suggested_category, "consequence": form.consequence,
                "improvement_status": _improvement_status(form, reported), **extra}

    batch_problems = []
    for form in forms:
        share = form.quantity_nonconforming / form.quantity_shipped if form.quantity_shipped else 0.0
        reasons = (["nonconforming_share"] if share >= important_share else []) + \
                  ([form.consequence] if form.consequence in BATCH_CONSEQUENCES else [])
        if reasons:
            batch_problems.append(case(form, quantity_shipped=form.quantity_shipped,
                                       quantity_nonconforming=form.quantity_nonconforming,
                                       nonconforming_share=round(share, 4), reasons=reasons))
    return {
        "total": len(forms),
        "important_share": important_share,
        "by_category": dict(Counter(f.category or f.suggested_category or "undecided" for f in forms)),
        "by_consequence": dict(Counter(f.consequence or "unknown" for f in forms)),
        "pareto": pareto(Counter(f.characteristic or "unknown" for f in forms)),
        "batch_problems": batch_problems,
        "serious_problems": [case(f) for f in forms if (f.category or f.suggested_category) == "important"],
        "complaints_and_claims": [case(f) for f in forms if f.consequence in COMPLAINT_CONSEQUENCES],
        "sla_attainment": attainment_by_department(session, attainment),
    }


def feedback_analysis_content(session: Session, start: datetime, end: datetime, frequent_threshold: int,
                              attainment: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """P6 step 10: feedback received in the period by class, the Pareto of cause categories, the
    problems that came more than `frequent_threshold` times, satisfaction and second handlings."""
    feedback = session.scalars(select(CustomerFeedback)
                               .where(_in_period(CustomerFeedback.received_at, start, end))
                               .order_by(CustomerFeedback.received_at, CustomerFeedback.id)).all()
    frequent = recurring_problems(session, start, end, threshold=frequent_threshold)
    knowledge = {k.key: k for k in session.scalars(
        select(KnowledgeEntry).where(KnowledgeEntry.key.in_([key for key, _ in frequent])))} if frequent else {}
    scores = [f.satisfaction for f in feedback if f.satisfaction is not None]
    return {
        "total": len(feedback),
        "frequent_threshold": frequent_threshold,
        "by_class": dict(Counter(f.feedback_class or "unclassified" for f in feedback)),
        "pareto": pareto(Counter(f.cause_category for f in feedback if f.cause_category)),
        "without_cause": sum(1 for f in feedback if not f.cause_category),
        "frequent_problems": [{"problem_key": key, "count": count,
                               "solution": knowledge[key].solution if key in knowledge else None}
                              for key, count in frequent],
        "serious_problems": [{"feedback_no": f.feedback_no, "customer": f.customer,
                              "product_model": f.product_model, "batch": f.batch,
                              "feedback_class": f.feedback_class, "problem_key": f.problem_key,
                              "improvement_status": "closed" if f.closed_at else "open"}
                             for f in feedback if f.feedback_class in SERIOUS_FEEDBACK_CLASSES],
        "satisfaction": {"rated": len(scores), "average": round(sum(scores) / len(scores), 2) if scores else None,
                         "below_4": sum(1 for s in scores if s < 4)},
        "second_handling": sum(1 for f in feedback if (f.handling_rounds or 0) > 1),
        "closed": sum(1 for f in feedback if f.closed_at is not None),
        "sla_attainment": attainment_by_department(session, attainment),
    }
