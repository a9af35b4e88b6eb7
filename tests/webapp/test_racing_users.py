"""Two department users pressing 认领 (or one 认领, the other 提交) on the same task at the same moment, through
the pages and the API (issue 18): one wins, the other is told with 409 what happened, nobody sees a 500,
and the audit log shows one claim."""
from __future__ import annotations

from functools import partial

from engine.records import queries
from engine.storage.models import AuditEvent
from tests.concurrency import at_once
from tests.webapp.conftest import FEEDBACK_FORM

TRIES = 15


def quality_task(engine) -> int:
    case = engine.start_instance("quality_feedback", dict(FEEDBACK_FORM), "sales.li")
    [task] = queries.list_tasks(engine.db, department="quality", instance_id=case)
    return task.id


def claims_of(engine, task_id: int) -> int:
    with engine.db.sessions() as session:
        return sum(1 for event in session.query(AuditEvent).filter(AuditEvent.kind == "task_claimed")
                   if event.detail.get("task_id") == task_id)


def test_two_claims_on_the_pages_one_holds_the_task_the_other_is_told(engine, as_user):
    wang, chen = as_user("qa.wang"), as_user("qa.chen")
    for _ in range(TRIES):
        task = quality_task(engine)
        wang.page(f"/tasks/{task}")
        chen.page(f"/tasks/{task}")
        first, second = at_once(partial(wang.post, f"/tasks/{task}/claim"), partial(chen.post, f"/tasks/{task}/claim"))
        assert sorted([first.status_code, second.status_code]) == [302, 409]
        loser = second if first.status_code == 302 else first
        holder = "qa.wang" if first.status_code == 302 else "qa.chen"
        assert queries.get_task(engine.db, task).claimed_by == holder
        assert ("王强" if holder == "qa.wang" else "陈静") in loser.get_data(as_text=True)  # who holds it
        assert claims_of(engine, task) == 1


def test_a_claim_racing_a_completion_through_the_api_has_one_winner(engine, api):
    wang, chen = api("qa.wang"), api("qa.chen")
    for _ in range(TRIES):
        task = quality_task(engine)
        claim, done = at_once(partial(wang.post, f"/api/v1/tasks/{task}/claim"),
                              partial(chen.post, f"/api/v1/tasks/{task}/complete", json={"category": "important"}))
        assert sorted([claim.status_code, done.status_code]) == [200, 409], (claim.json, done.json)
        row = queries.get_task(engine.db, task)
        if claim.status_code == 200:
            assert (row.state, row.claimed_by) == ("open", "qa.wang") and "qa.wang" in done.json["message"]
        else:
            assert (row.state, row.completed_by, row.claimed_by) == ("completed", "qa.chen", "qa.chen")
            assert "already completed" in claim.json["message"] and claims_of(engine, task) == 0
