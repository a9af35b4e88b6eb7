"""Engine behaviour on a small diagram: start, tasks, timers, handler errors, incidents, crashes."""
from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.diagrams.forms import InvalidForm
from engine.errors import TaskNotOpen
from engine.handler_api import BpmnError, HandlerContext, HandlerRegistry
from engine.records import queries
from engine.storage.models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance
from engine.storage.unit_of_work import UnitOfWork

DIAGRAM = (Path(__file__).parent / "diagrams" / "simple_review.bpmn").read_bytes()


class Behaviour:
    """What the test handlers do; tests flip these."""

    def __init__(self) -> None:
        self.prepare_failures = 0
        self.finish_error = False
        self.calls: list[str] = []


@pytest.fixture
def behaviour() -> Behaviour:
    return Behaviour()


@pytest.fixture
def registry(behaviour) -> HandlerRegistry:
    registry = HandlerRegistry()

    @registry.handler("test.prepare")
    def prepare(ctx: HandlerContext):
        behaviour.calls.append("prepare")
        ctx.outbox.notify("department:quality", "prepared", "body")
        if behaviour.prepare_failures > 0:
            behaviour.prepare_failures -= 1
            raise RuntimeError("the ERP is not answering")
        ctx.assign_business_key(f"SR-{ctx.instance_id:03d}")
        return {"prepared": True}

    @registry.handler("test.escalate")
    def escalate(ctx: HandlerContext):
        ctx.audit("escalated", {"limit": ctx.property("sla_name")})
        return {}

    @registry.handler("test.finish")
    def finish(ctx: HandlerContext):
        if behaviour.finish_error:
            raise BpmnError(behaviour.finish_error if isinstance(behaviour.finish_error, str) else "FINISH_REJECTED")
        return {"finished": True}

    return registry


@pytest.fixture
def engine(make_engine, registry, staff):
    eng = make_engine(registry)
    eng.deploy(DIAGRAM, "owner")
    return eng


def start(engine, **data) -> int:
    return engine.start_instance("simple_review", {"customer": "华东机电", "amount": 5, **data}, "sales.li")


def open_tasks(engine, instance_id):
    return queries.list_tasks(engine.db, instance_id=instance_id)


def test_start_runs_to_the_first_person_task_with_its_due_time(engine, clock):
    instance_id = start(engine)
    instance = queries.get_instance(engine.db, instance_id)
    assert instance.business_key == f"SR-{instance_id:03d}"
    [task] = open_tasks(engine, instance_id)
    assert (task.name, task.department) == ("评审", "quality")
    assert task.due_at == clock.now() + timedelta(hours=2)
    assert task.limit_name == "2小时内评审"
    # The worker next looks at the case when the limit's warning falls due (80 % of it, the default).
    assert instance.next_due_at == task.warn_at == clock.now() + timedelta(minutes=96)
    assert [f["id"] for f in task.form["fields"]] == ["decision", "comment"]


def test_start_form_is_validated_and_nothing_is_stored(engine):
    with pytest.raises(InvalidForm) as err:
        engine.start_instance("simple_review", {"amount": 0}, "sales.li")
    assert set(err.value.errors) == {"customer", "amount"}
    with engine.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_complete_task_to_the_end(engine):
    instance_id = start(engine)
    [task] = open_tasks(engine, instance_id)
    engine.complete_task(task.id, "qa.wang", {"decision": "approve", "comment": "ok"})
    instance = queries.get_instance(engine.db, instance_id)
    assert instance.status == "completed" and instance.next_due_at is None
    kinds = [e.kind for e in queries.audit_trail(engine.db, instance_id)]
    assert kinds[0] == "instance_started" and "task_completed" in kinds and kinds[-1] == "instance_completed"
    completed = [e for e in queries.audit_trail(engine.db, instance_id, "task_completed")][0]
    assert completed.actor == "qa.wang" and completed.detail["data"] == {"decision": "approve", "comment": "ok"}


