"""`aftersales token`: issue, list and revoke personal API tokens from the shell (e.g. for the CRM's account)."""
from __future__ import annotations

import sys

import click

from engine.accounts import api_tokens
from engine.errors import NotFound
from engine.working_time.calendar import BUSINESS_TZ


@click.group()
def token() -> None:
    """Personal API tokens (the API acts with the rights of the token's user)."""


@token.command("create")
@click.argument("username")
@click.option("--name", required=True, help="what the token is for, e.g. the system that uses it")
@click.option("--as", "actor", default="admin", help="who issues it (for the audit log)")
@click.pass_obj
def create(engine, username: str, name: str, actor: str) -> None:
    """Issue a token; it is printed once and never shown again."""
    try:
        issued = api_tokens.issue(engine.db, engine.clock, username, name, actor)
    except api_tokens.InvalidTokenRequest as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    click.echo(f"token {issued.id} for {username} ({issued.name}); shown only now:")
    click.echo(issued.token)


@token.command("list")
@click.argument("username")
@click.pass_obj
def list_(engine, username: str) -> None:
    """A user's tokens: id, prefix, name, created, last used, revoked."""
    for t in api_tokens.list_tokens(engine.db, username):
        state = f"revoked {t.revoked_at.astimezone(BUSINESS_TZ):%Y-%m-%d %H:%M}" if t.revoked_at else "active"
        used = f"{t.last_used_at.astimezone(BUSINESS_TZ):%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
        click.echo(f"{t.id:5} {t.prefix}…  {t.name:30} {used:18} {state}")


@token.command("revoke")
@click.argument("token_id", type=int)
@click.option("--as", "actor", default="admin")
@click.pass_obj
def revoke(engine, token_id: int, actor: str) -> None:
    """Stop a token working at once."""
    try:
        revoked = api_tokens.revoke(engine.db, engine.clock, token_id, actor)
    except NotFound as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    click.echo(f"token {revoked.id} ({revoked.name}) of {revoked.username} revoked")
