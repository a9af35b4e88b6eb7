"""API test helpers: a client that sends one user's personal API token, as the CRM or hotline system does."""
from __future__ import annotations

import pytest

from engine.accounts import api_tokens
from engine.storage.models import User


class ApiClient:
    def __init__(self, app, token: str | None) -> None:
        self.client = app.test_client()
        self.token = token

    def _headers(self, headers: dict | None) -> dict:
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        return sent

    def get(self, url: str, headers: dict | None = None, **kwargs):
        return self.client.get(url, headers=self._headers(headers), **kwargs)

    def post(self, url: str, json=None, headers: dict | None = None, **kwargs):
        if json is not None:
            kwargs["json"] = json
        return self.client.post(url, headers=self._headers(headers), **kwargs)


@pytest.fixture
def api(app, engine):
    """`api("qa.wang")` is a client with a fresh token of that demo user; `api(None)` sends no token."""
    def client(username: str | None) -> ApiClient:
        if username is None:
            return ApiClient(app, None)
        issued = api_tokens.issue(engine.db, engine.clock, username, "tests", "admin")
        return ApiClient(app, issued.token)
    return client


def deactivate(database, username: str) -> None:
    with database.sessions.begin() as session:
        session.get(User, username).active = False
