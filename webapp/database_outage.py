"""The web app while its database cannot be reached: it keeps running and answers 503 with a message in
the user's language, and serves again by itself once the database answers.

A web process used to check the schema once at start and exit when the database did not answer; under
gunicorn a worker failing to boot makes the master stop the whole app, which then stayed down until
someone restarted it by hand (issue 18). Now only a schema that is really behind (run `aftersales db
upgrade`) stops the process at start; an unreachable database defers the check to the requests, tried
again with back-off, and a database lost later is answered 503 instead of 500."""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from flask import Flask, Response, current_app, g, jsonify, make_response, request
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import InternalServerError

from engine.clock import Clock
from engine.errors import DatabaseBusy
from engine.storage.database import Database, SchemaNotCurrent
from webapp.api_calls import under_api

# What a database that is away (refused connection, dropped connection, server shutting down) raises.
UNREACHABLE = (OperationalError, InterfaceError)
# Seconds until the next schema check after the 1st, 2nd, … failure; the last step repeats.
CHECK_BACKOFF_SECONDS = (1, 2, 5, 10, 30)
RETRY_AFTER_SECONDS = 5  # what a 503 tells browsers and API clients to wait
# PostgreSQL's answers of a server that is away or going: connection exceptions (08…), shutting down
# (57P01-57P03), not accepting connections (55000 on a database closed to them), too many connections.
AWAY_SQLSTATES = ("08", "57P01", "57P02", "57P03", "55000", "53300")
# SQLite's: the file cannot be opened or read, or another change holds it (see `unavailable(busy=True)`).
AWAY_SQLITE_TEXTS = ("unable to open database file", "disk i/o error", "database is locked")

log = logging.getLogger(__name__)


class SchemaGate:
    """Whether this process has seen its database at the schema this release needs. Checked at start;
    while the database cannot be reached (or, once reached, is not migrated yet) requests are answered
    503, and a request checks again once the back-off step has passed, one request at a time."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.open = False
        self.failures = 0
        self.next_check: datetime | None = None
        self._lock = threading.Lock()

    def check_at_start(self) -> None:
        """SchemaNotCurrent propagates and stops the process, saying what to run; an unreachable database
        is logged and checked again later."""
        try:
            self._check()
        except UNREACHABLE as err:
            self._failed(err)

    def passable(self) -> bool:
        """Whether a request may go on; checks the database again when the back-off step has passed."""
        if self.open:
            return True
        if not self._lock.acquire(blocking=False):
            return False  # another request is checking right now
        try:
            if self.open:
                return True
            if self.next_check is not None and self.clock.now() < self.next_check:
                return False
            try:
                self._check()
            except (*UNREACHABLE, SchemaNotCurrent) as err:
                self._failed(err)
                return False
            return True
        finally:
            self._lock.release()

    def _check(self) -> None:
        self.db.ensure_schema_current()
        if self.failures:
            log.warning("the database answers at the schema this release needs: serving requests again")
        self.open, self.failures, self.next_check = True, 0, None

    def _failed(self, err: Exception) -> None:
        delay = CHECK_BACKOFF_SECONDS[min(self.failures, len(CHECK_BACKOFF_SECONDS) - 1)]
        self.failures += 1
        self.next_check = self.clock.now() + timedelta(seconds=delay)
        reason = str(err) if isinstance(err, SchemaNotCurrent) else f"cannot reach the database ({err})"
        log.error("not serving requests: %s; answering 503, next check in %d s", reason.splitlines()[0], delay)


def init_app(app: Flask, gate: SchemaGate | None) -> None:
    """Answer 503 while `gate` is closed (None: the caller vouches for the schema) and whenever a request
    finds the database away. Registered before every other request hook, which may read the database."""
    if gate is not None:
        app.extensions["aftersales.schema_gate"] = gate

        @app.before_request
        def wait_for_the_database():
            if request.endpoint == "static" or gate.passable():
                return None
            return unavailable()

    for error in UNREACHABLE:
        app.register_error_handler(error, _lost)
    app.register_error_handler(DatabaseBusy, lambda error: unavailable(busy=True))


def database_unavailable() -> bool:
    """Whether this request was answered 503 for the database (later hooks must not read it then)."""
    return bool(g.get("database_unavailable"))


def database_away(error: BaseException | None) -> bool:
    """Whether `error` says the database cannot be reached now (answered 503, retried), not that a query
    is wrong (a missing table, a bad statement: a fault, answered 500 and logged with its traceback)."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    if error.connection_invalidated:
        return True
    sqlstate = getattr(error.orig, "sqlstate", None)
    if error.orig is not None and type(error.orig).__module__.startswith("psycopg"):
        return sqlstate is None or sqlstate.startswith(AWAY_SQLSTATES)  # None: the connection itself failed
    return any(text in str(error.orig).lower() for text in AWAY_SQLITE_TEXTS)


def _lost(error: Exception) -> Response:
    if not database_away(error):
        current_app.log_exception(error)
        return current_app.handle_http_exception(InternalServerError(original_exception=error))
    if "database is locked" in str(error):  # SQLite: a change outside a command waited past the lock wait
        return unavailable(busy=True)
    log.warning("database unreachable during %s %s: %s", request.method, request.path, str(error).splitlines()[0])
    return unavailable()


def unavailable(busy: bool = False) -> Response:
    """503 with the message in the user's language: a page, or JSON under /api. `busy`: the database is
    there but other changes held it past the lock wait (SQLite); nothing of the action was saved."""
    g.database_unavailable = True
    message = (_("The system is busy saving other changes. Nothing of your action was saved; try again in a moment.")
               if busy else _("The database is unavailable for the moment. Please try again shortly."))
    if under_api():
        response = jsonify(code=503, status="Service Unavailable", message=message)
    else:
        # Rendered without the context processors: Flask-Login's would read the signed-in user from the database.
        page = current_app.jinja_env.get_template("unavailable.html")
        response = make_response(page.render(message=message, current_path=request.full_path.rstrip("?"),
                                             current_user=AnonymousUserMixin()))
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