def test_invalid_submission_changes_nothing(engine):
    instance_id = start(engine)
    [task] = open_tasks(engine, instance_id)
    with engine.db.sessions() as session:
        before = session.get(ProcessInstance, instance_id).state
    with pytest.raises(InvalidForm) as err:
        engine.complete_task(task.id, "qa.wang", {"decision": "maybe"})
    assert "decision" in err.value.errors
    with engine.db.sessions() as session:
        assert session.get(ProcessInstance, instance_id).state == before
        assert session.get(HumanTask, task.id).state == "open"


def test_completing_a_task_twice_is_refused_with_a_clear_message(engine):
    instance_id = start(engine)
    [task] = open_tasks(engine, instance_id)
    engine.complete_task(task.id, "qa.wang", {"decision": "approve"})
    with pytest.raises(TaskNotOpen, match="already completed by qa.wang"):
        engine.complete_task(task.id, "qa.zhao", {"decision": "reject"})


def test_timer_just_before_and_just_after_the_limit(engine, clock):
    instance_id = start(engine)
    clock.advance(timedelta(hours=2) - timedelta(seconds=1))
    assert engine.fire_due_timers() == 0
    assert queries.audit_trail(engine.db, instance_id, "escalated") == []
    clock.advance(timedelta(seconds=2))
    assert engine.fire_due_timers() == 1
    [fired] = queries.audit_trail(engine.db, instance_id, "timer_fired")
    assert fired.element_id == "Timer_review_limit" and fired.detail["sla_name"] == "2小时内评审"
    [escalated] = queries.audit_trail(engine.db, instance_id, "escalated")
    assert escalated.detail == {"limit": "2小时内评审"}
    # Non-interrupting: the review is still open and can be completed.
    [task] = open_tasks(engine, instance_id)
    assert task.name == "评审"
    engine.complete_task(task.id, "qa.wang", {"decision": "approve"})
    assert queries.get_instance(engine.db, instance_id).status == "completed"


def test_handler_bpmn_error_takes_the_error_path(engine, behaviour):
    behaviour.finish_error = True
    instance_id = start(engine)
    [task] = open_tasks(engine, instance_id)
    engine.complete_task(task.id, "qa.wang", {"decision": "reject"})
    [fix] = open_tasks(engine, instance_id)
    assert fix.name == "整改"
    assert [e.detail["code"] for e in queries.audit_trail(engine.db, instance_id, "bpmn_error")] == ["FINISH_REJECTED"]
    assert queries.list_incidents(engine.db) == []


def test_bpmn_error_nobody_catches_is_an_incident_and_the_task_waits(engine, behaviour):
    behaviour.finish_error = "NOT_IN_THE_DIAGRAM"
    instance_id = start(engine)
    [task] = open_tasks(engine, instance_id)
    engine.complete_task(task.id, "qa.wang", {"decision": "approve"})
    [incident] = queries.list_incidents(engine.db)
    assert incident.element_id == "Task_finish" and "NOT_IN_THE_DIAGRAM" in incident.error
    assert open_tasks(engine, instance_id) == []
    assert queries.get_instance(engine.db, instance_id).status == "running"
    behaviour.finish_error = False
    engine.retry_incident(incident.id, "admin.zhang")
    assert queries.get_instance(engine.db, instance_id).status == "completed"


def test_failing_handler_opens_incident_and_worker_retry_resolves_it(engine, behaviour, clock, staff,
                                                                    smtp_catcher):
    behaviour.prepare_failures = 2
    instance_id = start(engine)
    [incident] = queries.list_incidents(engine.db)
    assert (incident.element_id, incident.attempts, incident.status) == ("Task_prepare", 1, "open")
    assert "ERP is not answering" in incident.error
    assert open_tasks(engine, instance_id) == []
    with engine.db.sessions() as session:  # the failed handler's message was rolled back with it
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0

    assert engine.retry_due_incidents() == 0  # not due yet: back-off
    clock.advance(timedelta(minutes=1, seconds=1))
    assert engine.retry_due_incidents() == 1
    [incident] = queries.list_incidents(engine.db)
    assert incident.attempts == 2
    clock.advance(timedelta(minutes=5, seconds=1))
    assert engine.worker_tick().incidents_retried == 1
    assert queries.list_incidents(engine.db) == []
    [resolved] = queries.list_incidents(engine.db, status="resolved")
    assert resolved.id == incident.id
    [task] = open_tasks(engine, instance_id)
    assert task.name == "评审"
    kinds = [e.kind for e in queries.audit_trail(engine.db, instance_id)]
    assert kinds.count("incident_opened") == 1 and "incident_resolved" in kinds
    # The successful run's notification is delivered exactly once.
    engine.deliver_outbox()
    assert smtp_catcher.subjects() == ["prepared"]
    assert smtp_catcher.subjects("qa.wang@example.com") == ["prepared"]


