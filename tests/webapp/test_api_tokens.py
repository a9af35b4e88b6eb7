"""Personal API tokens: stored hashed, shown once, revoked at once; the account page and the CLI."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from engine.accounts import api_tokens
from engine.storage.models import ApiToken
from tests.webapp.api_client import ApiClient
from webapp.cli import main

TOKEN_ON_PAGE = re.compile(r'<code id="new-token">(asw_[^<]+)</code>')


def test_only_the_hash_and_a_prefix_are_stored_and_use_is_recorded(engine, app, database, clock, as_user):
    issued = api_tokens.issue(engine.db, clock, "qa.wang", "quality desk", "qa.wang")
    with database.sessions() as session:
        row = session.scalar(select(ApiToken))
        assert row.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
        assert issued.token not in (row.token_hash, row.prefix, row.name)
        assert issued.token.startswith(row.prefix) and len(row.prefix) == 10
    assert api_tokens.verify(engine.db, clock, issued.token).username == "qa.wang"
    clock.advance(timedelta(minutes=5))
    ApiClient(app, issued.token).get("/api/v1/tasks")
    [listed] = api_tokens.list_tokens(engine.db, "qa.wang")
    assert listed.last_used_at == clock.now() and listed.active
    api_tokens.revoke(engine.db, clock, issued.id, "qa.wang")
    assert api_tokens.verify(engine.db, clock, issued.token) is None
    assert ApiClient(app, issued.token).get("/api/v1/tasks").status_code == 401


def test_a_user_creates_a_token_on_the_account_page_sees_it_once_and_revokes_it(app, as_user):
    quality = as_user("qa.wang")
    assert "API tokens" in quality.text("/inbox") or "/account/tokens" in quality.text("/inbox")
    created = quality.post("/account/tokens", {"name": "质量部看板"})
    assert created.status_code == 201
    page = created.get_data(as_text=True)
    token = TOKEN_ON_PAGE.search(page).group(1)
    assert "质量部看板" in page
    assert ApiClient(app, token).get("/api/v1/tasks").status_code == 200
    again = quality.text("/account/tokens")
    assert token not in again and token[:10] in again  # only the prefix from now on
    token_id = int(re.search(r'data-token="(\d+)"', again).group(1))

    other = as_user("qa.chen")
    assert other.post(f"/account/tokens/{token_id}/revoke").status_code == 404  # not theirs
    assert ApiClient(app, token).get("/api/v1/tasks").status_code == 200
    revoked = quality.post(f"/account/tokens/{token_id}/revoke")
    assert revoked.status_code == 302
    assert ApiClient(app, token).get("/api/v1/tasks").status_code == 401
    assert quality.post("/account/tokens", {"name": ""}).status_code == 422
    assert quality.post("/account/tokens", {"name": "x"}, csrf=False).status_code == 400  # forms keep CSRF


def test_the_token_page_needs_a_signed_in_user(app):
    response = app.test_client().get("/account/tokens")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_tokens_from_the_shell(app, engine, database):
    url = database.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    created = runner.invoke(main, ["--database-url", url, "token", "create", "qa.wang", "--name", "CRM"])
    assert created.exit_code == 0 and "shown only now" in created.output
    token = created.output.strip().splitlines()[-1]
    assert api_tokens.verify(engine.db, engine.clock, token).username == "qa.wang"
    listed = runner.invoke(main, ["--database-url", url, "token", "list", "qa.wang"])
    assert "CRM" in listed.output and "active" in listed.output and token not in listed.output
    token_id = api_tokens.list_tokens(engine.db, "qa.wang")[0].id
    revoked = runner.invoke(main, ["--database-url", url, "token", "revoke", str(token_id)])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert api_tokens.verify(engine.db, engine.clock, token) is None
    unknown = runner.invoke(main, ["--database-url", url, "token", "create", "nobody", "--name", "x"])
    assert unknown.exit_code == 2 and "no active user 'nobody'" in unknown.output
