"""`aftersales schedules`: the processes that start on a timer (monthly reviews, maintenance plans),
when each starts next, and "run now" for an occurrence an administrator wants at once."""
from __future__ import annotations

import sys
from datetime import datetime

import click

from engine.errors import EngineError
from engine.working_time.calendar import BUSINESS_TZ


def _local(moment: datetime | None) -> str:
    return moment.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if moment else "-"


@click.group()
def schedules() -> None:
    """Processes started by a timer start event (times in Beijing time)."""


@schedules.command("list")
@click.pass_obj
def schedules_list(engine) -> None:
    """Each scheduled process: its timer, next start, last occurrence started and how many so far."""
    rows = engine.schedules()
    if not rows:
        click.echo("no process starts on a timer")
    for s in rows:
        click.echo(f"{s.process_key:28} v{s.version:<3} {s.timer:36} next {_local(s.next_due_at)}  "
                   f"last {_local(s.last_started_for)}  started {s.occurrences_started}")


@schedules.command("run")
@click.argument("process_key")
@click.option("--as", "actor", default="admin", show_default=True, help="who asks for the run (audit trail)")
@click.pass_obj
def schedules_run(engine, process_key: str, actor: str) -> None:
    """Start a case of a scheduled process now (scheduled_for = now); its schedule is unchanged."""
    try:
        instance_id = engine.start_scheduled_now(process_key, actor)
    except EngineError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    click.echo(f"started case #{instance_id} of {process_key}")
