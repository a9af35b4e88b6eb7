"""How the limits were kept: limits and duties met and missed in a period, by department or person, and
by who set the limit (the procedure or a company rule). Read by reports, monthly reviews and the CLI."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, null, select
from sqlalchemy.orm import Session

from engine.storage.database import Database
from engine.storage.models import SlaRecord


@dataclass(frozen=True)
class Attainment:
    """Limits met and missed by one department or person in a period (the warning → deduction rule
    of P4 step 8 reads `breached`)."""

    who: str
    met: int
    breached: int
    source: str | None = None  # set when the figures are split by who sets the limit

    @property
    def total(self) -> int:
        return self.met + self.breached

    @property
    def rate(self) -> float | None:
        return self.met / self.total if self.total else None


def sla_attainment(db: Database, start: datetime, end: datetime, by: str = "department",
                   process_key: str | None = None, kind: str | None = None,
                   by_source: bool = False) -> list[Attainment]:
    """Attainment of the limits and duties that fell due in [start, end), by department or person (and
    source, procedure / company); a breach without a named person counts for the department only."""
    with db.sessions() as session:
        return attainment_in(session, start, end, by, process_key, kind, by_source)


def attainment_in(session: Session, start: datetime, end: datetime, by: str = "department",
                  process_key: str | None = None, kind: str | None = None,
                  by_source: bool = False) -> list[Attainment]:
    """`sla_attainment` read in a given session (a handler's unit of work); `by_source` gives one row per
    department/person and source, so limits the procedures state are never mixed with company rules."""
    if by not in ("department", "person"):
        raise ValueError("attainment is by 'department' or 'person'")
    column = SlaRecord.department if by == "department" else SlaRecord.person
    source = SlaRecord.source if by_source else null()
    query = (select(column, source, SlaRecord.status, func.count())
             .where(SlaRecord.due_at >= start, SlaRecord.due_at < end, SlaRecord.status.in_(("met", "breached")),
                    column.is_not(None), column != "")
             .group_by(column, SlaRecord.status, *([SlaRecord.source] if by_source else [])))
    if process_key:
        query = query.where(SlaRecord.process_key == process_key)
    if kind:
        query = query.where(SlaRecord.kind == kind)
    counts: dict[tuple[str, str | None], dict[str, int]] = {}
    for who, from_source, status, count in session.execute(query):
        counts.setdefault((who, from_source), {"met": 0, "breached": 0})[status] = count
    order = {"procedure": 0, "company": 1, None: 2}
    return [Attainment(who, c["met"], c["breached"], from_source)
            for (who, from_source), c in sorted(counts.items(), key=lambda item: (item[0][0], order.get(item[0][1], 3)))]
