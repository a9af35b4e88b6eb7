"""`aftersales export` and `aftersales purge`: the records of a period to a file, and the retention purge of
cases finished longer ago than AFTERSALES_RETENTION_YEARS (procedure P4 step 7)."""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from engine.records import archive, archive_plan, retention
from engine.settings import SettingsError, load_settings
from webapp.cli_errors import fail


def _day(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        click.echo(f"error: {option} must be a day written YYYY-MM-DD, e.g. 2026-01-01; got '{value}'", err=True)
        sys.exit(2)


def _table_counts(rows: dict[str, int]) -> None:
    for name, count in sorted(rows.items()):
        if count:
            click.echo(f"  {name:32} {count:8}")


@click.command("export")
@click.option("--from", "first_day", required=True, help="first Beijing calendar day, YYYY-MM-DD (included)")
@click.option("--to", "last_day", required=True, help="last Beijing calendar day, YYYY-MM-DD (included)")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="the ZIP file to write (must not exist)")
@click.option("--as", "actor", default="cli", help="who exports (written in the manifest)")
@click.pass_obj
def export(engine, first_day: str, last_day: str, out: str, actor: str) -> None:
    """Write every case started in the period, with all its rows, to a ZIP of JSON-lines files."""
    first, last = _day("--from", first_day), _day("--to", last_day)
    try:
        summary = archive.export_period(engine.db, engine.clock.now(), first, last, Path(out), actor)
    except (archive_plan.ArchiveError, OSError) as err:
        fail(str(err))
    click.echo(f"{summary.path}: {summary.rows.get(archive_plan.CASES_TABLE, 0)} cases started "
               f"{first.isoformat()}..{last.isoformat()}")
    _table_counts(summary.rows)
    click.echo(f"SHA-256 {summary.sha256}")


@click.command("purge")
@click.option("--before", "cut_off", required=True, help="purge cases that ended before this Beijing day, YYYY-MM-DD")
@click.option("--archive", "archive_path", required=True, type=click.Path(dir_okay=False),
              help="the ZIP file the purged records are written to first (must not exist)")
@click.option("--yes", is_flag=True, help="really delete; without it the purge only says what it would delete")
@click.option("--as", "actor", default="cli", help="who purges (for the audit log)")
@click.pass_obj
def purge(engine, cut_off: str, archive_path: str, yes: bool, actor: str) -> None:
    """Delete the cases finished before --before (not within AFTERSALES_RETENTION_YEARS), archived first."""
    day = _day("--before", cut_off)
    try:
        years = load_settings().retention_years
    except SettingsError as err:
        fail(str(err))
    try:
        result = retention.purge(engine.db, engine.clock, years, day, Path(archive_path), actor, dry_run=not yes)
    except (retention.RetentionRefused, archive_plan.ArchiveError, OSError) as err:
        fail(str(err))
    if not result.rows:
        click.echo(f"no case finished before {day.isoformat()}; nothing to purge")
        return
    if result.dry_run:
        click.echo(f"would delete {result.cases} cases finished before {day.isoformat()}:")
        _table_counts(result.rows)
        click.echo(f"run again with --yes to write {archive_path} and delete them")
        return
    click.echo(f"deleted {result.cases} cases finished before {day.isoformat()}:")
    _table_counts(result.rows)
    click.echo(f"archive {result.archive_path} SHA-256 {result.archive_sha256}")
