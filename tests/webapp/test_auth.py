"""Signing in and out, CSRF on every form, idle sessions expiring, the language choice."""
from __future__ import annotations

from datetime import timedelta

from engine.accounts import api_tokens
from engine.records import queries
from tests.webapp.conftest import UserClient


def test_pages_need_a_signed_in_user(app):
    client = app.test_client()
    for url in ("/inbox", "/new", "/tasks/1", "/new/quality_feedback"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


def test_wrong_password_and_unknown_user_are_refused_alike(app):
    client = UserClient(app.test_client())
    for username, password in (("qa.wang", "wrong"), ("nobody", "demo-2026")):
        response = client.login(username, password)
        assert response.status_code == 401
        assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.client.get("/inbox").status_code == 302


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(app):
    client = UserClient(app.test_client())
    client.page("/login")
    response = client.post("/login?next=/new", {"username": "sales.li", "password": "demo-2026"})
    assert response.headers["Location"] == "/new"
    other = UserClient(app.test_client())
    other.page("/login")
    response = other.post("/login?next=https://evil.example/x", {"username": "sales.li", "password": "demo-2026"})
    assert response.headers["Location"] == "/"


def test_each_role_lands_where_its_work_is(as_user):
    assert as_user("sales.li").client.get("/").headers["Location"] == "/inbox"
    assert as_user("audit.ma").client.get("/").headers["Location"] == "/audit/instances"
    assert as_user("owner.xu").client.get("/").headers["Location"] == "/modeler/"


def test_sign_out_is_a_post_with_csrf(as_user):
    user = as_user("qa.wang")
    assert user.client.get("/logout").status_code == 405
    assert user.post("/logout", csrf=False).status_code == 400
    assert user.client.get("/inbox").status_code == 200
    assert user.post("/logout").status_code == 302
    assert user.client.get("/inbox").status_code == 302


def test_a_form_without_its_csrf_token_changes_nothing(engine, as_user, filed_case):
    quality = as_user("qa.wang")
    task = queries.list_tasks(engine.db, department="quality")[0]
    response = quality.post(f"/tasks/{task.id}/complete", {"category": "important"}, csrf=False)
    assert response.status_code == 400
    assert "表单已失效" in response.get_data(as_text=True)
    response = quality.post(f"/tasks/{task.id}/claim", csrf=False)
    assert response.status_code == 400
    after = queries.get_task(engine.db, task.id)
    assert after.state == "open" and after.claimed_by is None
    sales = as_user("sales.li")
    assert sales.post("/new/quality_feedback", {"customer": "x"}, csrf=False).status_code == 400
    assert len(queries.list_instances(engine.db)) == 1


def test_an_idle_session_expires(app, as_user, clock):
    user = as_user("qa.wang")
    clock.advance(timedelta(minutes=119))
    assert user.client.get("/inbox").status_code == 200  # activity renews the idle time
    clock.advance(timedelta(minutes=119))
    assert user.client.get("/inbox").status_code == 200
    clock.advance(timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1))
    response = user.client.get("/inbox")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "登录已过期" in user.text("/login")
    assert user.client.get("/inbox").status_code == 302  # signed out, not just redirected once


def test_an_idle_browser_session_does_not_stop_token_calls_from_the_same_browser(app, engine, as_user, clock):
    """Swagger UI's "Try it out" runs in a browser that may hold an idle session: the token decides."""
    user = as_user("qa.wang")
    token = api_tokens.issue(engine.db, engine.clock, "qa.wang", "swagger", "qa.wang").token
    clock.advance(timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1))
    response = user.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json["items"] == []
    assert user.client.get("/inbox").status_code == 302  # the idle page session still ends


def test_chinese_by_default_english_on_request(as_user):
    user = as_user("qa.wang")
    page = user.text("/inbox")
    assert "我的任务" in page and 'lang="zh-CN"' in page
    response = user.post("/language", {"language": "en", "next": "/inbox"})
    assert response.headers["Location"] == "/inbox"
    page = user.text("/inbox")
    assert "My tasks" in page and "我的任务" not in page
    user.post("/language", {"language": "zh", "next": "/inbox"})
    assert "我的任务" in user.text("/inbox")


def test_security_headers(as_user):
    response = as_user("qa.wang").client.get("/inbox")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_session_cookie_is_http_only(app):
    client = UserClient(app.test_client())
    response = client.login("qa.wang")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_language_chosen_on_the_sign_in_page_stays_after_signing_in(app):
    client = UserClient(app.test_client())
    client.page("/login")
    client.post("/language", {"language": "en", "next": "/login"})
    assert "Sign in" in client.text("/login")
    client.login("qa.wang")
    assert "My tasks" in client.text("/inbox")
