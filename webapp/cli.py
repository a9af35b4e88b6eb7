"""`aftersales` command line: initialise, deploy, run the worker, and work cases from the shell."""
from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path

import click

from engine.accounts.directory import Directory
from engine.accounts.passwords import broken_rules
from engine.diagrams.catalog import DiagramError
from engine.diagrams.forms import InvalidForm
from engine.errors import EngineError
from engine.records import queries
from engine.services.timer_worker import run_worker
from engine.settings import Settings, SettingsError, load_settings
from webapp.cli_calendar import calendar
from webapp.cli_db import MigrationCheckingGroup, db, require_current_schema_for
from webapp.cli_engineers import engineers, warranties
from webapp.cli_errors import fail
from webapp.cli_records import export, purge
from webapp.cli_schedules import schedules
from webapp.cli_sla import sla
from webapp.cli_tokens import token
from webapp.cli_users import activate, deactivate
from webapp.composition import build_engine, initialise, processes_dir

_SETTINGS = "aftersales.settings"


def _data(data: str | None, data_file: str | None) -> dict:
    try:
        if data_file:
            return json.loads(Path(data_file).read_text(encoding="utf-8"))
        return json.loads(data) if data else {}
    except json.JSONDecodeError as err:
        fail(f"data is not valid JSON: {err}")
        return {}


def _initialise(engine) -> None:
    """Create the schema, seed departments, deploy processes/, and say what was deployed."""
    try:
        for result in initialise(engine):
            state = "deployed" if result.created else "unchanged"
            click.echo(f"{result.process_key} v{result.version} {state}")
    except (DiagramError, EngineError) as err:  # EngineError: a database that cannot be migrated
        fail(str(err))


def _settings() -> Settings:
    """The settings the `main` group read at start (see the README's Configuration table)."""
    return click.get_current_context().meta[_SETTINGS]


def _print_first_users(created: list, admin_password: str | None) -> None:
    from webapp.demo import DEMO_PASSWORD

    if not created:
        return
    click.echo(f"\nDemo users created (password for all: {DEMO_PASSWORD}"
               f"{', admin: AFTERSALES_ADMIN_PASSWORD' if admin_password else ''}; shown only this once):")
    for user in created:
        roles = ", ".join([f"{code}:{role}" for code, role in user.departments.items()] + list(user.roles))
        click.echo(f"  {user.username:<12} {user.display_name:<8} {roles}")


def _seed_first_users(engine, settings: Settings, demo_users: bool) -> None:
    """On a database without users: the demo users (when asked for) or the administrator from
    AFTERSALES_ADMIN_PASSWORD, so someone can sign in; say so when nobody can."""
    from webapp.demo import ADMIN_USERNAME, seed_admin, seed_demo_users

    directory = Directory(engine.db, engine.clock)
    if directory.users():
        return
    if demo_users:
        _print_first_users(seed_demo_users(directory, settings.admin_password), settings.admin_password)
    elif settings.admin_password:
        seed_admin(directory, settings.admin_password)
        click.echo(f"administrator {ADMIN_USERNAME} created (password: AFTERSALES_ADMIN_PASSWORD)")
    else:
        click.echo("no user can sign in yet: set AFTERSALES_ADMIN_PASSWORD and run `aftersales init` again, "
                   "or add one with `aftersales user add`")


@click.group(cls=MigrationCheckingGroup)
@click.option("--database-url", default=None, help="SQLAlchemy URL (default: DATABASE_URL, else a SQLite file)")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """After-sales workflow system."""
    try:
        settings = load_settings()
    except SettingsError as err:
        click.echo(f"configuration error: {err}", err=True)
        sys.exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("spiff").setLevel(logging.WARNING)  # one INFO line per task state change
    logging.getLogger("alembic").setLevel(logging.WARNING)  # `db` commands say what was migrated themselves
    ctx.meta[_SETTINGS] = settings
    ctx.obj = build_engine(database_url, settings=settings, check_schema=False)
    require_current_schema_for(ctx)


@main.command()
@click.pass_obj
def init(engine) -> None:
    """Create the database, seed the departments, deploy every diagram in processes/ and, on a database
    without users, create the administrator (AFTERSALES_ADMIN_PASSWORD) or the demo users
    (AFTERSALES_DEMO_USERS=1)."""
    _initialise(engine)
    settings = _settings()
    _seed_first_users(engine, settings, settings.demo_users)


@main.command()
@click.argument("path", required=False, type=click.Path(exists=True))
@click.option("--as", "actor", default="process-owner")
@click.pass_obj
def deploy(engine, path: str | None, actor: str) -> None:
    """Deploy one .bpmn file, or every one in a directory (default: processes/)."""
    target = Path(path) if path else processes_dir()
    try:
        results = engine.deploy_directory(target, actor) if target.is_dir() else \
            [engine.deploy(target.read_bytes(), actor, filename=target.name)]
    except DiagramError as err:
        fail(f"deploy rejected, nothing stored: {err}")
    for result in results:
        click.echo(f"{result.process_key} v{result.version} {'deployed' if result.created else 'unchanged'}")


