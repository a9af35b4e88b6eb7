"""An auditor opens a case in the browser: bpmn.io's viewer draws the case's diagram with the elements
passed and the current ones marked, the bpmn.io watermark stays visible, and CSP lets everything run."""
from __future__ import annotations

from playwright.sync_api import expect

from engine.notifications.outbox import FileTransport
from engine.records import queries
from engine.runtime.workflow_engine import WorkflowEngine
from handlers import build_registry
from tests.browser.test_feedback_in_browser import sign_in
from tests.processes.test_quality_feedback import file_feedback, walk_important_to_change
from tests.webapp.conftest import FEEDBACK_FORM


def engine_beside(database, clock, outbox_file) -> WorkflowEngine:
    """An engine on the live server's database, as another web process or the worker would be."""
    return WorkflowEngine(database, build_registry(), clock=clock, transport=FileTransport(outbox_file))


def open_case(browser, base: str, instance_id: int, problems: list[str]):
    """The auditor's page of a case once the viewer has drawn it; console errors and CSP refusals
    (the browser reports them on the console) are collected in `problems`."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.on("console", lambda msg: problems.append(f"{msg.text} {msg.location.get('url')}")
            if msg.type in ("error", "warning") and not msg.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("pageerror", lambda err: problems.append(str(err)))
    sign_in(page, base, "audit.ma")
    page.goto(f"{base}/audit/instances/{instance_id}")
    expect(page.locator("#case-diagram")).to_have_attribute("data-ready", "true", timeout=15000)
    return page


def test_auditor_sees_the_path_taken_on_the_diagram(live_server, browser, screenshot, database, clock, outbox_file):
    # A case filed by Sales and confirmed by Quality, through the engine (another web process, say).
    engine = engine_beside(database, clock, outbox_file)
    instance_id = engine.start_instance("quality_feedback", dict(FEEDBACK_FORM), "sales.li")
    [confirm] = [t for t in queries.list_tasks(engine.db, instance_id=instance_id)
                 if t.element_id == "Task_confirm_category"]
    engine.complete_task(confirm.id, "qa.wang", {"category": "important"})

    problems: list[str] = []
    page = open_case(browser, live_server, instance_id, problems)

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


def test_a_reworked_step_shows_how_often_it_was_passed(live_server, browser, screenshot, database, clock,
                                                        outbox_file):
    case = file_feedback(engine_beside(database, clock, outbox_file))
    walk_important_to_change(case)
    case.complete("Task_issue_change_notice", "dev.liu", change_content="轴承改用 C3 游隙",
                  effective_date="2026-11-20", tooling_required=False)
    for round_no in (1, 2):
        case.complete("Task_rework_stock", "prod.zhou", disposition=f"第{round_no}次返工", rework_quantity=1)
        case.complete("Task_spot_check", "qa.wang", spot_check_result="fail", spot_check_remarks="仍有异响")

    problems: list[str] = []
    page = open_case(browser, live_server, case.id, problems)
    expect(page.locator('.djs-element.completed[data-element-id="Task_spot_check"]')).to_have_count(1)
    expect(page.locator('.djs-element.active[data-element-id="Task_rework_stock"]')).to_have_count(1)
    counts = page.locator('.djs-overlays[data-container-id="Task_rework_stock"] .visit-count')
    expect(counts).to_have_text("×2")
    expect(page.locator('.djs-overlays[data-container-id="Task_spot_check"] .visit-count')).to_have_text("×2")
    screenshot(page, "reworked")
    assert problems == [], problems


def test_a_diagram_whose_documentation_redirects_is_drawn_and_downloaded_never_rendered(
        live_server, browser, database, clock, outbox_file):
    """Issue 18: an XHTML meta refresh in a diagram's documentation. The viewer still draws the case, and
    opening the diagram's address downloads the file instead of showing it (the browser stays here)."""
    from tests.webapp.test_diagram_downloads import with_refresh_in_documentation

    engine = engine_beside(database, clock, outbox_file)
    engine.deploy(with_refresh_in_documentation(), "owner.xu", "quality_feedback.bpmn")
    instance_id = engine.start_instance("quality_feedback", dict(FEEDBACK_FORM), "sales.li")

    problems: list[str] = []
    page = open_case(browser, live_server, instance_id, problems)
    expect(page.locator('.djs-element.completed[data-element-id="StartEvent_feedback"]')).to_have_count(1)
    assert problems == [], problems

    visited: list[str] = []
    page.route("https://attacker.example/**", lambda route: (visited.append(route.request.url), route.abort()))
    viewer_address = page.url
    with page.expect_download() as download:
        page.evaluate("url => { window.location.href = url; }", f"{live_server}/audit/instances/{instance_id}/diagram.bpmn")
    assert download.value.suggested_filename == f"case-{instance_id}.bpmn"
    assert page.url == viewer_address and visited == []