def test_incident_stays_open_after_last_attempt_until_retried_by_hand(engine, behaviour, clock):
    behaviour.prepare_failures = 3
    instance_id = start(engine)
    for _ in range(2):
        clock.advance(timedelta(hours=1))
        engine.retry_due_incidents()
    [incident] = queries.list_incidents(engine.db)
    assert incident.attempts == 3 and incident.next_retry_at is None
    clock.advance(timedelta(days=1))
    assert engine.retry_due_incidents() == 0
    assert engine.retry_incident(incident.id, "admin.zhang") is True
    assert queries.list_incidents(engine.db) == []
    assert [t.name for t in open_tasks(engine, instance_id)] == ["评审"]


def test_crash_before_commit_leaves_the_last_good_state(engine, monkeypatch):
    instance_id = start(engine)
    [task] = open_tasks(engine, instance_id)
    with engine.db.sessions() as session:
        before = session.get(ProcessInstance, instance_id).state
        events_before = session.scalar(select(func.count()).select_from(AuditEvent))

    def crash(self):
        raise SystemExit("power cut")
    monkeypatch.setattr(UnitOfWork, "commit", crash)
    with pytest.raises(SystemExit):
        engine.complete_task(task.id, "qa.wang", {"decision": "approve"})
    monkeypatch.undo()
    with engine.db.sessions() as session:
        assert session.get(ProcessInstance, instance_id).state == before
        assert session.get(HumanTask, task.id).state == "open"
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == events_before
    engine.complete_task(task.id, "qa.wang", {"decision": "approve"})
    assert queries.get_instance(engine.db, instance_id).status == "completed"


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                    reason="several workers on one database is the PostgreSQL deployment (FOR UPDATE SKIP LOCKED)")
def test_several_workers_share_due_instances_each_timer_fired_once(engine, make_engine, registry, clock):
    instance_ids = [start(engine) for _ in range(12)]
    clock.advance(timedelta(hours=2, seconds=1))
    workers = [make_engine(registry) for _ in range(3)]
    go = threading.Barrier(len(workers), timeout=10)
    fired: list[int] = []
    errors: list[BaseException] = []

    def work(worker_engine):
        go.wait()
        try:
            fired.append(worker_engine.fire_due_timers())
        except BaseException as err:  # noqa: BLE001 - the test inspects it
            errors.append(err)
    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sum(fired) == 12
    for instance_id in instance_ids:
        assert len(queries.audit_trail(engine.db, instance_id, "timer_fired")) == 1
        assert len(queries.audit_trail(engine.db, instance_id, "escalated")) == 1


def test_incident_of_a_cancelled_case_is_closed_not_retried_forever(engine, behaviour, clock):
    behaviour.prepare_failures = 5
    instance_id = start(engine)
    [incident] = queries.list_incidents(engine.db)
    engine.cancel_instance(instance_id, "sales.head", "客户撤回投诉")
    clock.advance(timedelta(minutes=2))
    tick = engine.worker_tick()
    assert tick.errors == [] and tick.incidents_retried == 1
    assert queries.list_incidents(engine.db) == []
    [closed] = queries.list_incidents(engine.db, status="closed")
    assert closed.id == incident.id and behaviour.calls.count("prepare") == 1  # not run again
    assert len(queries.audit_trail(engine.db, instance_id, "incident_closed")) == 1
