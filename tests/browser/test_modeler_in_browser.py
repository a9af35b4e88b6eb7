"""A process owner changes a time limit in the served bpmn.io modeller and deploys it; a case started
afterwards runs on the new version with the new limit. A bad value is refused next to the diagram."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from engine.notifications.outbox import FileTransport
from engine.records import queries
from engine.runtime.workflow_engine import WorkflowEngine
from handlers import build_registry
from tests.browser.test_feedback_in_browser import sign_in

CONSULTATION_FORM = {"customer": "华东机电有限公司", "contact": "王经理 138-0000-1234", "contact_email": None,
                     "device_model": "JZ-200", "serial_no": "JZ200-2026-0815", "channel": "phone",
                     "question": "更换刀具后主轴报警 E21 如何复位？"}
TIMER = '.djs-element[data-element-id="Timer_answer"]'
TIMER_VALUE = "#bio-properties-panel-timerEventDefinitionValue"


def change_timer(page, value: str) -> None:
    if page.locator(f"{TIMER}.selected").count() == 0:
        page.click(TIMER)
    expect(page.locator(".bio-properties-panel-header-label")).to_contain_text("30分钟")
    group = page.locator('[data-group-id="group-timer"]')
    if not group.locator(TIMER_VALUE).is_visible():
        group.locator(".bio-properties-panel-group-header").click()
    field = page.locator(TIMER_VALUE)
    field.fill(value)
    field.press("Tab")
    expect(field).to_have_value(value)


def test_process_owner_changes_a_limit_in_the_modeller_and_new_cases_use_it(live_server, browser, screenshot,
                                                                          database, clock, outbox_file):
    page = browser.new_page(viewport={"width": 1500, "height": 950}, locale="zh-CN")
    # Console errors (CSP refusals among them) and failed requests, except the deploy refused on purpose
    # below and the browser's own favicon request.
    problems: list[str] = []

    def console(message) -> None:
        url = (message.location or {}).get("url", "")
        if message.type == "error" and not url.endswith(("/favicon.ico", "/modeler/deploy?filename="
                                                          "technical_consultation.bpmn")):
            problems.append(f"console error at {url}: {message.text}")
    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and "/modeler/deploy" not in r.url else None)

    sign_in(page, live_server, "owner.xu")
    page.goto(f"{live_server}/modeler/")
    page.locator('tbody[data-process-key="technical_consultation"] a.button').click()
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=20000)
    expect(page.locator(".bjs-powered-by")).to_be_visible()  # bpmn.io's watermark, as its licence asks

    # The panel reads the Camunda dialect: a service task's handler topic, a user task's form fields.
    page.click('.djs-element[data-element-id="Task_register"]')
    expect(page.locator("#bio-properties-panel-externalTopic")).to_have_value("consultations.register")
    page.click('.djs-element[data-element-id="Task_answer"]')
    expect(page.locator("#bio-properties-panel-Task_answer-formField-5-formFieldID")).to_have_value("answer")

    # A value that is no time limit is refused, with the timer pointed at and nothing deployed.
    change_timer(page, "PT30 minutes")
    page.click("#deploy-button")
    expect(page.locator("#deploy-result.error")).to_contain_text("Timer_answer")
    expect(page.locator(f"{TIMER}.deploy-error")).to_have_count(1)
    expect(page.locator(f"{TIMER}.selected")).to_have_count(1)
    screenshot(page, "refused")

    # 30 minutes become 45 minutes.
    change_timer(page, "PT45M")
    page.click("#deploy-button")
    result = page.locator("#deploy-result.success")
    expect(result).to_have_attribute("data-version", "2")
    expect(result).to_contain_text("2")
    screenshot(page, "deployed")

    page.goto(f"{live_server}/modeler/")
    latest = page.locator('tbody[data-process-key="technical_consultation"] tr.latest')
    expect(latest).to_have_attribute("data-version", "2")
    expect(latest).to_contain_text("徐涛")

    # A consultation taken now is answered within the new limit.
    engine = WorkflowEngine(database, build_registry(), clock=clock, transport=FileTransport(outbox_file))
    instance_id = engine.start_instance("technical_consultation", dict(CONSULTATION_FORM), "svc.huang")
    assert queries.get_instance(engine.db, instance_id).version == 2
    [task] = queries.list_tasks(engine.db, instance_id=instance_id)
    assert task.element_id == "Task_answer" and task.due_at == clock.now() + timedelta(minutes=45)
    # Saving in bpmn.io kept the Camunda extensions: the same form, the limit's name from its properties.
    assert [f["id"] for f in task.form["fields"]] == \
        ["consultation_no", "customer", "contact", "device_model", "question", "answer", "topic", "prominent",
         "prominent_reason"]
    assert task.limit_name == "公司规定：受理后30分钟内答复（程序4.6：及时响应）"
    assert task.limit_source == "company"  # the text only says 及时: the 30 (now 45) minutes are the company's

    page.click("text=退出")
    sign_in(page, live_server, "ts.qian")
    page.click("nav >> text=部门任务")
    row = page.locator(f"tr.task[data-task-id='{task.id}']")
    expect(row).to_contain_text("2026-11-16 09:45")  # Monday 09:00 + 45 minutes, Beijing time
    screenshot(page, "inbox")
    assert problems == [], problems


def test_process_owner_starts_a_new_process_in_the_modeller(live_server, browser, screenshot, database):
    page = browser.new_page(viewport={"width": 1500, "height": 950}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_server, "owner.xu")
    page.goto(f"{live_server}/modeler/new")
    page.fill("#key", "spare_parts")
    page.fill("#name", "备件申请")
    page.click("form.new-process button.primary")
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=20000)
    expect(page.locator('.djs-element[data-element-id="StartEvent_1"]')).to_have_count(1)
    page.click("#deploy-button")
    expect(page.locator("#deploy-result.success")).to_have_attribute("data-version", "1")
    page.goto(f"{live_server}/modeler/")
    expect(page.locator('tbody[data-process-key="spare_parts"] tr.latest')).to_contain_text("徐涛")
    screenshot(page, "list")
    assert errors == []
