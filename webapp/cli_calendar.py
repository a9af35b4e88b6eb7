"""`aftersales calendar list | day-off | working-day | clear | hours`: the company's business calendar on top
of the China calendar (days off, working days with 调休, working hours), which working-day and working-hour
limits count with from the next timer started after a change."""
from __future__ import annotations

import click

from engine.working_time.calendar import BUSINESS_TZ
from webapp.cli_errors import fail


@click.group()
def calendar() -> None:
    """The company's business calendar: days off, working days and working hours on top of the China
    calendar, used by working_days(n) / working_hours(n) limits started after a change."""


@calendar.command("list")
@click.pass_obj
def calendar_list(engine) -> None:
    """Working hours and every company override."""
    overrides = engine.calendar_overrides()
    click.echo(f"working hours {overrides.hours.describe()} (Beijing time), revision {overrides.revision}")
    if not overrides.days:
        click.echo("no company overrides: the China calendar decides every day")
    for entry in overrides.days:
        kind = "day off" if entry.kind == "day_off" else "working day"
        click.echo(f"{entry.day.isoformat()} {entry.day:%a}  {kind:<12} {entry.note:<20} "
                   f"by {entry.changed_by} at {entry.changed_at.astimezone(BUSINESS_TZ):%Y-%m-%d %H:%M}")


def _calendar_edit(edit, done: str) -> None:
    try:
        edit()
    except ValueError as err:
        fail(f"{err}; nothing changed")
    click.echo(done)


@calendar.command("day-off")
@click.argument("day")
@click.option("--note", default="", help="why, e.g. 公司年会")
@click.option("--as", "actor", default="cli")
@click.pass_obj
def calendar_day_off(engine, day: str, note: str, actor: str) -> None:
    """Make DAY (YYYY-MM-DD) a company day off."""
    _calendar_edit(lambda: engine.set_calendar_day(day, "day_off", actor, note), f"{day} is a day off")


@calendar.command("working-day")
@click.argument("day")
@click.option("--note", default="", help="why, e.g. 调休上班")
@click.option("--as", "actor", default="cli")
@click.pass_obj
def calendar_working_day(engine, day: str, note: str, actor: str) -> None:
    """Make DAY (YYYY-MM-DD) a company working day."""
    _calendar_edit(lambda: engine.set_calendar_day(day, "working_day", actor, note), f"{day} is a working day")


@calendar.command("clear")
@click.argument("day")
@click.option("--as", "actor", default="cli")
@click.pass_obj
def calendar_clear(engine, day: str, actor: str) -> None:
    """Drop the company override of DAY: the China calendar decides it again."""
    _calendar_edit(lambda: engine.clear_calendar_day(day, actor), f"{day} follows the China calendar again")


@calendar.command("hours")
@click.argument("start")
@click.argument("end")
@click.option("--lunch", nargs=2, default=None, metavar="START END", help="lunch break that does not count, e.g. 12:00 13:00")
@click.option("--as", "actor", default="cli")
@click.pass_obj
def calendar_hours(engine, start: str, end: str, lunch: tuple[str, str] | None, actor: str) -> None:
    """Set the working hours (HH:MM HH:MM, Beijing time) that working_hours(n) limits count."""
    lunch_start, lunch_end = lunch or (None, None)
    _calendar_edit(lambda: engine.set_working_hours(start, end, actor, lunch_start, lunch_end),
                   f"working hours {start}-{end}" + (f", lunch {lunch_start}-{lunch_end}" if lunch else ""))
