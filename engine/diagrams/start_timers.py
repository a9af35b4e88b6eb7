"""When a process with a timer start event starts: the occurrences of its `timeCycle` (an ISO 8601
repeating interval with an explicit start, `R/2026-12-01T09:00:00+08:00/P1M`, or bounded `R12/…`) or
its `timeDate` (one occurrence).

Occurrence k is the start plus k periods counted from the start in calendar terms (P1M from 31 January
is 28 February, then 31 March), in the start's own UTC offset, so "the 1st of each month at 09:00
Beijing time" stays exactly that."""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engine.working_time.calendar import BUSINESS_TZ

_DURATION = re.compile(r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                       r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_CYCLE = re.compile(r"^R(\d*)/([^/]+)/([^/]+)$")
EXAMPLE = "R/2026-12-01T09:00:00+08:00/P1M"


class StartTimerError(ValueError):
    """A timer start event's value the engine cannot schedule."""


@dataclass(frozen=True)
class StartTimer:
    """The occurrences of one timer start event."""

    first: datetime  # aware, in the offset it was written with
    months: int = 0
    step: timedelta = timedelta(0)
    count: int | None = 1  # None: unbounded

    @classmethod
    def parse(cls, kind: str, value: str) -> StartTimer:
        """`kind` is cycle or date (timeCycle / timeDate in the diagram)."""
        text = (value or "").strip()
        if kind == "date":
            return cls(first=_moment(text))
        if kind != "cycle":
            raise StartTimerError("a timer start event uses timeCycle (e.g. "
                                  f"{EXAMPLE}) or timeDate, not a duration")
        match = _CYCLE.match(text)
        if not match:
            raise StartTimerError(f"'{text}' is not a repeating interval with a start date such as {EXAMPLE}")
        repeats, start, period = match.groups()
        count = int(repeats) if repeats else None
        if count == 0:
            raise StartTimerError(f"'{text}' repeats zero times")
        months, step = _period(period)
        return cls(first=_moment(start), months=months, step=step, count=count)

    def occurrence(self, index: int) -> datetime | None:
        """The `index`-th occurrence (0 is the first), in UTC; None past the last one."""
        if index < 0 or (self.count is not None and index >= self.count):
            return None
        moment = _add_months(self.first, self.months * index) + self.step * index
        return moment.astimezone(UTC)

    def first_index_from(self, moment: datetime, strictly_after: bool = False) -> int | None:
        """Index of the first occurrence at (or strictly after) `moment`; None when there is none."""
        index = 0
        if self.months == 0 and self.step:
            # Fixed-length periods: jump straight there instead of counting every period since the start.
            index = max(int((moment - self.first) / self.step) - 1, 0)
        while True:
            at = self.occurrence(index)
            if at is None:
                return None
            if at > moment or (at == moment and not strictly_after):
                return index
            index += 1


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise StartTimerError(f"'{text}' is not an ISO 8601 date-time such as 2026-12-01T09:00:00+08:00") from None
    # Without an offset a time is Beijing time, as the procedures mean it.
    return moment.replace(tzinfo=BUSINESS_TZ) if moment.tzinfo is None else moment


def _period(text: str) -> tuple[int, timedelta]:
    match = _DURATION.match(text)
    if not match:
        raise StartTimerError(f"'{text}' is not an ISO 8601 period such as P1M, P7D, P1W or PT12H")
    years, months, weeks, days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    step = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if years * 12 + months == 0 and not step:
        raise StartTimerError(f"'{text}' is an empty period")
    return years * 12 + months, step


def _add_months(moment: datetime, months: int) -> datetime:
    if not months:
        return moment
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
