"""One case whose due timer cannot be fired never stops the timers of the others: it becomes an incident
on that case, its due time moves past the backoff, and the round goes on (issue 18, item 1)."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import func, select

from engine.clock import FrozenClock
from engine.notifications.outbox import LogTransport
from engine.records import queries
from engine.runtime.worker_incidents import FIRING_TOPIC
from engine.runtime.workflow_engine import WorkflowEngine
from engine.services.timer_worker import run_worker
from engine.storage.models import AuditEvent, Department
from tests.engine.poisoned.diagrams import escalating_to, gateway_after_limit, noop_handlers
from tests.engine.test_worker_loop import RunningClock

# The limit leads to a task for the department the case's `customer` names: "quality" routes, "甲" cannot.
DIAGRAM = escalating_to("${customer}")
HEALTHY, POISONED = "quality", "甲"


def start_cases(engine: WorkflowEngine, clock: FrozenClock, poisoned: int, healthy: int) -> tuple[list, list]:
    """The poisoned cases first, a second apart, so they are the earliest due of every round."""
    bad, good = [], []
    for customer, count, cases in ((POISONED, poisoned, bad), (HEALTHY, healthy, good)):
        for _ in range(count):
            cases.append(engine.start_instance("simple_review", {"customer": customer}, "sales.li"))
            clock.advance(timedelta(seconds=1))
    return bad, good


def escalations(engine: WorkflowEngine, cases: list[int]) -> list[int]:
    """The cases whose 2-hour limit fired: their escalation task is open."""
    return [t.instance_id for t in queries.list_tasks(engine.db) if t.element_id == "Task_escalate"
            and t.instance_id in cases]


def test_a_case_whose_timer_cannot_fire_is_an_incident_and_the_others_fire(make_engine, staff, clock):
    engine = make_engine(noop_handlers())
    engine.deploy(DIAGRAM, "owner.xu")
    bad, good = start_cases(engine, clock, poisoned=3, healthy=5)
    clock.advance(timedelta(hours=2))

    assert engine.fire_due_timers() == 5  # one round: every healthy case fired, the poisoned ones skipped
    assert sorted(escalations(engine, good)) == sorted(good)
    incidents = {i.instance_id: i for i in queries.list_incidents(engine.db)}
    assert sorted(incidents) == sorted(bad)
    for case in bad:
        incident = incidents[case]
        assert (incident.topic, incident.element_id, incident.attempts) == (FIRING_TOPIC, "Timer_review_limit", 1)
        assert "升级处理" in incident.error and "'甲'" in incident.error  # the step and the value that failed
        assert incident.next_retry_at == clock.now() + timedelta(minutes=1)
        instance = queries.get_instance(engine.db, case)
        assert instance.status == "running" and instance.next_due_at == incident.next_retry_at
        [review] = [t for t in queries.list_tasks(engine.db, instance_id=case)]  # nothing of the firing kept
        assert review.element_id == "Task_review"

    assert engine.fire_due_timers() == 0  # the next round, within the backoff: not tried again
    assert {i.attempts for i in queries.list_incidents(engine.db)} == {1}
    clock.advance(timedelta(seconds=61))
    engine.fire_due_timers()
    assert {i.attempts for i in queries.list_incidents(engine.db)} == {2}
    clock.advance(timedelta(minutes=5, seconds=1))
    engine.fire_due_timers()
    exhausted = queries.list_incidents(engine.db)
    assert {(i.attempts, i.next_retry_at) for i in exhausted} == {(3, None)}  # by hand only from now on
    assert all(queries.get_instance(engine.db, case).next_due_at is None for case in bad)
    clock.advance(timedelta(hours=1))
    assert engine.fire_due_timers() == 0 and {i.attempts for i in queries.list_incidents(engine.db)} == {3}


def test_retry_by_hand_fires_the_timer_once_the_cause_is_mended(make_engine, staff, clock):
    engine = make_engine(noop_handlers())
    engine.deploy(DIAGRAM, "owner.xu")
    [case], _ = start_cases(engine, clock, poisoned=1, healthy=0)
    clock.advance(timedelta(hours=2))
    engine.fire_due_timers()
    [incident] = queries.list_incidents(engine.db)
    assert engine.retry_incident(incident.id, "owner.xu") is True  # still failing: one more attempt
    assert queries.list_incidents(engine.db)[0].attempts == 2
    with engine.db.sessions.begin() as session:  # the department the case names is set up
        session.add(Department(code=POISONED, name_zh="甲部门", name_en="Dept A"))
    assert engine.retry_incident(incident.id, "owner.xu") is True
    assert queries.list_incidents(engine.db) == []
    assert escalations(engine, [case]) == [case]
    [fired] = queries.audit_trail(engine.db, case, "timer_fired")
    assert fired.element_id == "Timer_review_limit"
    assert [e.actor for e in queries.audit_trail(engine.db, case, "incident_resolved")] == ["owner.xu"]


def test_a_diagram_condition_failing_after_the_timer_is_an_incident_on_its_element(make_engine, staff, clock):
    """The issue's own example: the limit leads to a gateway whose condition reads a value this case does
    not have (the optional amount was left empty): the gateway's incident; the other case fires."""
    engine = make_engine(noop_handlers())
    engine.deploy(gateway_after_limit("amount > 1"), "owner.xu")
    bad = engine.start_instance("simple_review", {"customer": "甲"}, "sales.li")
    clock.advance(timedelta(seconds=1))
    good = engine.start_instance("simple_review", {"customer": "乙", "amount": 5}, "sales.li")
    clock.advance(timedelta(hours=2, seconds=1))
    engine.fire_due_timers()
    [incident] = queries.list_incidents(engine.db)
    assert incident.instance_id == bad and incident.element_id == "Gateway_late"
    assert incident.reason["kind"] in ("undefined_name", "type_mismatch")
    assert [e.element_id for e in queries.audit_trail(engine.db, good, "timer_fired")] == ["Timer_review_limit"]
    assert queries.list_incidents(engine.db, instance_id=good) == []


def test_two_workers_fire_the_healthy_timers_on_time_past_poisoned_cases(database, staff, clock):
    """Real worker threads on a real database: 3 poisoned cases are the earliest due; the 5 healthy
    timers still fire within a second of their due time, and each poisoned case is counted once."""
    setup = WorkflowEngine(database, noop_handlers(), clock=clock, transport=LogTransport())
    setup.deploy(DIAGRAM, "owner.xu")
    bad, good = start_cases(setup, clock, poisoned=3, healthy=5)
    due = clock.now() + timedelta(hours=2) - timedelta(seconds=1)  # the last case's limit
    running = RunningClock(due - timedelta(seconds=0.3))
    stop = threading.Event()
    workers = [threading.Thread(target=run_worker, args=(
        WorkflowEngine(database, noop_handlers(), clock=running, transport=LogTransport()), 0.2, stop))
        for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        deadline = time.monotonic() + 10
        while len(escalations(setup, good)) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # both workers go round a few more times over the poisoned cases
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=20)
    assert sorted(escalations(setup, good)) == sorted(good)
    with database.sessions() as session:
        fired_at = session.scalars(select(AuditEvent.at).where(AuditEvent.kind == "timer_fired")).all()
        assert len(fired_at) == 5
        assert max(fired_at) - due < timedelta(seconds=1)
        opened = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.kind == "incident_opened"))
    incidents = queries.list_incidents(database)
    assert sorted(i.instance_id for i in incidents) == sorted(bad) and opened == 3
    assert {i.attempts for i in incidents} == {1}  # once each, not once per worker or per round
