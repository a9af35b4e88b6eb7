"""A user changes their password in the browser from the account menu; the new headers (Permissions-Policy,
Cross-Origin-Opener-Policy, no-store) cause no console errors; the new password signs in."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_feedback_in_browser import sign_in

NEW_PASSWORD = "Hydraulic-valve-7"


def test_a_user_changes_their_password_from_the_menu(live_server, browser, screenshot):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    problems: list[str] = []
    # The refused form answers 422, which Chromium reports on the console; anything else is a problem.
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type in ("error", "warning") and "status of 422" not in msg.text else None)
    page.on("pageerror", lambda err: problems.append(str(err)))
    sign_in(page, live_server, "qa.wang")
    page.click("#nav-change-password")
    page.fill("input[name=current_password]", "demo-2026")
    page.fill("input[name=new_password]", "Password123!")
    page.fill("input[name=repeat_password]", "Password123!")
    page.click("#change-password button.primary")
    expect(page.locator("[data-errors]")).to_have_attribute("data-errors", "1")  # a common password
    screenshot(page, "refused")
    page.fill("input[name=current_password]", "demo-2026")
    page.fill("input[name=new_password]", NEW_PASSWORD)
    page.fill("input[name=repeat_password]", NEW_PASSWORD)
    page.click("#change-password button.primary")
    expect(page.locator(".flash.success")).to_be_visible()
    page.locator("form[action='/logout'] button").click()
    page.fill("input[name=username]", "qa.wang")
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click("button.primary")
    expect(page.locator(".who")).to_have_attribute("data-user", "qa.wang")
    assert problems == []
