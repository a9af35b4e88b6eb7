"""The periods of P2's weekly and monthly oversight come from the occurrence (scheduled_for), in Beijing time."""
from __future__ import annotations

from datetime import UTC, date, datetime

from handlers.after_sales_reviews import previous_week


def test_previous_week_is_monday_to_monday_before_the_occurrence_in_beijing_time():
    # Monday 23 November 09:00 Beijing is 01:00 UTC: last week is 16-22 November.
    assert previous_week(datetime(2026, 11, 23, 1, 0, tzinfo=UTC)) == (date(2026, 11, 16), date(2026, 11, 23))
    # Sunday 22 November 23:30 UTC is already Monday 07:30 in Beijing.
    assert previous_week(datetime(2026, 11, 22, 23, 30, tzinfo=UTC)) == (date(2026, 11, 16), date(2026, 11, 23))
    # A run in mid-week still reports on the whole previous calendar week.
    assert previous_week(datetime(2026, 11, 26, 2, 0, tzinfo=UTC)) == (date(2026, 11, 16), date(2026, 11, 23))
