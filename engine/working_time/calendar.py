"""Chinese business calendar: working-day limits skip weekends and public holidays, and count the
officially adjusted working weekends (调休上班); working-hour limits count only the company's working
hours (08:30-17:30 Beijing time unless the company says otherwise) on working days.

The public holidays are those of one region of the `holidays` package (AFTERSALES_CALENDAR_REGION,
China by default), so a subsidiary abroad runs the same diagrams on its own country's calendar."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


def beijing_day_start(day: date) -> datetime:
    """The moment a Beijing calendar day begins (periods given as days are Beijing days)."""
    return datetime.combine(day, time(0), tzinfo=BUSINESS_TZ)
_SEARCH_DAYS = 3700  # no company is closed for ten years: beyond this a calendar is broken
DEFAULT_REGION = "CN"


class UnknownRegion(ValueError):
    """The `holidays` package has no calendar for this region code."""


def public_holidays(region: str = DEFAULT_REGION) -> holidays.HolidayBase:
    """The public holidays (and official working weekends) of `region`, an ISO country code such as CN."""
    code = region.strip().upper()
    try:
        return holidays.country_holidays(code)
    except NotImplementedError:
        raise UnknownRegion(f"the holidays package has no calendar for region '{region}' "
                            f"(use an ISO country code such as CN, HK, DE)") from None


def parse_clock_time(value: time | str, what: str = "a time") -> time:
    """A wall-clock time written HH:MM (as the CLI and forms write it); ValueError names the bad text."""
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    text = str(value).strip()
    try:
        parsed = time.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or len(text) != 5 or text[2] != ":":
        raise ValueError(f"{what} must be written HH:MM, e.g. 08:30; got '{value}'")
    return parsed


@dataclass(frozen=True)
class WorkingHours:
    """The company's working hours of a working day, with an optional lunch break that does not count."""

    start: time = time(8, 30)
    end: time = time(17, 30)
    lunch_start: time | None = None
    lunch_end: time | None = None

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError(f"work must start before it ends: {self.start:%H:%M} is not before {self.end:%H:%M}")
        if (self.lunch_start is None) != (self.lunch_end is None):
            raise ValueError("a lunch break needs both its start and its end")
        if self.lunch_start is not None and self.lunch_end is not None:
            if not self.start < self.lunch_start < self.lunch_end < self.end:
                raise ValueError(f"the lunch break {self.lunch_start:%H:%M}-{self.lunch_end:%H:%M} must lie "
                                 f"inside the working hours {self.start:%H:%M}-{self.end:%H:%M}")

    @classmethod
    def parse(cls, start: time | str, end: time | str, lunch_start: time | str | None = None,
              lunch_end: time | str | None = None) -> WorkingHours:
        """Working hours from HH:MM texts; ValueError with a plain message when they make no sense."""
        return cls(parse_clock_time(start, "the start of work"), parse_clock_time(end, "the end of work"),
                   None if lunch_start in (None, "") else parse_clock_time(lunch_start, "the start of lunch"),
                   None if lunch_end in (None, "") else parse_clock_time(lunch_end, "the end of lunch"))

    def periods(self) -> list[tuple[time, time]]:
        """The stretches of a working day that count, in order."""
        if self.lunch_start is None or self.lunch_end is None:
            return [(self.start, self.end)]
        return [(self.start, self.lunch_start), (self.lunch_end, self.end)]

    def describe(self) -> str:
        text = f"{self.start:%H:%M}-{self.end:%H:%M}"
        if self.lunch_start is not None and self.lunch_end is not None:
            text += f" (lunch {self.lunch_start:%H:%M}-{self.lunch_end:%H:%M})"
        return text


