"""Sign-in security as a user and an auditor see it: lockout after repeated failures, the sign-in log,
changing one's own password under the policy, cookie flags and security headers."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from werkzeug.security import check_password_hash

from engine.accounts.sign_in import LoginQuery
from engine.settings import Settings
from tests.webapp.conftest import UserClient
from webapp import create_app
from webapp.demo import DEMO_PASSWORD, seed_demo_users

NEW_PASSWORD = "Hydraulic-valve-7"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0"


def client_from(app, ip: str = "10.1.2.3") -> UserClient:
    client = UserClient(app.test_client())
    client.client.environ_base.update({"REMOTE_ADDR": ip, "HTTP_USER_AGENT": BROWSER})
    return client


def log(app, **filters) -> list:
    return app.extensions["aftersales.sign_ins"].log(LoginQuery(**filters)).rows


def test_a_name_is_locked_after_five_failures_even_for_the_right_password_until_the_window_passes(app, clock):
    client = client_from(app)
    start = clock.now()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert client.login("qa.wang", "wrong-guess").status_code == 401
        clock.advance(timedelta(minutes=1))
    refused = client.login("qa.wang", DEMO_PASSWORD)
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    until = start + timedelta(minutes=app.config["LOGIN_LOCKOUT_MINUTES"])
    assert f'data-locked-until="{until.isoformat()}"' in page
    assert "2026-11-16 09:15:00" in page  # the message says until when, in Beijing time
    assert client.client.get("/inbox").status_code == 302  # not signed in
    assert client_from(app, "10.7.7.7").login("qa.wang", DEMO_PASSWORD).status_code == 429  # any computer
    assert as_other_user_works(app)

    clock.set(until)
    assert client.login("qa.wang", DEMO_PASSWORD).status_code == 302
    assert client.client.get("/inbox").status_code == 200
    outcomes = [row.outcome for row in log(app, username="qa.wang")]
    assert outcomes == ["signed_in", "locked_out", "locked_out", *["wrong_password"] * 5]


def as_other_user_works(app) -> bool:
    return client_from(app, "10.1.2.4").login("qa.chen").status_code == 302


def test_one_address_failing_across_many_names_is_refused(app):
    sprayer = client_from(app, "10.66.6.6")
    limit = app.config["LOGIN_MAX_FAILURES"] * 4
    for number in range(limit):
        assert sprayer.login(f"user{number}", "Summer2026!").status_code == 401
    assert sprayer.login("qa.wang", DEMO_PASSWORD).status_code == 429
    assert client_from(app, "10.1.2.3").login("qa.wang").status_code == 302  # from the user's own desk


def test_attempts_are_logged_with_address_and_browser(app, as_user):
    client_from(app, "10.1.2.3").login("nobody", "x")
    client = client_from(app, "10.1.2.3")
    client.login("qa.wang")
    client.page("/inbox")
    client.post("/logout")
    signed_out, signed_in, unknown = log(app)
    assert (unknown.username, unknown.outcome, unknown.ip, unknown.user_agent) == (
        "nobody", "unknown_user", "10.1.2.3", BROWSER)
    assert (signed_in.username, signed_in.outcome) == ("qa.wang", "signed_in")
    assert (signed_out.username, signed_out.outcome, signed_out.ip) == ("qa.wang", "signed_out", "10.1.2.3")


def test_an_expired_session_is_logged(app, clock):
    client = client_from(app)
    client.login("qa.wang")
    clock.advance(timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1))
    assert client.client.get("/inbox").status_code == 302
    assert [row.outcome for row in log(app)] == ["session_expired", "signed_in"]


def test_auditors_read_the_sign_in_log_with_filters_and_others_may_not(app, as_user, clock):
    client_from(app).login("qa.wang", "wrong-guess")
    clock.advance(timedelta(days=1))
    client_from(app).login("sales.li")
    auditor = as_user("audit.ma")
    page = auditor.text("/audit/logins")
    assert 'id="nav-sign-in-log"' in page
    assert page.count("data-login-event=") == 3  # sales.li, audit.ma signing in, and qa.wang's failure
    assert page.index('data-username="audit.ma"') < page.index('data-username="qa.wang"')  # newest first
    only_failures = auditor.text("/audit/logins?outcome=wrong_password")
    assert only_failures.count("data-login-event=") == 1 and 'data-username="qa.wang"' in only_failures
    by_name = auditor.text("/audit/logins?username=sales")
    assert by_name.count("data-login-event=") == 1 and 'data-username="sales.li"' in by_name
    yesterday = (clock.now() - timedelta(days=1)).strftime("%Y-%m-%d")
    first_day = auditor.text(f"/audit/logins?start={yesterday}&end={yesterday}")
    assert first_day.count("data-login-event=") == 1 and 'data-outcome="wrong_password"' in first_day
    assert auditor.page("/audit/logins?per_page=2&page=2").get_data(as_text=True).count("data-login-event=") == 1
    assert auditor.page("/audit/logins?outcome=hacked").status_code == 400
    assert auditor.page("/audit/logins?start=yesterday").status_code == 400
    assert as_user("admin").page("/audit/logins").status_code == 200

    worker = as_user("qa.wang")
    assert worker.page("/audit/logins").status_code == 403
    assert 'id="nav-sign-in-log"' not in worker.text("/inbox")
    assert app.test_client().get("/audit/logins").status_code == 302  # to the sign-in page


def change(user: UserClient, current: str, new: str, repeat: str | None = None):
    user.page("/account/password")
    return user.post("/account/password", {"current_password": current, "new_password": new,
                                           "repeat_password": new if repeat is None else repeat})


def errors_shown(response) -> list[str]:
    alert = response.get_data(as_text=True).split('role="alert"')[1].split("</div>")[0]
    return re.findall(r"<li>(.*?)</li>", alert)


def stored_hash(app, username: str) -> str:
    return app.extensions["aftersales.directory"].get(username).password_hash


def test_a_wrong_current_password_changes_nothing(app, as_user):
    user = as_user("qa.wang")
    before = stored_hash(app, "qa.wang")
    response = change(user, "not-my-password", NEW_PASSWORD)
    assert response.status_code == 422 and 'data-errors="1"' in response.get_data(as_text=True)
    assert stored_hash(app, "qa.wang") == before
    assert log(app)[0].outcome == "wrong_password"


def test_a_weak_or_mistyped_new_password_is_refused_with_every_rule_listed(app, as_user):
    user = as_user("qa.wang")
    before = stored_hash(app, "qa.wang")
    user.post("/language", {"language": "en", "next": "/account/password"})
    weak = change(user, DEMO_PASSWORD, "qa.wang!")
    assert weak.status_code == 422
    assert errors_shown(weak) == ["At least 10 characters.", "At least 3 of: upper-case letters, lower-case letters, "
                                  "digits, symbols.", "Must not contain your user name."]
    assert errors_shown(change(user, DEMO_PASSWORD, "Password123!")) == [
        "Must not be one of the most common passwords."]
    mistyped = change(user, DEMO_PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert mistyped.status_code == 422 and "differ" in mistyped.get_data(as_text=True)
    assert stored_hash(app, "qa.wang") == before


def test_a_password_change_needs_its_csrf_token(app, as_user):
    user = as_user("qa.wang")
    before = stored_hash(app, "qa.wang")
    response = user.post("/account/password", {"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD,
                                               "repeat_password": NEW_PASSWORD}, csrf=False)
    assert response.status_code == 400 and stored_hash(app, "qa.wang") == before


def test_a_good_new_password_works_from_then_on_and_is_audited(app, as_user):
    user = as_user("qa.wang")
    other_session = as_user("qa.wang")
    assert 'id="nav-change-password"' in user.text("/inbox")
    response = change(user, DEMO_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert check_password_hash(stored_hash(app, "qa.wang"), NEW_PASSWORD)
    assert user.client.get("/inbox").status_code == 200  # this session goes on
    assert other_session.client.get("/inbox").status_code == 302  # the user's other sessions end
    assert client_from(app).login("qa.wang", DEMO_PASSWORD).status_code == 401
    assert client_from(app).login("qa.wang", NEW_PASSWORD).status_code == 302
    changed = [row for row in log(app) if row.outcome == "password_changed"]
    assert [row.username for row in changed] == ["qa.wang"]


def test_security_headers_on_every_page_and_hsts_only_over_https(app, as_user):
    signed_in = as_user("qa.wang").client.get("/inbox")
    assert signed_in.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in signed_in.headers["Permissions-Policy"]
    assert signed_in.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in signed_in.headers
    static = app.test_client().get("/static/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
    assert "Permissions-Policy" in app.test_client().get("/login").headers


@pytest.fixture
def secure_app(engine):
    app = create_app(engine, {"TESTING": True, "SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": True})
    seed_demo_users(app.extensions["aftersales.directory"])
    return app


def test_with_secure_cookies_the_cookie_is_https_only_and_browsers_are_told_to_stay_on_https(secure_app, app):
    browser = UserClient(secure_app.test_client())
    browser.client.environ_base.update({"wsgi.url_scheme": "https", "HTTP_REFERER": "https://localhost/login"})
    response = browser.login("qa.wang")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert secure_app.config["REMEMBER_COOKIE_SECURE"] is True and secure_app.config["REMEMBER_COOKIE_HTTPONLY"]
    plain = UserClient(app.test_client()).login("qa.wang")
    assert "Secure" not in plain.headers["Set-Cookie"] and app.config["REMEMBER_COOKIE_SECURE"] is False


@pytest.fixture
def cli(database, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from webapp.cli import main

    monkeypatch.setenv("AFTERSALES_OUTBOX_FILE", str(tmp_path / "outbox.jsonl"))
    url = database.engine.url.render_as_string(hide_password=False)

    def run(*args: str):
        return CliRunner().invoke(main, ["--database-url", url, *args], catch_exceptions=False)
    return run


def test_the_command_line_refuses_a_weak_password_listing_every_rule_and_stores_nothing(cli, database):
    from engine.accounts.directory import Directory

    refused = cli("user", "add", "qa.li", "--name", "李强", "--department", "quality", "--password", "qa.li-abc")
    assert refused.exit_code == 2
    assert "at least 10 characters" in refused.output and "at least 3 of" in refused.output
    assert "user name" in refused.output and "nothing was stored" in refused.output
    assert Directory(database, None).get("qa.li") is None

    assert cli("user", "add", "qa.li", "--name", "李强", "--department", "quality",
               "--password", NEW_PASSWORD).exit_code == 0
    weak_reset = cli("user", "password", "qa.li", "--password", "123456")
    assert weak_reset.exit_code == 2 and "most common passwords" in weak_reset.output
    assert check_password_hash(Directory(database, None).get("qa.li").password_hash, NEW_PASSWORD)
    assert cli("user", "password", "nobody", "--password", "Gearbox-2026-x").exit_code == 2
    reset = cli("user", "password", "qa.li", "--password", "Gearbox-2026-x", "--as", "admin")
    assert reset.exit_code == 0, reset.output
    assert check_password_hash(Directory(database, None).get("qa.li").password_hash, "Gearbox-2026-x")


def test_the_limits_come_from_the_settings_the_app_is_built_with(engine):
    from engine.settings import Settings

    app = create_app(engine, {"TESTING": True, "SECRET_KEY": "test-secret"},
                     settings=Settings(login_max_failures=2, login_lockout_minutes=30, password_min_length=12))
    seed_demo_users(app.extensions["aftersales.directory"])
    assert (app.config["LOGIN_MAX_FAILURES"], app.config["PASSWORD_MIN_LENGTH"]) == (2, 12)
    client = client_from(app)
    for _ in range(2):
        assert client.login("qa.wang", "wrong-guess").status_code == 401
    assert client.login("qa.wang", DEMO_PASSWORD).status_code == 429


@pytest.mark.parametrize("proxies, recorded", [(0, "10.0.0.9"), (1, "203.0.113.7")])
def test_the_client_address_comes_from_a_trusted_proxy_only(app, engine, proxies, recorded):
    """Behind AFTERSALES_TRUSTED_PROXIES proxies the sign-in log and the per-address lockout see the client's
    address; without that setting a client cannot pick its address by sending X-Forwarded-For itself."""
    proxied = create_app(engine, {"TESTING": True, "SECRET_KEY": "test-secret"},
                         settings=Settings(trusted_proxies=proxies))
    client = client_from(proxied, "10.0.0.9")
    client.client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    client.login("qa.wang", "wrong-guess")
    [attempt] = log(proxied, username="qa.wang")
    assert (attempt.outcome, attempt.ip) == ("wrong_password", recorded)
