"""Guessing API tokens is neither silent nor fast: every refused token is in the sign-in log auditors read
(/audit/logins), and an address that keeps sending wrong tokens gets 429 with a clear message until the
window has passed (the same limit and window as an address's failed sign-ins)."""
from __future__ import annotations

import secrets
from datetime import timedelta

from engine.accounts import api_tokens
from tests.webapp.api_client import ApiClient, api  # noqa: F401  (fixture)
from tests.webapp.conftest import app, as_user, engine  # noqa: F401  (fixtures)

ATTACKER = {"REMOTE_ADDR": "10.66.6.6"}
CRM = {"REMOTE_ADDR": "10.1.2.3"}


def guess() -> str:
    return api_tokens.TOKEN_PREFIX + secrets.token_urlsafe(32)


def call(app, token: str, address: dict):  # noqa: F811
    return ApiClient(app, token).client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"},
                                            environ_base=address)


def test_random_tokens_are_refused_logged_and_then_throttled(app, api, as_user, clock):  # noqa: F811
    limit = app.config["LOGIN_MAX_FAILURES"] * 4
    guesses = [guess() for _ in range(limit)]
    assert [call(app, token, ATTACKER).status_code for token in guesses] == [401] * limit
    throttled = call(app, guess(), ATTACKER)
    assert throttled.status_code == 429
    assert "Too many refused API tokens" in throttled.get_json()["message"]
    assert "2026-11-16 09:15:00" in throttled.get_json()["message"]  # until when, in Beijing time
    assert int(throttled.headers["Retry-After"]) == 15 * 60 + 1

    # The auditor sees every refused token with the address, never more of a token than its prefix.
    auditor = as_user("audit.ma")
    page = auditor.text("/audit/logins?outcome=api_token_refused&per_page=500")
    assert page.count('data-outcome="api_token_refused"') == limit
    assert "10.66.6.6" in page and guesses[0][:10] in page and guesses[0][10:20] not in page

    # Another address (the CRM with its own valid token) is not affected; the attacker's is, even with a
    # valid token, until the window has passed.
    crm = api("sales.li")
    assert call(app, crm.token, CRM).status_code == 200
    assert call(app, crm.token, ATTACKER).status_code == 429
    clock.advance(timedelta(minutes=15, seconds=1))
    assert call(app, crm.token, ATTACKER).status_code == 200


def test_a_revoked_token_is_logged_by_its_prefix(app, api, engine, as_user):  # noqa: F811
    client = api("sales.li")
    [row] = api_tokens.list_tokens(engine.db, "sales.li")
    api_tokens.revoke(engine.db, engine.clock, row.id, "sales.li")
    assert call(app, client.token, CRM).status_code == 401
    assert call(app, "not-a-token-at-all", CRM).status_code == 401
    log = app.extensions["aftersales.sign_ins"]
    from engine.accounts.sign_in import LoginQuery
    refused = log.log(LoginQuery(outcome="api_token_refused")).rows
    assert [(r.username, r.ip) for r in refused] == [("?", "10.1.2.3"), (row.prefix, "10.1.2.3")]
    # The owner recognises the token on their list by that prefix.
    assert row.prefix in as_user("sales.li").text("/account/tokens")
