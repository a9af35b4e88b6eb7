"""Warranty periods of the electronic products by model (P7 step 1's warranty check): the rules as data an
administrator edits (`aftersales warranties`), and the check from the serial number and purchase date."""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base

# Serial numbers carry the model and the production month: <model code>-<YYMM>-<sequence>, e.g. EM200-2503-00123.
SERIAL = re.compile(r"^(?P<model>[A-Z0-9]+)-(?P<yy>\d{2})(?P<mm>\d{2})-(?P<sequence>\d{4,})$")


class ProductWarranty(Base):
    """Warranty period by model: the longest matching model prefix wins (EM-9 before EM)."""

    __tablename__ = "product_warranties"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_prefix: Mapped[str] = mapped_column(String(40), unique=True)
    product_name: Mapped[str] = mapped_column(String(120))
    warranty_months: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class DefaultWarranty:
    model_prefix: str
    product_name: str
    warranty_months: int


DEFAULT_WARRANTIES = (
    DefaultWarranty("EC", "工业控制器", 24),
    DefaultWarranty("EM", "电子测量仪表", 12),
    DefaultWarranty("EM-9", "高精度测量仪表", 36),
    DefaultWarranty("EP", "电源模块", 18),
    DefaultWarranty("ES", "智能传感器", 12),
)


def seed_product_warranties(session: Session) -> int:
    """Enter the default warranty periods (an existing prefix keeps what an administrator set)."""
    known = set(session.scalars(select(ProductWarranty.model_prefix)))
    added = [ProductWarranty(model_prefix=w.model_prefix, product_name=w.product_name,
                             warranty_months=w.warranty_months) for w in DEFAULT_WARRANTIES
             if w.model_prefix not in known]
    session.add_all(added)
    return len(added)


def _compact(model: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", model.upper())


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class WarrantyStatus:
    product_name: str
    warranty_months: int
    warranty_until: date
    in_warranty: bool


def check_warranty(session: Session, model: str, serial_no: str, purchase_date: date, today: date) -> WarrantyStatus:
    """Warranty from the serial number and purchase date; a serial that does not belong to the model, an
    unknown model or an impossible purchase date raise ValueError with the reason."""
    found = SERIAL.match(serial_no.strip().upper())
    if not found:
        raise ValueError(f"serial number '{serial_no}' is not <model code>-<YYMM>-<sequence> (e.g. EM200-2503-00123)")
    if found["model"] != _compact(model):
        raise ValueError(f"serial number '{serial_no}' belongs to model code {found['model']}, not to '{model}'")
    if not 1 <= int(found["mm"]) <= 12:
        raise ValueError(f"serial number '{serial_no}' has no valid production month")
    produced = date(2000 + int(found["yy"]), int(found["mm"]), 1)
    if purchase_date > today or purchase_date < produced:
        raise ValueError(f"purchase date {purchase_date} is not between production ({produced:%Y-%m}) and today")
    matches = [w for w in session.scalars(select(ProductWarranty)) if _compact(model).startswith(_compact(w.model_prefix))]
    if not matches:
        raise ValueError(f"model '{model}' is in no warranty rule (product_warranties); add its prefix first")
    rule = max(matches, key=lambda w: len(_compact(w.model_prefix)))
    until = _add_months(purchase_date, rule.warranty_months) - timedelta(days=1)
    return WarrantyStatus(rule.product_name, rule.warranty_months, until, today <= until)
