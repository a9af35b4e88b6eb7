"""Lanes are departments: after a process owner moves steps in the served bpmn.io modeller and deploys,
every user task is still drawn in the lane of the department that works it, also a step inside a
sub-process (bpmn.io recomputes lane membership when a shape moves)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from engine.storage.models import ProcessVersion
from tests.browser.test_feedback_in_browser import sign_in
from tests.processes.test_diagram_conventions import lane_mismatches

MOVES = {
    # process: the steps dragged a little to the right, inside their own lane and sub-process
    "feedback_improvement": ("Task_root_cause_quality", "Task_specialist_follow_up"),
    "repair": ("Task_arrive", "Task_choose_engineer"),
}


def _drag(page, element_id: str, dx: int = 12) -> None:
    box = page.locator(f'.djs-element.djs-shape[data-element-id="{element_id}"]').bounding_box()
    assert box is not None, f"{element_id} is not drawn"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y, steps=3)
    page.mouse.move(x + dx, y, steps=3)
    page.mouse.up()


@pytest.mark.parametrize("process_key", sorted(MOVES))
def test_moving_steps_in_the_modeller_keeps_each_in_its_departments_lane(process_key, live_server, browser,
                                                                         database):
    page = browser.new_page(viewport={"width": 1800, "height": 1100}, locale="zh-CN")
    sign_in(page, live_server, "owner.xu")
    page.goto(f"{live_server}/modeler/")
    page.locator(f'tbody[data-process-key="{process_key}"] a.button').click()
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=20000)
    for element_id in MOVES[process_key]:
        _drag(page, element_id)
    page.click("#deploy-button")
    expect(page.locator("#deploy-result.success")).to_have_attribute("data-version", "2", timeout=20000)

    with database.sessions() as session:
        saved = session.scalar(select(ProcessVersion.bpmn).where(
            ProcessVersion.process_key == process_key, ProcessVersion.version == 2))
    assert lane_mismatches(saved, f"{process_key}.bpmn") == []
