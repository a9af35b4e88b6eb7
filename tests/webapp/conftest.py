"""Web app fixtures: the app around a real engine and database, demo users, and a signed-in client helper."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from engine.accounts.directory import Directory
from engine.notifications.outbox import FileTransport
from engine.records import queries
from engine.runtime.workflow_engine import WorkflowEngine
from handlers import build_registry
from tests.conftest import deploy_every_diagram
from webapp import create_app
from webapp.demo import DEMO_PASSWORD, seed_demo_users

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

FEEDBACK_FORM = {
    "customer": "杭州精工机械有限公司", "product_name": "液压阀", "spec_model": "HV-200", "batch_no": "B2611-07",
    "quantity_shipped": "500", "quantity_nonconforming": "150", "characteristic": "key",
    "consequence": "batch_return", "problem_description": "阀芯卡滞，批量退货",
    "improvement_request": "请分析原因并整改",
}


@pytest.fixture
def engine(database, clock, outbox_file, database_snapshots) -> WorkflowEngine:
    engine = WorkflowEngine(database, build_registry(), clock=clock, transport=FileTransport(outbox_file))
    deploy_every_diagram(engine, database_snapshots, "test")
    return engine


@pytest.fixture
def app(engine, tmp_path, database_snapshots):
    app = create_app(engine, {"TESTING": True, "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": True,
                              "INBOX_PAGE_SIZE": 25})
    database_snapshots.replay(engine.db, f"demo users seeded at {engine.clock.now().isoformat()}",
                              lambda: seed_demo_users(app.extensions["aftersales.directory"]))
    return app


class UserClient:
    """A test client that signs in as one user and sends forms with their CSRF token, as a browser does."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token: str | None = None

    def page(self, url: str, **kwargs):
        response = self.client.get(url, **kwargs)
        match = CSRF.search(response.get_data(as_text=True))
        if match:
            self.token = match.group(1)
        return response

    def post(self, url: str, data: dict | None = None, csrf: bool = True, **kwargs):
        if self.token is None:
            self.page("/inbox" if self.client.get("/inbox").status_code == 200 else "/login")
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.token
        return self.client.post(url, data=form, **kwargs)

    def login(self, username: str, password: str = DEMO_PASSWORD):
        self.page("/login")
        response = self.post("/login", {"username": username, "password": password})
        if response.status_code == 302:
            self.token = None  # a new session on sign-in: the next page gives the new token
        return response

    def text(self, url: str) -> str:
        return self.page(url).get_data(as_text=True)


@pytest.fixture
def as_user(app) -> Iterator:
    """`as_user("qa.wang")` gives a client signed in as that demo user (each with its own cookies)."""
    def sign_in(username: str) -> UserClient:
        client = UserClient(app.test_client())
        response = client.login(username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client
    yield sign_in


@pytest.fixture
def filed_case(engine):
    """A feedback form filed by Sales (李娜): the case waits for Quality to confirm the category."""
    instance_id = engine.start_instance("quality_feedback", dict(FEEDBACK_FORM), "sales.li")
    return instance_id


from tests.webapp.api_client import api  # noqa: E402,F401  (fixture: a client with a demo user's API token)

SLA_DEMO = Path(__file__).parents[1] / "engine" / "diagrams" / "sla_demo.bpmn"


def sla_demo_with_a_met_and_a_missed_limit(engine: WorkflowEngine, clock) -> int:
    """qa.wang meets the 24-hour limit; the 1-hour closing limit is then missed by nobody in particular."""
    seed_demo_users(Directory(engine.db, engine.clock))  # none yet on an engine without the web app
    engine.deploy(SLA_DEMO.read_bytes(), "owner.xu")
    case = engine.start_instance("sla_demo", {"customer": "华东机电"}, "svc.huang")
    [solve] = queries.list_tasks(engine.db, instance_id=case)
    engine.claim_task(solve.id, "qa.wang")
    engine.complete_task(solve.id, "qa.wang", {"solution": "换件", "needs_customer_info": False})
    clock.advance(timedelta(hours=1, seconds=1))
    engine.fire_due_timers()
    return case
