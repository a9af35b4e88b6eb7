"""What people see when a diagram step fails: the user who completed the task is told, in Chinese, that their
entries were kept and the case stopped at a diagram step (never a 500 or Python text); the process owner reads
why on the incidents page and can retry."""
from __future__ import annotations

import pytest

from engine.notifications.outbox import FileTransport
from engine.records import queries
from engine.runtime.workflow_engine import WorkflowEngine
from handlers import build_registry
from tests.engine.hostile.diagrams import noop_handlers, with_gateway, with_script
from tests.webapp.conftest import app, as_user  # noqa: F401  (fixtures around this module's engine)


@pytest.fixture
def engine(database, clock, outbox_file) -> WorkflowEngine:
    engine = WorkflowEngine(database, noop_handlers(build_registry()), clock=clock,
                            transport=FileTransport(outbox_file))
    engine.deploy(with_gateway("amount / (amount - 3) > 1"), "owner")  # fails for an amount of 3
    return engine


def test_the_user_is_told_their_entries_were_kept_and_the_owner_sees_why(engine, as_user):  # noqa: F811
    case = engine.start_instance("simple_review", {"customer": "甲", "amount": 3}, "sales.li")
    [task] = queries.list_tasks(engine.db, instance_id=case)
    quality = as_user("qa.wang")
    quality.page(f"/tasks/{task.id}")
    response = quality.post(f"/tasks/{task.id}/complete", {"decision": "approve", "comment": "已核对"},
                            follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "您填写的内容已保存" in page and "Gateway_check" in page and "流程负责人" in page
    assert "Traceback" not in page and "ZeroDivisionError" not in page
    assert queries.get_task(engine.db, task.id).submitted["comment"] == "已核对"

    owner = as_user("admin")
    incidents = owner.text("/modeler/incidents")
    assert "Gateway_check：表达式除以零" in incidents
    assert "流程图代码" in incidents and "ZeroDivisionError" not in incidents
    [incident] = queries.list_incidents(engine.db, instance_id=case)
    response = owner.post(f"/modeler/incidents/{incident.id}/retry", follow_redirects=True)
    assert response.status_code == 200
    assert "该步骤再次失败" in response.get_data(as_text=True)  # a step, not "the handler": no handler ran
    assert queries.list_incidents(engine.db, instance_id=case)[0].attempts == 2


def test_a_case_that_stops_at_its_first_step_is_filed_and_the_filer_is_told(engine, as_user):  # noqa: F811
    engine.deploy(with_script("share = 100 / (amount - 3)"), "owner")  # fails for an amount of 3
    admin = as_user("admin")
    admin.page("/new/simple_review")
    response = admin.post("/new/simple_review", {"customer": "乙", "amount": "3"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "已提交" in page
    assert "Task_prepare" in page and "流程负责人" in page and "Traceback" not in page
    [case] = [i for i in queries.list_instances(engine.db, "simple_review")]
    [incident] = queries.list_incidents(engine.db, instance_id=case.id)
    assert (incident.element_id, incident.reason["kind"]) == ("Task_prepare", "division_by_zero")
