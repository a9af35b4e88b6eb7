"""The web app: department inbox, auditors' area, process owners' modeller and the REST API. Application factory."""
from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.accounts.directory import Directory
from engine.diagrams.catalog import MAX_DIAGRAM_BYTES
from engine.runtime.workflow_engine import WorkflowEngine
from engine.settings import Settings, load_settings


def create_app(engine: WorkflowEngine | None = None, config: dict[str, Any] | None = None,
               settings: Settings | None = None, *, check_schema: bool | None = None) -> Flask:
    """Build the app around one engine (built from the settings when not given).

    `settings` default to the environment (a bad value raises SettingsError naming the variable, so
    gunicorn stops at start); `config` overrides Flask settings afterwards (tests use it). The schema is
    checked (check_schema, default: when the engine is built here) as webapp.database_outage says: a
    schema behind this release raises SchemaNotCurrent, an unreachable database only defers the check."""
    settings = settings or load_settings()
    app = Flask(__name__, instance_path=settings.instance_path)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        # A signed-in user who does nothing for this long signs in again (checked against the engine's clock).
        SESSION_IDLE_MINUTES=settings.session_idle_minutes,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        INBOX_PAGE_SIZE=25,
        # A request body may carry the largest diagram the engine accepts, plus a form's envelope; a larger
        # one is refused (413) before it is read into memory.
        MAX_CONTENT_LENGTH=MAX_DIAGRAM_BYTES + 256 * 1024,
    )
    app.config.update(config or {})
    if settings.trusted_proxies:
        # Behind a TLS proxy: the client's address (sign-in log, per-address lockout) and https come from the
        # X-Forwarded-* headers the trusted proxies set, never from headers a client sends directly.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.secret_key or _instance_secret(app)

    if check_schema is None:
        check_schema = engine is None
    if engine is None:
        from webapp.composition import build_engine
        engine = build_engine(settings=settings, check_schema=False)
    from webapp import database_outage
    gate = database_outage.SchemaGate(engine.db, engine.clock) if check_schema else None
    if gate is not None:
        gate.check_at_start()
    database_outage.init_app(app, gate)
    app.extensions["aftersales.engine"] = engine
    app.extensions["aftersales.directory"] = Directory(engine.db, engine.clock)
    app.extensions["aftersales.settings"] = settings  # sign-in limits and password policy (webapp/auth.py)

    from webapp import (
        account,
        api,
        audit,
        auth,
        display,
        inbox,
        modeler,
        record_books,
        request_edge,
        security,
    )
    request_edge.init_app(app)
    security.init_app(app)
    display.init_app(app)
    auth.init_app(app)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(account.blueprint)
    app.register_blueprint(inbox.blueprint)
    record_books.init_app(app)
    app.register_blueprint(audit.blueprint)
    app.register_blueprint(modeler.blueprint)
    api.init_app(app)
    return app


def _instance_secret(app: Flask) -> str:
    """A secret key kept in the instance folder, so sessions survive a restart of the embedded server."""
    path = Path(app.instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
