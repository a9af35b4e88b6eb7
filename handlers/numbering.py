"""Document numbers as the forms carry them (QF-2026-0001): per prefix and year, in Beijing time."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

BEIJING = ZoneInfo("Asia/Shanghai")


def next_number(session: Session, column, prefix: str, now: datetime) -> str:
    """The next free number; a concurrent duplicate fails the unique constraint and the step is retried."""
    stem = f"{prefix}-{now.astimezone(BEIJING).year}-"
    current = session.scalar(select(func.max(column)).where(column.like(f"{stem}%")))
    sequence = int(current.rsplit("-", 1)[1]) + 1 if current else 1
    return f"{stem}{sequence:04d}"
