"""The engine's own commands check who acts, so every entry point (web, API, CLI, a script) gets the rule:
a task is worked by an active member of its department, or an admin. A refusal changes nothing and leaves
no trace in the audit trail."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.errors import NotAMember, NotPermitted
from engine.handler_api import HandlerRegistry
from engine.records import queries
from engine.storage.models import AuditEvent, HumanTask, User

DIAGRAM = (Path(__file__).parent / "diagrams" / "simple_review.bpmn").read_bytes()


@pytest.fixture
def engine(make_engine, staff):
    registry = HandlerRegistry()
    for topic in ("test.prepare", "test.escalate", "test.finish"):
        registry.handler(topic)(lambda ctx: {})
    eng = make_engine(registry)
    eng.deploy(DIAGRAM, "owner")
    return eng


def _quality_task(engine):
    instance_id = engine.start_instance("simple_review", {"customer": "甲"}, "sales.li")
    [task] = queries.list_tasks(engine.db, instance_id=instance_id)
    assert task.department == "quality"
    return task


def _audit_count(engine) -> int:
    with engine.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


@pytest.mark.parametrize("actor, reason", [
    ("sales.li", "not a member of department 'quality'"),
    ("nobody.here", "is no active user"),
])
def test_another_departments_user_or_an_unknown_name_cannot_complete_or_claim(engine, actor, reason):
    task = _quality_task(engine)
    before = _audit_count(engine)
    with pytest.raises(NotAMember, match=reason):
        engine.complete_task(task.id, actor, {"decision": "approve"})
    with pytest.raises(NotAMember, match=reason):
        engine.claim_task(task.id, actor)
    with pytest.raises(NotPermitted):
        engine.hand_over_task(task.id, actor, "qa.wang")
    with engine.db.sessions() as session:
        row = session.get(HumanTask, task.id)
        assert (row.state, row.claimed_by, row.completed_by) == ("open", None, None)
    assert _audit_count(engine) == before


def test_a_deactivated_member_is_refused(engine):
    task = _quality_task(engine)
    with engine.db.sessions.begin() as session:
        session.get(User, "qa.wang").active = False
    with pytest.raises(NotAMember, match="is no active user"):
        engine.complete_task(task.id, "qa.wang", {"decision": "approve"})
    assert queries.get_task(engine.db, task.id).state == "open"


def test_a_member_and_an_admin_may(engine):
    task = _quality_task(engine)
    engine.claim_task(task.id, "qa.wang")
    engine.unclaim_task(task.id, "qa.wang")
    engine.complete_task(task.id, "admin", {"decision": "approve"})
    assert queries.get_task(engine.db, task.id).completed_by == "admin"
