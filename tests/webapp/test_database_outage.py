"""The web app survives its database going away (issue 18, item 4): a worker starting while the database
cannot be reached boots anyway and answers 503 with a message in the user's language, a database lost
while serving is answered 503 (never 500), and the app serves again by itself once the database is back.
A schema that is really behind still keeps the app from serving until `aftersales db upgrade`.
The outage is real (tests/database_outage.py): PostgreSQL refuses connections, or the SQLite file is gone."""
from __future__ import annotations

import logging
from datetime import timedelta

from engine.runtime.workflow_engine import WorkflowEngine
from tests.webapp.conftest import UserClient
from webapp import create_app
from webapp.composition import build_engine
from webapp.database_outage import CHECK_BACKOFF_SECONDS
from webapp.demo import seed_demo_users

UNAVAILABLE_ZH = "数据库暂时不可用，请稍后重试。"
UNAVAILABLE_EN = "The database is unavailable for the moment. Please try again shortly."
# Not TESTING: errors are handled as in production (Flask re-raises them in testing mode).
CONFIG = {"SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": True}


def engine_on(url: str, clock) -> WorkflowEngine:
    """The engine a web worker builds from its settings, on the injected clock."""
    return build_engine(url, clock=clock, check_schema=False)


def assert_unavailable(response, message: str = UNAVAILABLE_ZH) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"
    if response.is_json:
        assert response.json == {"code": 503, "status": "Service Unavailable", "message": message}
    else:
        assert message in response.get_data(as_text=True)


def test_a_worker_starting_while_the_database_is_away_boots_answers_503_and_recovers(outage, clock):
    outage.begin()
    engine = engine_on(outage.app_url, clock)
    app = create_app(engine, CONFIG, check_schema=True)  # what failed the worker's boot before: no exception
    browser = app.test_client()

    assert_unavailable(browser.get("/login"))
    assert_unavailable(browser.post("/login", data={"username": "admin", "password": "x"}))
    assert_unavailable(app.test_client().get("/api/v1/tasks", headers={"Authorization": "Bearer asw_x"}))
    english = app.test_client()
    with english.session_transaction() as session:
        session["language"] = "en"
    assert_unavailable(english.get("/inbox"), UNAVAILABLE_EN)
    assert browser.get("/static/app.css").status_code == 200  # the page's own style needs no database

    clock.advance(timedelta(seconds=CHECK_BACKOFF_SECONDS[0]))
    assert_unavailable(browser.get("/login"))  # checked again, still away: the next check waits longer
    outage.end()
    clock.advance(timedelta(seconds=CHECK_BACKOFF_SECONDS[1] - 1))
    assert_unavailable(browser.get("/login"))  # back, but the back-off step has not passed: not checked
    clock.advance(timedelta(seconds=1))
    assert browser.get("/login").status_code == 200
    seed_demo_users(app.extensions["aftersales.directory"])
    user = UserClient(app.test_client())
    assert user.login("qa.wang").status_code == 302 and user.page("/inbox").status_code == 200
    engine.db.dispose()


def test_gunicorns_create_app_from_the_environment_boots_while_the_database_is_away(outage, monkeypatch):
    """`webapp:create_app()` as gunicorn calls it: the worker boots (it used to exit with code 3)."""
    monkeypatch.setenv("DATABASE_URL", outage.app_url)
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", "test-secret-" + "x" * 32)
    outage.begin()
    app = create_app()
    assert_unavailable(app.test_client().get("/inbox"))
    app.extensions["aftersales.engine"].db.dispose()


def test_a_database_lost_while_serving_is_503_never_500_and_serving_resumes(outage, clock):
    engine = engine_on(outage.app_url, clock)
    app = create_app(engine, CONFIG, check_schema=True)
    seed_demo_users(app.extensions["aftersales.directory"])
    quality = UserClient(app.test_client())
    assert quality.login("qa.wang").status_code == 302
    assert quality.page("/inbox").status_code == 200
    from engine.accounts import api_tokens
    token = api_tokens.issue(engine.db, engine.clock, "qa.wang", "outage", "admin").token
    api = app.test_client()
    visitor = UserClient(app.test_client())
    visitor.page("/login")

    outage.begin(engine.db)
    assert_unavailable(quality.page("/inbox"))  # the signed-in user cannot even be read
    assert_unavailable(quality.page("/audit/instances"))
    assert_unavailable(visitor.post("/login", {"username": "qa.wang", "password": "demo-2026"}))
    assert_unavailable(quality.client.post("/logout"))  # no CSRF token: even the refusal page needs the user
    assert_unavailable(api.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}))

    outage.end()
    assert quality.page("/inbox").status_code == 200  # same session, no restart
    assert api.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    engine.db.dispose()


def test_a_schema_found_behind_once_the_database_answers_is_not_served_until_upgraded(outage, database, clock,
                                                                                       caplog):
    database.drop_schema()
    outage.begin()
    engine = engine_on(outage.app_url, clock)
    app = create_app(engine, CONFIG, check_schema=True)
    outage.end()
    clock.advance(timedelta(seconds=CHECK_BACKOFF_SECONDS[0]))
    with caplog.at_level(logging.ERROR, logger="webapp.database_outage"):
        assert_unavailable(app.test_client().get("/login"))
    assert "The database is not migrated" in caplog.text and "run `aftersales db upgrade`" in caplog.text

    database.create_schema()  # what `aftersales db upgrade` does
    clock.advance(timedelta(seconds=CHECK_BACKOFF_SECONDS[1]))
    assert app.test_client().get("/login").status_code == 200
    engine.db.dispose()


def test_a_wrong_query_is_a_fault_logged_with_its_traceback_not_a_database_away(as_user, engine, monkeypatch,
                                                                                caplog):
    """A missing table or a bad statement is an OperationalError too, but no outage: answered 500 (the
    Chinese page that says to tell the administrator) and logged, never a 503 "try again" that would hide
    it forever."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from webapp import inbox
    wang = as_user("qa.wang")

    def broken(*args, **kwargs):
        raise OperationalError("SELECT * FROM human_tasks", {}, sqlite3.OperationalError("no such table: human_tasks"))
    monkeypatch.setattr(inbox, "list_inbox", broken)
    with caplog.at_level(logging.ERROR):
        response = wang.page("/inbox")
    assert response.status_code == 500
    assert "出错了" in response.get_data(as_text=True) and "human_tasks" not in response.get_data(as_text=True)
    assert any(record.exc_info for record in caplog.records)
