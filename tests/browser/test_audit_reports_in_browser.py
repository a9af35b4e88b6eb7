"""An auditor filters the case list and reads the report charts in Chromium: the bars are drawn (inline
SVG, no script) under the page's Content-Security-Policy without console errors."""
from __future__ import annotations

from datetime import timedelta

from engine.notifications.outbox import FileTransport
from engine.runtime.workflow_engine import WorkflowEngine
from handlers import build_registry
from tests.browser.test_feedback_in_browser import sign_in
from tests.processes.conftest import Case
from tests.processes.test_service_response import service_request


def test_auditor_reads_the_case_list_and_the_report_charts(live_server, browser, screenshot, database, clock,
                                                           outbox_file):
    engine = WorkflowEngine(database, build_registry(), clock=clock, transport=FileTransport(outbox_file))
    answered = Case(engine, engine.start_instance("service_response", service_request(), "svc.huang"))
    missed = engine.start_instance("service_response", service_request(customer="苏州安达精密"), "svc.huang")
    clock.advance(timedelta(minutes=2))
    answered.complete("Task_first_response", "svc.huang", first_response="您好", request_type="consultation",
                      urgency="general", urgency_basis="一般咨询")
    clock.advance(timedelta(minutes=4))
    engine.fire_due_timers()

    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    missing: list[str] = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    sign_in(page, live_server, "audit.ma")
    page.goto(f"{live_server}/audit/instances")
    page.select_option("select[name=sla]", "breached")
    page.click("form.filters button[type=submit]")
    rows = page.locator("tr[data-instance-id]")
    assert rows.count() == 1 and rows.first.get_attribute("data-instance-id") == str(missed)
    assert "苏州安达精密" in rows.first.inner_text()
    screenshot(page, "case-list")

    page.goto(f"{live_server}/audit/reports")
    bar = page.locator("#sla_by_department svg.chart rect.bar").first
    box = bar.bounding_box()
    assert box and box["width"] > 100  # one limit met, one missed: half the track
    assert page.locator("#sla_by_department svg.chart g.bar-row").first.get_attribute("data-value") == "50"
    screenshot(page, "reports")
    # The browser's own favicon request is the only thing missing; no CSP or script error.
    assert all(url.endswith("/favicon.ico") for url in missing)
    assert [p for p in problems if "404" not in p] == []
