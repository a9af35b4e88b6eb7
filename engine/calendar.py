"""Chinese business calendar: working-day limits skip weekends and public holidays, and count the
officially adjusted working weekends (调休上班)."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


class BusinessCalendar:
    """Working days of one company: the `holidays` China calendar plus company overrides."""

    def __init__(self, extra_days_off: set[date] | None = None, extra_working_days: set[date] | None = None,
                 tz: ZoneInfo = BUSINESS_TZ) -> None:
        self._china = holidays.China()
        self.extra_days_off = set(extra_days_off or ())
        self.extra_working_days = set(extra_working_days or ())
        self.tz = tz

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off:
            return False
        return self._china.is_working_day(day)

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

    def _next_working_day(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day