@main.command()
@click.argument("process_key")
@click.option("--data", help="start form as JSON")
@click.option("--data-file", type=click.Path(exists=True))
@click.option("--business-key")
@click.option("--as", "actor", default="cli")
@click.pass_obj
def start(engine, process_key, data, data_file, business_key, actor) -> None:
    """Start a case of PROCESS_KEY (latest version)."""
    try:
        instance_id = engine.start_instance(process_key, _data(data, data_file), actor, business_key)
    except (EngineError, InvalidForm) as err:
        fail(str(err))
    instance = queries.get_instance(engine.db, instance_id)
    click.echo(f"instance {instance_id} started ({instance.business_key or 'no business key'})")


@main.command()
@click.option("--department")
@click.option("--instance", "instance_id", type=int)
@click.option("--state", default="open")
@click.pass_obj
def tasks(engine, department, instance_id, state) -> None:
    """List tasks (reads task rows only)."""
    for task in queries.list_tasks(engine.db, department=department, instance_id=instance_id, state=state):
        due = task.due_at.isoformat(timespec="minutes") if task.due_at else "-"
        click.echo(f"{task.id:>6}  {task.department:<12} {task.business_key or '':<14} {task.name}  "
                   f"due {due}  {task.claimed_by or ''}")


@main.command("show-task")
@click.argument("task_id", type=int)
@click.pass_obj
def show_task(engine, task_id) -> None:
    """Show a task's form fields."""
    task = queries.get_task(engine.db, task_id)
    if task is None:
        fail(f"no task {task_id}")
    click.echo(f"{task.name} [{task.department}] {task.state} due {task.due_at} ({task.limit_name or ''})")
    for f in task.form.get("fields", []):
        options = f" one of {[o[0] for o in f['options']]}" if f["options"] else ""
        click.echo(f"  {f['id']:<28} {f['type']:<8} {'*' if f['required'] else ' '} {f['label']}{options}")


@main.command()
@click.argument("task_id", type=int)
@click.option("--as", "actor", required=True)
@click.pass_obj
def claim(engine, task_id, actor) -> None:
    try:
        engine.claim_task(task_id, actor)
    except EngineError as err:
        fail(str(err))
    click.echo(f"task {task_id} claimed by {actor}")


@main.command()
@click.argument("task_id", type=int)
@click.option("--as", "actor", required=True)
@click.option("--data", help="form values as JSON")
@click.option("--data-file", type=click.Path(exists=True))
@click.pass_obj
def complete(engine, task_id, actor, data, data_file) -> None:
    """Complete a task with its form values."""
    try:
        engine.complete_task(task_id, actor, _data(data, data_file))
    except InvalidForm as err:
        for field, messages in sorted(err.errors.items()):
            click.echo(f"  {field}: {' '.join(messages)}", err=True)
        fail("invalid form, nothing saved")
    except EngineError as err:
        fail(str(err))
    click.echo(f"task {task_id} completed")


@main.command()
@click.pass_obj
def instances(engine) -> None:
    for i in queries.list_instances(engine.db):
        click.echo(f"{i.id:>6}  {i.process_key} v{i.version}  {i.business_key or '':<14} {i.status}  "
                   f"next due {i.next_due_at.isoformat(timespec='minutes') if i.next_due_at else '-'}")


@main.command()
@click.argument("instance_id", type=int)
@click.pass_obj
def audit(engine, instance_id) -> None:
    """The audit trail of one instance."""
    for e in queries.audit_trail(engine.db, instance_id):
        click.echo(f"{e.at.isoformat(timespec='seconds')}  {e.kind:<20} {e.actor:<12} {e.element_id or ''}  "
                   f"{json.dumps(e.detail, ensure_ascii=False)[:160]}")


@main.command()
@click.pass_obj
def incidents(engine) -> None:
    for i in queries.list_incidents(engine.db):
        where = f"instance {i.instance_id}" if i.instance_id else f"process {i.process_key}"
        click.echo(f"{i.id:>5}  {where}  {i.element_id} ({i.topic}) attempts {i.attempts}  "
                   f"{i.error.splitlines()[0]}")


@main.command()
@click.argument("incident_id", type=int)
@click.option("--as", "actor", default="admin")
@click.pass_obj
def retry(engine, incident_id, actor) -> None:
    """Run a failed handler again now."""
    try:
        retried = engine.retry_incident(incident_id, actor)
    except EngineError as err:
        fail(str(err))
    click.echo(f"incident {incident_id} retried" if retried else
               f"incident {incident_id} closed: its task is no longer waiting (the case moved on)")


@main.command()
@click.option("--once", is_flag=True, help="one round, then exit")
@click.option("--poll", type=float, default=None,
              help="longest pause (seconds) between idle rounds, it wakes sooner when a timer comes due "
                   "(default: AFTERSALES_WORKER_POLL, else 1)")
