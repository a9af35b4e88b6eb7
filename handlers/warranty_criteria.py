"""The company's warranty criteria table (保修标准表) that the first judgment of P2 is proposed from:
rows per model prefix and product category, edited as data, never as code."""
from __future__ import annotations

import calendar
from datetime import date

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base

IN_WARRANTY, OUT_OF_WARRANTY, UNDETERMINED = "in_warranty", "out_of_warranty", "undetermined"

# The company's warranty criteria as first installed; the table is the source, edited by the quality
# department (rows, not code). Counted from the ship date, or the purchase date where the row says so.
DEFAULT_CRITERIA = [
    ("", "通用产品（无专门标准时）", 12, "ship_date"),
    ("JZ-", "减速电机", 18, "ship_date"),
    ("BP-", "变频器", 24, "purchase_date"),
    ("KZ-", "控制柜", 12, "ship_date"),
    ("PJ-", "配件及易损件", 6, "ship_date"),
]


class WarrantyCriterion(Base):
    """One row of the company's warranty criteria table (保修标准表): the longest matching model prefix wins."""

    __tablename__ = "warranty_criteria"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_prefix: Mapped[str] = mapped_column(String(60), unique=True)
    product_category: Mapped[str] = mapped_column(String(120))
    warranty_months: Mapped[int] = mapped_column(Integer)
    counted_from: Mapped[str] = mapped_column(String(20), default="ship_date")  # ship_date | purchase_date


def ensure_warranty_criteria(session: Session) -> None:
    """Install the default criteria table the first time it is needed (an empty table has no rule at all)."""
    if session.scalar(select(WarrantyCriterion.id).limit(1)) is None:
        session.add_all(WarrantyCriterion(model_prefix=prefix, product_category=category, warranty_months=months,
                                          counted_from=counted_from)
                        for prefix, category, months, counted_from in DEFAULT_CRITERIA)
        session.flush()


def add_months(start: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has fewer days)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def matching_criterion(session: Session, model: str) -> WarrantyCriterion | None:
    """The criteria row for a model: the longest model prefix it starts with (case-insensitive)."""
    ensure_warranty_criteria(session)
    rows = [r for r in session.scalars(select(WarrantyCriterion)) if model.upper().startswith(r.model_prefix.upper())]
    return max(rows, key=lambda r: len(r.model_prefix), default=None)


def judge_warranty(criterion: WarrantyCriterion | None, ship_date: date, purchase_date: date | None,
                   reported_on: date) -> tuple[str, str, date | None]:
    """Within warranty when the problem is reported on or before the end of the criterion's period."""
    if criterion is None:
        return UNDETERMINED, "保修标准表中无适用于该型号的标准，请人工判定", None
    use_purchase = criterion.counted_from == "purchase_date" and purchase_date is not None
    start, start_name = (purchase_date, "购买日期") if use_purchase else (ship_date, "发货日期")
    until = add_months(start, criterion.warranty_months)
    verdict = IN_WARRANTY if reported_on <= until else OUT_OF_WARRANTY
    prefix = f"型号前缀“{criterion.model_prefix}”" if criterion.model_prefix else "通用标准"
    basis = (f"{prefix}（{criterion.product_category}）保修{criterion.warranty_months}个月，自{start_name}"
             f"{start.isoformat()}起至{until.isoformat()}；受理日期{reported_on.isoformat()}")
    return verdict, basis, until
