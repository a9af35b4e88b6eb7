"""`aftersales db`: migrate the database to this release, undo migrations, show where it stands."""
from __future__ import annotations

import sys

import click
from alembic.util import CommandError
from sqlalchemy.exc import InterfaceError, OperationalError

from engine.errors import EngineError
from engine.storage.database import BASELINE_REVISION, SchemaNotCurrent, head_revision

# Commands that bring the database to this release themselves; every other command refuses an
# unmigrated or outdated database.
MIGRATING_COMMANDS = frozenset({"init", "serve", "db"})


class MigrationCheckingGroup(click.Group):
    """The `aftersales` group: it keeps its command line, so `require_current_schema_for` can let
    `--help` of any command through on a database that is not migrated (or not there at all)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["aftersales.args"] = list(args)
        return super().parse_args(ctx, args)


def require_current_schema_for(ctx: click.Context) -> None:
    """Refuse the invoked command on a database not at this release's revision, unless the command
    migrates it itself or only help was asked for."""
    asks_help = set(ctx.meta.get("aftersales.args", ())) & set(ctx.help_option_names)
    if ctx.invoked_subcommand not in MIGRATING_COMMANDS and not asks_help:
        require_current_schema(ctx.obj)


def require_current_schema(engine) -> None:
    """Stop the command with the reason on stderr (no traceback) when the database is not at this
    release's revision."""
    try:
        engine.db.ensure_schema_current()
    except SchemaNotCurrent as err:
        _fail(err)
    except (OperationalError, InterfaceError) as err:  # the database is away: say so, not a traceback
        where = engine.db.engine.url.render_as_string(hide_password=True)
        reason = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
        _fail(Exception(f"the database {where} cannot be reached ({reason}); nothing was done. Start it or "
                        f"check DATABASE_URL, then run the command again"))


def _fail(err: Exception) -> None:
    click.echo(f"error: {err}", err=True)
    sys.exit(2)


@click.group()
def db() -> None:
    """Database migrations: run `aftersales db upgrade` after installing a new release, before starting it."""


@db.command("upgrade")
@click.argument("revision", default="head")
@click.pass_obj
def upgrade(engine, revision: str) -> None:
    """Migrate the database to REVISION (default: this release's). A database created before migrations
    existed is adopted first."""
    try:
        done = engine.db.upgrade(revision)
    except (EngineError, CommandError) as err:
        _fail(err)
    if done.adopted:
        click.echo(f"database created before migrations: adopted at revision {BASELINE_REVISION}")
    if done.before == done.after and not done.adopted:
        click.echo(f"database already at revision {done.after}")
    else:
        click.echo(f"database migrated from revision {done.before or 'none'} to {done.after}")


@db.command("downgrade")
@click.argument("revision")
@click.confirmation_option(prompt="Undoing migrations drops their tables and columns with their data. Continue?")
@click.pass_obj
def downgrade(engine, revision: str) -> None:
    """Undo migrations down to REVISION ("base": drop every table). Data in dropped tables and columns
    is lost: back the database up first."""
    try:
        done = engine.db.downgrade(revision)
    except (EngineError, CommandError) as err:
        _fail(err)
    click.echo(f"database downgraded from revision {done.before or 'none'} to {done.after or 'none'}")


@db.command("current")
@click.pass_obj
def current(engine) -> None:
    """The database's revision and the one this release needs."""
    revision, needed = engine.db.schema_revision(), head_revision()
    state = "up to date" if revision == needed else "run `aftersales db upgrade`"
    click.echo(f"database revision {revision or 'none'}, this release needs {needed}: {state}")


@db.command("revision")
@click.argument("message")
@click.option("--id", "revision_id", required=True, help="the revision id, e.g. 0003_case_tags")
@click.option("--empty", is_flag=True, help="an empty script instead of comparing the models with the database")
@click.pass_obj
def revision(engine, message: str, revision_id: str, empty: bool) -> None:
    """Write a new migration (for developers): with a database at the newest revision, its operations are
    what the models have that the database lacks. Review it before committing."""
    require_current_schema(engine)
    click.echo(f"written {engine.db.new_migration(message, revision_id, autogenerate=not empty)}")
