"""An auditor opens a case in the browser: bpmn.io's viewer draws the case's diagram with the elements
passed and the current ones marked, the bpmn.io watermark stays visible, and CSP lets everything run."""
from __future__ import annotations

from playwright.sync_api import expect

from engine import queries
from engine.outbox import FileTransport
from engine.service import WorkflowEngine
from handlers import build_registry
from tests.browser.test_feedback_in_browser import sign_in
from tests.webapp.conftest import FEEDBACK_FORM


def test_auditor_sees_the_path_taken_on_the_diagram(live_server, browser, screenshot, database, clock, outbox_file):
    # A case filed by Sales and confirmed by Quality, through the engine (another web process, say).
    engine = WorkflowEngine(database, build_registry(), clock=clock, transport=FileTransport(outbox_file))
    instance_id = engine.start_instance("quality_feedback", dict(FEEDBACK_FORM), "sales.li")
    [confirm] = [t for t in queries.list_tasks(engine.db, instance_id=instance_id)
                 if t.element_id == "Task_confirm_category"]
    engine.complete_task(confirm.id, "qa.wang", {"category": "important"})

    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"{msg.text} {msg.location.get('url')}")
            if msg.type in ("error", "warning") and not msg.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("pageerror", lambda err: problems.append(str(err)))
    sign_in(page, live_server, "audit.ma")
    page.goto(f"{live_server}/audit/instances/{instance_id}")
    diagram = page.locator("#case-diagram")
    expect(diagram).to_have_attribute("data-ready", "true", timeout=15000)

    for element_id in ("StartEvent_feedback", "Task_register_form", "Task_classify", "Task_confirm_category"):
        expect(page.locator(f'.djs-element.completed[data-element-id="{element_id}"]')).to_have_count(1)
    expect(page.locator('.djs-element.active[data-element-id="Task_register_samples"]')).to_have_count(1)
    expect(page.locator('.djs-element.active[data-element-id="Gateway_join_intake"]')).to_have_count(1)
    expect(page.locator('.djs-element.completed[data-element-id="Task_register_samples"]')).to_have_count(0)
    expect(page.locator(".bjs-powered-by")).to_be_visible()

    # The timeline with Quality's decision and the data after it.
    row = page.locator("tr.event.task_completed").first
    expect(row).to_contain_text("王强")
    row.locator("details.data-after summary").click()
    expect(row.locator("details.data-after dl")).to_be_visible()
    screenshot(page, "instance")
    assert problems == [], problems
