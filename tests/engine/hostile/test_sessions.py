"""A session ends on the server: a session cookie kept from before signing out, a password change or an
administrator's deactivation signs nobody in afterwards, and the person is told why in Chinese."""
from __future__ import annotations

import re

from click.testing import CliRunner
from flask.testing import FlaskClient

from engine.accounts.sign_in import LoginQuery
from tests.webapp.conftest import UserClient, app, as_user, engine  # noqa: F401  (fixtures)
from webapp.cli import main
from webapp.demo import DEMO_PASSWORD

ENDED = "您的会话已结束"  # the start of the message on the sign-in page
NEW_PASSWORD = "Hydraulic-valve-7"


def captured(user: UserClient) -> str:
    """The session cookie as someone copying it from the browser (or its traffic) would keep it."""
    return user.client.get_cookie("session").value


def replay(app, cookie: str) -> FlaskClient:  # noqa: F811
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


def refused(app, cookie: str) -> bool:  # noqa: F811
    """The copied cookie opens no page, and the sign-in page it lands on says the session has ended."""
    client = replay(app, cookie)
    response = client.get("/inbox")
    if response.status_code != 302 or "/login" not in response.headers["Location"]:
        return False
    return ENDED in client.get(response.headers["Location"]).get_data(as_text=True)


def outcomes(app, username: str) -> list[str]:  # noqa: F811
    return [row.outcome for row in app.extensions["aftersales.sign_ins"].log(LoginQuery(username=username)).rows]


def test_a_cookie_kept_from_before_signing_out_no_longer_opens_the_inbox(app, as_user):  # noqa: F811
    user = as_user("qa.wang")
    assert user.client.get("/inbox").status_code == 200
    cookie = captured(user)
    assert replay(app, cookie).get("/inbox").status_code == 200  # a copy works while signed in
    assert user.post("/logout").status_code == 302
    assert refused(app, cookie)
    assert replay(app, cookie).get("/audit/logins").status_code == 302
    assert outcomes(app, "qa.wang")[:3] == ["session_revoked", "session_revoked", "signed_out"]  # each replay
    # Signing in again gives a new session that works.
    again = UserClient(app.test_client())
    assert again.login("qa.wang").status_code == 302 and again.client.get("/inbox").status_code == 200


def test_signing_out_ends_the_users_sessions_in_every_browser(app, as_user):  # noqa: F811
    office, phone = as_user("qa.wang"), as_user("qa.wang")
    colleague = as_user("qa.chen")
    office.post("/logout")
    assert phone.client.get("/inbox").status_code == 302
    assert colleague.client.get("/inbox").status_code == 200  # nobody else is signed out


def test_a_password_change_ends_older_cookies_and_says_why(app, as_user):  # noqa: F811
    user = as_user("qa.wang")
    before = captured(user)
    other = captured(as_user("qa.wang"))
    user.page("/account/password")
    assert user.post("/account/password", {"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD,
                                           "repeat_password": NEW_PASSWORD}).status_code == 302
    assert user.client.get("/inbox").status_code == 200  # the session that changed it goes on
    assert refused(app, before) and refused(app, other)


def test_an_administrators_deactivation_ends_the_session_and_reactivation_does_not_revive_it(
        app, as_user, database):  # noqa: F811
    user = as_user("qa.wang")
    cookie = captured(user)
    url = database.engine.url.render_as_string(hide_password=False)

    def cli(*args: str):
        return CliRunner().invoke(main, ["--database-url", url, "user", *args], catch_exceptions=False)

    deactivated = cli("deactivate", "qa.wang", "--as", "admin")
    assert deactivated.exit_code == 0, deactivated.output
    assert refused(app, cookie)
    assert UserClient(app.test_client()).login("qa.wang").status_code == 401
    assert cli("activate", "qa.wang", "--as", "admin").exit_code == 0
    assert refused(app, cookie)  # the old cookie stays worthless
    assert UserClient(app.test_client()).login("qa.wang").status_code == 302
    assert cli("deactivate", "nobody").exit_code == 2
    listed = cli("list").output
    assert re.search(r"^qa\.wang .*$", listed, re.M) and "(inactive)" not in listed
