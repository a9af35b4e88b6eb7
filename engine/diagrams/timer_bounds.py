"""How long and how often a timer may be: a duration or a date at most 10 years away, a cycle at most once a
minute. SpiffWorkflow computes a due time month by month (a loop as long as the duration) and fires a zero
cycle without end, so a value beyond these bounds would hang the process that reaches it. Checked at deploy
for literal values and at run time for computed ones; the check itself only reads the text (never loops)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from engine.errors import N_, StatedRule

MAX_TIMER_SPAN = timedelta(days=3653)  # 10 years
MIN_CYCLE_INTERVAL = timedelta(minutes=1)

# Average lengths: enough to tell whether a value is within the bound, which is all this module decides.
_SECONDS = {"years": 365.25 * 86400, "months": 30.44 * 86400, "weeks": 7 * 86400, "days": 86400,
            "hours": 3600, "minutes": 60, "seconds": 1}
_NUMBER = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(
    rf"P(?!$)(?:(?P<years>{_NUMBER})Y)?(?:(?P<months>{_NUMBER})M)?(?:(?P<weeks>{_NUMBER})W)?"
    rf"(?:(?P<days>{_NUMBER})D)?(?:T(?=\d)(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?"
    rf"(?:(?P<seconds>{_NUMBER})S)?)?", re.IGNORECASE)
_MAX_TEXT = 200


class TimerBoundsExceeded(StatedRule):
    """A timer value outside the bounds (or not an ISO 8601 value at all); the message says which rule."""


def check_timer_bounds(kind: str, iso_value: str, now: datetime | None = None) -> None:
    """Raise TimerBoundsExceeded unless the ISO 8601 `iso_value` of a `kind` (duration, date or cycle) timer
    lies within MAX_TIMER_SPAN and, for a cycle, repeats no more often than MIN_CYCLE_INTERVAL."""
    text = (iso_value or "").strip()
    moment = now or datetime.now(UTC)
    if len(text) > _MAX_TEXT:
        raise TimerBoundsExceeded(N_("a timer value is at most %(limit)d characters long"), limit=_MAX_TEXT)
    if kind == "duration":
        _check_span(text, _duration_seconds(text))
    elif kind == "date":
        _check_date(text, _date(text), moment)
    elif kind == "cycle":
        _check_cycle(text, moment)
    else:
        raise ValueError(f"unknown timer kind {kind!r}")


def _duration_seconds(text: str) -> float:
    match = _DURATION.fullmatch(text)
    if match is None:
        raise TimerBoundsExceeded(N_("'%(value)s' is not an ISO 8601 duration such as P3D or PT2H"), value=text)
    return sum(float(number.replace(",", ".")) * _SECONDS[unit]
               for unit, number in match.groupdict().items() if number)


def _date(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TimerBoundsExceeded(N_("'%(value)s' is not an ISO 8601 date-time such as 2026-12-01T09:00:00+08:00"),
                                  value=text) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _check_span(text: str, seconds: float) -> None:
    if seconds > MAX_TIMER_SPAN.total_seconds():
        raise TimerBoundsExceeded(N_("the duration %(value)s is longer than the longest a timer may wait, "
                                     "%(days)d days (10 years)"), value=text, days=MAX_TIMER_SPAN.days)


def _check_date(text: str, moment: datetime, now: datetime) -> None:
    if moment - now > MAX_TIMER_SPAN:
        raise TimerBoundsExceeded(N_("the date %(value)s is more than %(days)d days (10 years) ahead, further "
                                     "than a timer may wait"), value=text, days=MAX_TIMER_SPAN.days)


def _check_cycle(text: str, now: datetime) -> None:
    parts = text.split("/")
    if len(parts) not in (2, 3) or not re.fullmatch(r"R\d*", parts[0], re.IGNORECASE):
        raise TimerBoundsExceeded(N_("'%(value)s' is not an ISO 8601 cycle such as R/PT2H or "
                                     "R3/2026-12-01T09:00:00+08:00/P1D"), value=text)
    durations = [part for part in parts[1:] if part[:1].upper() == "P"]
    dates = [_date(part) for part in parts[1:] if part[:1].upper() != "P"]
    if durations:
        seconds = _duration_seconds(durations[0])
    elif len(dates) == 2:
        seconds = (dates[1] - dates[0]).total_seconds()
    else:
        raise TimerBoundsExceeded(N_("the cycle %(value)s gives no interval (write e.g. R/PT2H)"), value=text)
    if seconds < MIN_CYCLE_INTERVAL.total_seconds():
        raise TimerBoundsExceeded(N_("the cycle %(value)s repeats more often than once a minute, the shortest "
                                     "interval a timer may repeat at"), value=text)
    if seconds > MAX_TIMER_SPAN.total_seconds():
        raise TimerBoundsExceeded(N_("the cycle %(value)s has an interval longer than the longest a timer may "
                                     "wait, %(days)d days (10 years)"), value=text, days=MAX_TIMER_SPAN.days)
    for moment in dates:
        _check_date(text, moment, now)
