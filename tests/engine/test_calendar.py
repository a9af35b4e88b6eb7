from datetime import date, datetime

from engine.calendar import BusinessCalendar
from tests.conftest import BEIJING as TZ


def at(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


def test_weekend_is_skipped():
    cal = BusinessCalendar()
    # Friday 15:00 + 1 working day = Monday 15:00
    assert cal.add_working_days(at(2026, 11, 20, 15, 0), 1) == at(2026, 11, 23, 15, 0)


def test_national_day_2026_and_adjusted_working_saturday():
    cal = BusinessCalendar()
    # Wed 30 Sep 10:00 + 1 WD: 1-7 Oct are off (8 Oct Thu is the first working day back).
    assert cal.add_working_days(at(2026, 9, 30, 10, 0), 1) == at(2026, 10, 8, 10, 0)
    # Fri 9 Oct + 1 WD lands on Saturday 10 Oct, an official adjusted working day (调休上班).
    assert cal.is_working_day(date(2026, 10, 10))
    assert cal.add_working_days(at(2026, 10, 9, 10, 0), 1) == at(2026, 10, 10, 10, 0)
    # Sunday 11 Oct stays off: Sat 10 Oct + 1 WD = Mon 12 Oct.
    assert cal.add_working_days(at(2026, 10, 10, 10, 0), 1) == at(2026, 10, 12, 10, 0)
    # Sunday 20 Sep 2026 is also an adjusted working day before the holiday.
    assert cal.is_working_day(date(2026, 9, 20))


def test_limit_started_on_a_holiday_counts_from_next_working_day():
    cal = BusinessCalendar()
    assert cal.add_working_days(at(2026, 10, 3, 14, 0), 3) == at(2026, 10, 12, 0, 0)


def test_company_overrides():
    cal = BusinessCalendar(extra_days_off={date(2026, 11, 23)}, extra_working_days={date(2026, 11, 21)})
    assert cal.add_working_days(at(2026, 11, 20, 9, 0), 1) == at(2026, 11, 21, 9, 0)
    assert cal.add_working_days(at(2026, 11, 21, 9, 0), 1) == at(2026, 11, 24, 9, 0)


def test_fraction_of_a_working_day():
    cal = BusinessCalendar()
    assert cal.add_working_days(at(2026, 11, 16, 9, 0), 0.5) == at(2026, 11, 16, 21, 0)
    # Friday 20:00 + half a day ends Saturday morning: moved to Monday at that time of day.
    assert cal.add_working_days(at(2026, 11, 20, 20, 0), 0.5) == at(2026, 11, 23, 8, 0)
