"""The process owner sees the worker's own failures on the incidents page, in Chinese: a case whose
due timers could not be fired and a scheduled case that could not start, each with what to do, and
重试 mends them once the cause is fixed (issue 18, item 1)."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from engine.notifications.outbox import FileTransport
from engine.records import queries
from engine.runtime.workflow_engine import WorkflowEngine
from engine.storage.models import Department
from handlers import build_registry
from tests.engine.poisoned.diagrams import escalating_to, noop_handlers

OWNER = "owner.xu"
MONTHLY = (Path(__file__).parents[1] / "engine" / "diagrams" / "monthly_report.bpmn").read_bytes()


@pytest.fixture
def engine(database, clock, outbox_file) -> WorkflowEngine:
    registry = noop_handlers(build_registry())
    registry.handler("test.monthly_report")(lambda ctx: {})
    engine = WorkflowEngine(database, registry, clock=clock, transport=FileTransport(outbox_file))
    engine.deploy(escalating_to("${customer}"), "test")
    return engine


def row_of(html: str, incident_id: int) -> str:
    return re.search(rf'<tr class="incident" data-incident-id="{incident_id}">(.*?)</tr>', html, re.S)[1]


def test_a_case_whose_timers_cannot_fire_is_listed_and_retried(engine, clock, as_user):
    case = engine.start_instance("simple_review", {"customer": "甲"}, "sales.li")
    clock.advance(timedelta(hours=2, seconds=1))
    engine.worker_tick()
    [incident] = queries.list_incidents(engine.db)
    owner = as_user(OWNER)
    row = row_of(owner.text("/modeler/incidents"), incident.id)
    for text in ("简单评审", f"#{case}", "Timer_review_limit", "定时器", "本案件到期的定时器未能触发",
                 "其他案件不受影响", "请更正流程图或案件数据"):
        assert text in row
    assert "Traceback" not in row
    response = owner.post(f"/modeler/incidents/{incident.id}/retry", follow_redirects=True)
    assert "再次失败" in response.get_data(as_text=True)
    with engine.db.sessions.begin() as session:
        session.add(Department(code="甲", name_zh="甲部门", name_en="Dept A"))
    response = owner.post(f"/modeler/incidents/{incident.id}/retry", follow_redirects=True)
    assert "已解决" in response.get_data(as_text=True)
    assert [t.element_id for t in queries.list_tasks(engine.db, instance_id=case)] == ["Task_review",
                                                                                      "Task_escalate"]


def test_a_scheduled_start_that_fails_is_listed_without_a_case(engine, clock, as_user):
    clock.set(clock.now().replace(year=2026, month=11, day=30))
    engine.deploy(MONTHLY.replace(b'camunda:candidateGroups="quality"',
                                  b'camunda:candidateGroups="${reviewing_department}"'), OWNER)
    clock.advance(timedelta(days=2))
    assert engine.worker_tick().errors == []
    [incident] = queries.list_incidents(engine.db)
    row = row_of(as_user(OWNER).text("/modeler/incidents"), incident.id)
    for text in ("（尚未启动）", "Start_monthly", "计划启动", "按计划应启动的案件未能启动", "其他计划不受影响"):
        assert text in row
