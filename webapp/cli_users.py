"""`aftersales user deactivate | activate`: an administrator stops someone signing in (they left, or their
account is misused) and ends every session and API call they had at once; or lets them in again."""
from __future__ import annotations

import sys

import click

from engine.accounts.directory import Directory
from engine.errors import NotFound


def _set_active(engine, username: str, active: bool, actor: str) -> None:
    try:
        Directory(engine.db, engine.clock).set_active(username, active, actor=actor)
    except NotFound as err:
        click.echo(f"error: {err}; nothing changed", err=True)
        sys.exit(2)


@click.command("deactivate")
@click.argument("username")
@click.option("--as", "actor", default="cli", help="who does it (for the audit log)")
@click.pass_obj
def deactivate(engine, username: str, actor: str) -> None:
    """USERNAME can no longer sign in or use API tokens; their sessions end now."""
    _set_active(engine, username, False, actor)
    click.echo(f"{username} deactivated; their sessions have ended")


@click.command("activate")
@click.argument("username")
@click.option("--as", "actor", default="cli", help="who does it (for the audit log)")
@click.pass_obj
def activate(engine, username: str, actor: str) -> None:
    """USERNAME may sign in again (sessions from before the deactivation stay ended)."""
    _set_active(engine, username, True, actor)
    click.echo(f"{username} may sign in again")
