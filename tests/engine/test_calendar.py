from datetime import date, datetime

import pytest

from engine.working_time.calendar import BusinessCalendar, WorkingHours
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


# --- working hours (08:30-17:30 Beijing time unless the company says otherwise) ------------------------
def test_working_hours_carry_over_to_the_next_morning():
    cal = BusinessCalendar()
    # Monday 17:00 + 2 working hours: 17:00-17:30 today, then 08:30-10:00 on Tuesday.
    assert cal.add_working_hours(at(2026, 11, 16, 17, 0), 2) == at(2026, 11, 17, 10, 0)
    # Friday 17:00 + 2 h: the weekend does not count.
    assert cal.add_working_hours(at(2026, 11, 20, 17, 0), 2) == at(2026, 11, 23, 10, 0)
    # A limit that uses up the rest of the day ends at closing time, not the next morning.
    assert cal.add_working_hours(at(2026, 11, 16, 9, 0), 8.5) == at(2026, 11, 16, 17, 30)
    assert cal.add_working_hours(at(2026, 11, 16, 9, 0), 1.25) == at(2026, 11, 16, 10, 15)


def test_working_hours_started_outside_hours_start_at_the_next_opening():
    cal = BusinessCalendar()
    assert cal.add_working_hours(at(2026, 11, 16, 7, 0), 1) == at(2026, 11, 16, 9, 30)
    assert cal.add_working_hours(at(2026, 11, 16, 20, 0), 1) == at(2026, 11, 17, 9, 30)
    assert cal.add_working_hours(at(2026, 11, 21, 11, 0), 1) == at(2026, 11, 23, 9, 30)  # Saturday
    # A moment given in UTC is counted in Beijing time and answered in UTC.
    from datetime import UTC
    start = at(2026, 11, 16, 17, 0).astimezone(UTC)
    assert cal.add_working_hours(start, 2) == at(2026, 11, 17, 10, 0)
    assert cal.add_working_hours(start, 2).tzinfo == UTC


def test_working_hours_across_national_day_2026_and_its_adjusted_working_days():
    cal = BusinessCalendar()
    # Wed 30 Sep 16:00 + 4 h: 1.5 h on 30 Sep, then nothing until Thu 8 Oct (1-7 Oct off): 08:30 + 2.5 h.
    assert cal.add_working_hours(at(2026, 9, 30, 16, 0), 4) == at(2026, 10, 8, 11, 0)
    # Fri 9 Oct 17:00 + 9.5 h: 0.5 h on Friday, then all 9 h of Saturday 10 Oct (调休上班), to its closing.
    assert cal.add_working_hours(at(2026, 10, 9, 17, 0), 9.5) == at(2026, 10, 10, 17, 30)
    # Sat 10 Oct 17:00 + 1 h: Sunday 11 Oct is off, so Monday 12 Oct 09:00.
    assert cal.add_working_hours(at(2026, 10, 10, 17, 0), 1) == at(2026, 10, 12, 9, 0)
    # Fri 18 Sep 17:00 + 1 h lands on Sunday 20 Sep, the adjusted working day before the holiday.
    assert cal.add_working_hours(at(2026, 9, 18, 17, 0), 1) == at(2026, 9, 20, 9, 0)
    # Started during the holiday: counting begins at 08:30 on Thu 8 Oct.
    assert cal.add_working_hours(at(2026, 10, 4, 10, 0), 3) == at(2026, 10, 8, 11, 30)


def test_lunch_break_does_not_count():
    cal = BusinessCalendar(hours=WorkingHours.parse("08:30", "17:30", "12:00", "13:00"))
    assert cal.add_working_hours(at(2026, 11, 16, 11, 0), 2) == at(2026, 11, 16, 14, 0)
    assert cal.add_working_hours(at(2026, 11, 16, 12, 30), 1) == at(2026, 11, 16, 14, 0)
    # Morning 3.5 h + afternoon 4.5 h = 8 working hours a day.
    assert cal.add_working_hours(at(2026, 11, 16, 8, 30), 8) == at(2026, 11, 16, 17, 30)
    assert cal.add_working_hours(at(2026, 11, 16, 17, 0), 4) == at(2026, 11, 17, 12, 0)


def test_company_overrides_apply_to_working_hours():
    cal = BusinessCalendar(extra_days_off={date(2026, 11, 23)}, extra_working_days={date(2026, 11, 21)},
                           hours=WorkingHours.parse("09:00", "18:00"))
    # Fri 20 Nov 17:00 + 2 h: 1 h on Friday, Saturday 21 Nov is a company working day: 10:00.
    assert cal.add_working_hours(at(2026, 11, 20, 17, 0), 2) == at(2026, 11, 21, 10, 0)
    # Sat 21 Nov 17:00 + 2 h: Sunday is off, Monday 23 Nov is a company day off: Tuesday 10:00.
    assert cal.add_working_hours(at(2026, 11, 21, 17, 0), 2) == at(2026, 11, 24, 10, 0)


def test_company_overrides_win_over_the_china_calendar_in_2027():
    # holidays 0.109 has only the fixed rules for 2027 (1-5 Oct off, no adjusted working weekends): the
    # State Council publishes a year's schedule late in the year before, and until the library knows it
    # the company enters it. These assertions hold whatever the library later learns about 2027.
    assert not BusinessCalendar().is_working_day(date(2027, 10, 1))
    company = BusinessCalendar(extra_days_off={date(2027, 10, 6), date(2027, 10, 7)},
                               extra_working_days={date(2027, 10, 9)})
    assert company.add_working_days(at(2027, 9, 30, 10, 0), 1) == at(2027, 10, 8, 10, 0)
    assert company.add_working_hours(at(2027, 10, 8, 17, 0), 1) == at(2027, 10, 9, 9, 0)
    assert not company.is_working_day(date(2027, 10, 6)) and company.is_working_day(date(2027, 10, 9))


@pytest.mark.parametrize(("args", "message"), [
    (("17:30", "08:30"), "work must start before it ends: 17:30 is not before 08:30"),
    (("08:30", "08:30"), "work must start before it ends"),
    (("8:30", "17:30"), "must be written HH:MM"),
    (("25:00", "17:30"), "must be written HH:MM"),
    (("08:30", "17:30:00"), "must be written HH:MM"),
    (("08:30", "17:30", "12:00", None), "needs both its start and its end"),
    (("08:30", "17:30", "07:00", "09:00"), "must lie inside the working hours"),
    (("08:30", "17:30", "13:00", "12:00"), "must lie inside the working hours"),
])
def test_nonsense_working_hours_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        WorkingHours.parse(*args)


def test_negative_limits_are_refused():
    with pytest.raises(ValueError):
        BusinessCalendar().add_working_hours(at(2026, 11, 16, 9, 0), -1)
    with pytest.raises(ValueError):
        BusinessCalendar().add_working_days(at(2026, 11, 16, 9, 0), -1)