@click.pass_obj
def worker(engine, once: bool, poll: float | None) -> None:
    """Fire due timers, retry failed handlers, deliver notifications."""
    poll = poll if poll is not None else _settings().worker_poll_seconds
    if once:
        tick = engine.worker_tick()
        click.echo(f"timers fired {tick.timers_fired}, incidents retried {tick.incidents_retried}, "
                   f"messages sent {tick.messages_sent}")
        for error in tick.errors:
            click.echo(f"error: {error}", err=True)
        return
    stop = threading.Event()
    # `docker compose stop` (and systemd) send SIGTERM: finish the round in hand, then stop.
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    click.echo(f"timer worker running on {engine.db.engine.url.render_as_string(hide_password=True)}, "
               f"polling every {poll:g} s or sooner when a timer comes due (Ctrl-C to stop)")
    try:
        run_worker(engine, poll, stop)
    except KeyboardInterrupt:
        pass
    click.echo("timer worker stopped")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--poll", type=float, default=None,
              help="longest pause between idle timer worker rounds (default: AFTERSALES_WORKER_POLL, else 1)")
@click.option("--no-worker", is_flag=True, help="web only (run `aftersales worker` elsewhere)")
@click.option("--no-demo-users", is_flag=True, help="do not create the demo users on an empty database")
@click.pass_obj
def serve(engine, host: str, port: int, poll: float | None, no_worker: bool, no_demo_users: bool) -> None:
    """Initialise the database, then run the web app and the timer worker in one process."""
    import waitress

    from webapp import create_app

    settings = _settings()
    poll = poll if poll is not None else settings.worker_poll_seconds
    _initialise(engine)
    _seed_first_users(engine, settings, demo_users=not no_demo_users)
    app = create_app(engine, settings=settings)
    stop = threading.Event()
    if not no_worker:
        threading.Thread(target=run_worker, args=(engine, poll, stop), name="timer-worker", daemon=True).start()
        click.echo(f"\ntimer worker running, every {poll:g} s")
    click.echo(f"web app on {engine.db.engine.url.render_as_string(hide_password=True)}")
    click.echo(f"\nOpen http://{host}:{port}/ in a browser (Ctrl-C to stop)")
    try:
        waitress.serve(app, host=host, port=port, threads=8, _quiet=True)
    finally:
        stop.set()


@main.group()
def user() -> None:
    """People who sign in to the web app."""


@user.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="name shown on pages, e.g. 王强")
@click.option("--department", "departments", multiple=True, help="CODE or CODE:head, e.g. quality:head")
@click.option("--role", "roles", multiple=True, type=click.Choice(["process_owner", "auditor", "admin"]))
@click.option("--email", default=None)
@click.password_option()
@click.pass_obj
def add_user(engine, username, display_name, departments, roles, email, password) -> None:
    """Add a person; the password must meet the password policy (README, "Sign-in security")."""
    from webapp.auth import hash_password

    _check_password(password, username)
    memberships = {}
    for entry in departments:
        code, _, role = entry.partition(":")
        memberships[code] = role or "member"
    try:
        Directory(engine.db, engine.clock).add_user(username, display_name, hash_password(password), memberships,
                                                    tuple(roles), email=email, actor="cli")
    except EngineError as err:
        fail(str(err))
    click.echo(f"user {username} added")


@user.command("password")
@click.argument("username")
@click.password_option(help="the new password (asked for twice when not given)")
@click.option("--as", "actor", default="cli")
@click.pass_obj
def reset_password(engine, username, password, actor) -> None:
    """Set a new password for USERNAME (e.g. one who forgot theirs), under the password policy."""
    from webapp.auth import hash_password

    _check_password(password, username)
    try:
        Directory(engine.db, engine.clock).set_password_hash(username, hash_password(password), actor=actor)
    except EngineError as err:
        fail(f"{err}; nothing changed")
    click.echo(f"password of {username} changed")


def _check_password(password: str, username: str) -> None:
    """Stop with every broken rule of the password policy listed (nothing stored)."""
    broken = broken_rules(password, username, _settings().password_min_length)
    if broken:
        fail("the password is refused, nothing was stored:\n" + "\n".join(f"  - {rule.message}" for rule in broken))


@user.command("list")
@click.pass_obj
def list_users(engine) -> None:
    for u in Directory(engine.db, engine.clock).users():
        memberships = ", ".join(f"{code}:{role}" for code, role in u.departments.items())
        click.echo(f"{u.username:<14} {u.display_name:<8} {memberships} {' '.join(u.roles)}"
                   f"{'' if u.active else ' (inactive)'}")


user.add_command(deactivate)
user.add_command(activate)
main.add_command(calendar)
main.add_command(sla)
main.add_command(engineers)
main.add_command(warranties)
main.add_command(schedules)
main.add_command(token)
main.add_command(export)
main.add_command(purge)
main.add_command(db)