class BusinessCalendar:
    """Working days and hours of one company: the `holidays` calendar of its region (China unless
    configured otherwise) plus company overrides."""

    def __init__(self, extra_days_off: set[date] | None = None, extra_working_days: set[date] | None = None,
                 tz: ZoneInfo = BUSINESS_TZ, hours: WorkingHours | None = None,
                 region: str = DEFAULT_REGION) -> None:
        self._public = public_holidays(region)
        self.region = region.strip().upper()
        self.extra_days_off = set(extra_days_off or ())
        self.extra_working_days = set(extra_working_days or ())
        self.tz = tz
        self.hours = hours or WorkingHours()

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off:
            return False
        return self._public.is_working_day(day)

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """The moment `days` working days after `start`, at the same local time of day.

        A limit that starts on a day off starts counting from the next working day's beginning.
        A fraction of a day is that share of 24 hours, landing on a working day.
        """
        if days < 0:
            raise ValueError("working days must not be negative")
        local = start.astimezone(self.tz)
        if not self.is_working_day(local.date()):
            local = datetime.combine(self._next_working_day(local.date()), datetime.min.time(), self.tz)
        whole = math.floor(days)
        fraction = days - whole
        day = local.date()
        for _ in range(whole):
            day = self._next_working_day(day)
        moment = datetime.combine(day, local.timetz())
        if fraction:
            moment = moment + timedelta(hours=24 * fraction)
            if not self.is_working_day(moment.date()):
                moment = datetime.combine(self._next_working_day(moment.date()), moment.timetz())
        return moment.astimezone(start.tzinfo)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment after `hours` of working time counted from `start`.

        Only time inside the working hours of working days counts: a limit started at 17:00 with two
        working hours (08:30-17:30) uses 17:00-17:30 and ends at 10:00 on the next working day. A limit
        started on a day off, outside the hours or during lunch starts at the next opening. A limit
        that uses up a day exactly ends at that day's closing time.
        """
        if hours < 0:
            raise ValueError("working hours must not be negative")
        remaining = timedelta(hours=hours)
        cursor = start.astimezone(self.tz)
        day = cursor.date()
        for _ in range(_SEARCH_DAYS):
            if self.is_working_day(day):
                for opens, closes in self.hours.periods():
                    period_start = datetime.combine(day, opens, self.tz)
                    period_end = datetime.combine(day, closes, self.tz)
                    if cursor >= period_end:
                        continue
                    cursor = max(cursor, period_start)
                    available = period_end - cursor
                    if remaining <= available:
                        return (cursor + remaining).astimezone(start.tzinfo)
                    remaining -= available
                    cursor = period_end
            day += timedelta(days=1)
            cursor = max(cursor, datetime.combine(day, time.min, self.tz))
        raise ValueError(f"no working time found within {_SEARCH_DAYS} days after {start.isoformat()}")

    def _next_working_day(self, day: date) -> date:
        for _ in range(_SEARCH_DAYS):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError(f"no working day within {_SEARCH_DAYS} days after {day.isoformat()}")


# --- timer values computed from the calendar (diagrams call these as working_days(n) / working_hours(n)) --
MAX_WORKING_DAYS = 2_500  # about ten years of working days: the longest limit a diagram may compute
MAX_WORKING_HOURS = MAX_WORKING_DAYS * 8


def working_days_duration(calendar: BusinessCalendar, now: datetime, days: float) -> str:
    """ISO 8601 duration from `now` to the same time `days` working days later."""
    return _duration_until(now, calendar.add_working_days(now, _bounded("working_days", days, MAX_WORKING_DAYS)))


def working_hours_duration(calendar: BusinessCalendar, now: datetime, hours: float) -> str:
    """ISO 8601 duration from `now` until `hours` of working time have passed."""
    return _duration_until(now, calendar.add_working_hours(now, _bounded("working_hours", hours, MAX_WORKING_HOURS)))


def _bounded(name: str, amount: float, maximum: float) -> float:
    amount = float(amount)
    if not 0 <= amount <= maximum:
        raise ValueError(f"{name}({amount:g}) is outside 0 to {maximum}")
    return amount


def _duration_until(now: datetime, moment: datetime) -> str:
    return f"PT{int(round((moment - now).total_seconds()))}S"
