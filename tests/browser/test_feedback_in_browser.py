"""Sales files a feedback form in the browser; Quality finds the task with its due time and completes it."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from engine.records import queries


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo-2026")
    page.click("button.primary")
    expect(page.locator(".who")).to_have_attribute("data-user", username)


def sign_out(page) -> None:
    page.click("text=退出")
    expect(page.locator("h1")).to_have_text("登录")


def test_feedback_form_from_sales_to_quality(live_server, browser, screenshot, database):
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")

    # Sales files the Information Feedback Form from the "new" page.
    sign_in(page, live_server, "sales.li")
    page.click("nav >> text=新建")
    page.click("text=市场质量信息反馈处理")
    page.fill("#f-customer", "杭州精工机械有限公司")
    page.fill("#f-product_name", "液压阀")
    page.fill("#f-spec_model", "HV-200")
    page.fill("#f-batch_no", "B2611-07")
    page.fill("#f-quantity_shipped", "500")
    page.fill("#f-quantity_nonconforming", "150")
    page.select_option("#f-characteristic", "key")
    page.select_option("#f-consequence", "batch_return")
    page.fill("#f-problem_description", "阀芯卡滞，批量退货")
    page.click("text=提交")
    expect(page.locator(".flash.success")).to_contain_text("已提交")
    number = re.search(r"QF-\d{4}-\d{4}", page.locator(".flash.success").inner_text()).group(0)
    screenshot(page, "sales-inbox")

    # Sales also registers the returned sample (a date widget among others).
    page.click(f"tr:has-text('{number}') >> text=提供样机/样品并登记")
    page.fill("#f-sample_name", "退回样机")
    page.fill("#f-sample_spec", "HV-200")
    page.fill("#f-supplier", "本公司")
    page.fill("#f-arrival_time", "2026-11-16")
    page.fill("#f-custodian", "李雷")
    page.fill("#f-sample_quantity", "2")
    page.select_option("#f-sample_source", "customer_return")
    page.click("text=完成任务")
    expect(page.locator(".flash.success")).to_contain_text("已完成")
    sign_out(page)

    # Quality confirms the derived category...
    sign_in(page, live_server, "qa.wang")
    page.click("nav >> text=部门任务")
    row = page.locator(f"tr.task:has-text('{number}'):has-text('确认信息类别')")
    expect(row).to_contain_text("重要信息")
    row.locator("a").click()
    page.click("button:has-text('认领')")
    expect(page.locator(".held-by")).to_have_text("王强")
    expect(page.locator("#f-category")).to_have_value("important")
    page.click("text=完成任务")
    expect(page.locator(".flash.success")).to_contain_text("确认信息类别")

    # ...and finds the test task with its 3-day limit and time left.
    page.click("nav >> text=部门任务")
    row = page.locator(f"tr.task:has-text('{number}'):has-text('检测来样')")
    expect(row).to_contain_text("2026-11-19 09:00")  # 3 working days after Mon 09:00, Beijing time
    expect(row.locator(".time-left")).to_contain_text("剩余 3天0小时")
    screenshot(page, "quality-inbox")
    row.locator("a").click()
    expect(page.locator("dd.due")).to_contain_text("2026-11-19 09:00")
    expect(page.locator(".records").first).to_contain_text(number)
    expect(page.locator(".records").nth(1)).to_contain_text("退回样机")  # the sample ledger
    expect(page.locator(".records").nth(1)).to_contain_text("保管人处")
    expect(page.locator(".history")).to_contain_text("案件发起")
    screenshot(page, "quality-task")
    page.fill("#f-test_result", "阀芯硬度不足")
    page.fill("#f-cause_analysis", "热处理工艺参数偏差")
    page.fill("#f-technical_lead", "张工")
    page.click("text=完成任务")
    expect(page.locator(".flash.success")).to_contain_text("已完成")

    done = [t for t in queries.list_tasks(database, state="completed") if t.element_id == "Task_imp_test"]
    assert done and done[0].completed_by == "qa.wang" and done[0].submitted["test_result"] == "阀芯硬度不足"
