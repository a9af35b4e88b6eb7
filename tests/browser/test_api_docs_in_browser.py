"""A user creates an API token on their account page, opens the API docs (vendored Swagger UI), authorizes
with the token and calls the API from the page; no CSP violation or script error on the way."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_feedback_in_browser import sign_in


def test_token_page_and_swagger_docs(live_server, browser, screenshot):
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"{msg.text} {msg.location.get('url')}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda err: problems.append(str(err)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    sign_in(page, live_server, "qa.wang")
    page.goto(f"{live_server}/account/tokens")
    page.fill("input[name=name]", "质量看板")
    page.click("button.primary")
    token = page.locator("#new-token").inner_text()
    assert token.startswith("asw_")
    expect(page.locator("table.tokens")).to_contain_text("质量看板")
    screenshot(page, "token-created")

    page.goto(f"{live_server}/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("After-sales workflow API")
    expect(page.locator(".opblock")).to_have_count(14)
    page.click("button.authorize")
    page.fill(".auth-container input", token)
    page.click(".auth-btn-wrapper button.authorize")
    page.click("button.btn-done")

    tasks = page.locator(".opblock-get", has=page.locator('[data-path="/api/v1/tasks"]'))
    tasks.locator(".opblock-summary").click()
    tasks.locator("button.try-out__btn").click()
    tasks.locator("button.execute").click()
    status = tasks.locator(".live-responses-table tbody .response-col_status").first
    expect(status).to_have_text(re.compile(r"200"))
    expect(tasks.locator(".live-responses-table .microlight").first).to_contain_text('"total"')
    screenshot(page, "swagger-call")
    assert [p for p in problems if not p.endswith("/favicon.ico")] == [], problems  # the app has no icon
