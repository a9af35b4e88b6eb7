"""`aftersales sla`: the SLA records of a case and attainment by department or person for a period
(the counts behind P4's warning → performance deduction rule), from the shell."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import click

from engine.records import queries
from engine.timing import attainment
from engine.working_time.calendar import BUSINESS_TZ


def _local(moment: datetime | None) -> str:
    return moment.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if moment else "-"


@click.group()
def sla() -> None:
    """SLA records and attainment (times in Beijing time)."""


@sla.command("records")
@click.argument("instance_id", type=int)
@click.pass_obj
def sla_records(engine, instance_id: int) -> None:
    """Every limit and duty of one case: due, outcome, against whom, time paused."""
    for r in queries.sla_records(engine.db, instance_id):
        outcome = _local(r.met_at or r.breached_at) if r.status in ("met", "breached") else ""
        paused = f" paused {r.paused_seconds // 60} min" if r.paused_seconds else ""
        source = " (company rule)" if r.source == "company" else ""
        click.echo(f"{r.status:9} {r.kind:5} {r.name}{source}  due {_local(r.due_at)} {outcome}  "
                   f"{r.department or '-'}/{r.person or '-'}{paused}")


@sla.command("attainment")
@click.option("--from", "start", required=True, help="first day, YYYY-MM-DD")
@click.option("--to", "end", required=True, help="last day, YYYY-MM-DD (included)")
@click.option("--by", type=click.Choice(["department", "person"]), default="department")
@click.option("--process", "process_key", default=None)
@click.pass_obj
def sla_attainment(engine, start: str, end: str, by: str, process_key: str | None) -> None:
    """Limits and duties that fell due in the period: met, missed, attainment."""
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as err:
        raise click.BadParameter(f"days are YYYY-MM-DD: {err}") from None
    if last < first:
        raise click.BadParameter("--to is before --from")
    period = (datetime.combine(first, time.min, BUSINESS_TZ),
              datetime.combine(last + timedelta(days=1), time.min, BUSINESS_TZ))
    rows = attainment.sla_attainment(engine.db, *period, by=by, process_key=process_key)
    if not rows:
        click.echo("no limit fell due in that period")
    for row in rows:
        click.echo(f"{row.who:20} met {row.met:5}  missed {row.breached:5}  attainment {row.rate:6.1%}")
