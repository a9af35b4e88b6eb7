"""Timer start events: a case per occurrence of the diagram's cycle, started by the worker exactly once,
caught up after an outage, kept across redeploys, and started at once on request."""
from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.diagrams.catalog import DiagramError
from engine.errors import NotFound, NotStartable
from engine.handler_api import HandlerContext, HandlerRegistry
from engine.records import queries
from engine.services import timer_worker as worker
from engine.storage.models import ProcessInstance
from engine.timing.schedules import list_schedules
from tests.conftest import BEIJING

DIAGRAM = (Path(__file__).parent / "diagrams" / "monthly_report.bpmn").read_bytes()
CYCLE = b"R/2026-12-01T09:00:00+08:00/P1M"


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


def utc_iso(*args) -> str:
    return beijing(*args).astimezone(UTC).isoformat()


def with_timer(value: bytes, kind: bytes = b"timeCycle") -> bytes:
    return DIAGRAM.replace(b"<bpmn:timeCycle>" + CYCLE + b"</bpmn:timeCycle>",
                           b"<bpmn:" + kind + b">" + value + b"</bpmn:" + kind + b">")


@pytest.fixture
def reports() -> list[str]:
    return []


@pytest.fixture
def registry(reports) -> HandlerRegistry:
    registry = HandlerRegistry()

    @registry.handler("test.monthly_report")
    def monthly_report(ctx: HandlerContext):
        reports.append(ctx.data["scheduled_for"])
        return {"period": ctx.data["scheduled_for"][:7]}

    return registry


@pytest.fixture
def engine(make_engine, registry, staff):
    eng = make_engine(registry)
    eng.deploy(DIAGRAM, "owner.xu")
    return eng


def started(engine) -> list[tuple[str, int]]:
    """(scheduled_for, version) of every started case, in start order."""
    with engine.db.sessions() as session:
        rows = session.scalars(select(ProcessInstance).order_by(ProcessInstance.id)).all()
        return [(queries.audit_trail(engine.db, r.id, "instance_started")[0].detail["data"]["scheduled_for"],
                 r.version.version) for r in rows]


def test_deploy_schedules_the_first_occurrence_and_the_worker_wakes_for_it(engine):
    [schedule] = list_schedules(engine.db)
    assert (schedule.process_key, schedule.start_event_id, schedule.timer) == (
        "monthly_report", "Start_monthly", CYCLE.decode())
    assert schedule.next_due_at == beijing(2026, 12, 1, 9)
    assert worker.next_due_at(engine) == beijing(2026, 12, 1, 9)
    [deployed] = queries.audit_trail(engine.db, kind="deployed")
    assert deployed.detail["next_start"] == utc_iso(2026, 12, 1, 9)


def test_one_case_per_occurrence_just_at_its_time(engine, clock, reports):
    clock.set(beijing(2026, 12, 1, 8, 59, 59))
    assert engine.fire_due_timers() == 0
    assert started(engine) == []
    clock.set(beijing(2026, 12, 1, 9))
    assert engine.fire_due_timers() == 1
    assert engine.fire_due_timers() == 0  # never twice
    assert reports == [utc_iso(2026, 12, 1, 9)]
    [case] = queries.list_instances(engine.db)
    assert case.started_at == clock.now() and case.status == "running"
    [task] = queries.list_tasks(engine.db, instance_id=case.id)
    assert (task.name, task.department, task.data["period"]) == ("审阅月度报告", "quality", "2026-12")
    engine.complete_task(task.id, "qa.wang", {})
    assert queries.get_instance(engine.db, case.id).status == "completed"
    [schedule] = list_schedules(engine.db)
    assert schedule.next_due_at == beijing(2027, 1, 1, 9)
    assert schedule.last_started_for == beijing(2026, 12, 1, 9) and schedule.occurrences_started == 1

    clock.set(beijing(2027, 1, 1, 9, 0, 1))
    assert engine.fire_due_timers() == 1
    assert reports == [utc_iso(2026, 12, 1, 9), utc_iso(2027, 1, 1, 9)]


def test_every_missed_occurrence_starts_once_in_order_after_an_outage(engine, clock):
    clock.set(beijing(2027, 3, 15, 10))
    assert engine.fire_due_timers() == 4
    assert [s for s, _ in started(engine)] == [utc_iso(2026, 12, 1, 9), utc_iso(2027, 1, 1, 9),
                                               utc_iso(2027, 2, 1, 9), utc_iso(2027, 3, 1, 9)]
    assert engine.fire_due_timers() == 0
    [schedule] = list_schedules(engine.db)
    assert schedule.next_due_at == beijing(2027, 4, 1, 9)


def test_a_new_version_takes_over_the_schedule_without_repeating_or_skipping(engine, make_engine, registry,
                                                                            clock):
    clock.set(beijing(2026, 12, 1, 9))
    engine.fire_due_timers()
    renamed = DIAGRAM.replace("审阅月度报告".encode(), "审核月度报告".encode())
    clock.set(beijing(2027, 1, 1, 10))  # January is due, the worker was down
    assert engine.deploy(renamed, "owner.xu").version == 2
    [schedule] = list_schedules(engine.db)
    assert (schedule.version, schedule.next_due_at) == (2, beijing(2027, 1, 1, 9))
    assert engine.fire_due_timers() == 1
    assert started(engine) == [(utc_iso(2026, 12, 1, 9), 1), (utc_iso(2027, 1, 1, 9), 2)]
    # A changed timer counts from the deploy, never again for an occurrence already started.
    engine.deploy(with_timer(b"R/2026-12-01T09:00:00+08:00/P7D"), "owner.xu")
    [schedule] = list_schedules(engine.db)
    assert schedule.next_due_at == beijing(2027, 1, 5, 9)
    # A version without a timer start drops the schedule.
    without = DIAGRAM.replace(b'<bpmn:timerEventDefinition id="TimerDef_start"><bpmn:timeCycle>' + CYCLE
                              + b"</bpmn:timeCycle></bpmn:timerEventDefinition>", b"")
    engine.deploy(without, "owner.xu")
    assert list_schedules(engine.db) == []
    assert worker.next_due_at(engine) is None


def test_a_bounded_cycle_stops_and_calendar_months_keep_the_day(make_engine, registry, clock):
    engine = make_engine(registry)
    engine.deploy(with_timer(b"R3/2027-01-31T09:00:00+08:00/P1M"), "owner.xu")
    clock.set(beijing(2027, 6, 1))
    assert engine.fire_due_timers() == 3
    assert [s for s, _ in started(engine)] == [utc_iso(2027, 1, 31, 9), utc_iso(2027, 2, 28, 9),
                                               utc_iso(2027, 3, 31, 9)]
    [schedule] = list_schedules(engine.db)
    assert schedule.next_due_at is None and schedule.occurrences_started == 3


def test_a_date_starts_one_case(make_engine, registry, clock):
    engine = make_engine(registry)
    engine.deploy(with_timer(b"2026-11-20T08:30:00", b"timeDate"), "owner.xu")
    assert list_schedules(engine.db)[0].next_due_at == beijing(2026, 11, 20, 8, 30)  # no offset: Beijing
    clock.set(beijing(2026, 12, 20))
    assert engine.fire_due_timers() == 1
    assert engine.fire_due_timers() == 0
    assert list_schedules(engine.db)[0].next_due_at is None


def test_run_now_starts_an_extra_case_and_leaves_the_schedule(engine, clock, reports):
    instance_id = engine.start_scheduled_now("monthly_report", "admin")
    assert reports == [clock.now().astimezone(UTC).isoformat()]
    assert queries.list_tasks(engine.db, instance_id=instance_id)[0].name == "审阅月度报告"
    assert queries.audit_trail(engine.db, kind="schedule_run_now")[0].actor == "admin"
    assert list_schedules(engine.db)[0].next_due_at == beijing(2026, 12, 1, 9)
    with pytest.raises(NotFound):
        engine.start_scheduled_now("no_such_process", "admin")


def test_a_scheduled_process_is_not_started_by_hand(engine):
    with pytest.raises(NotStartable, match="start_scheduled_now"):
        engine.start_instance("monthly_report", {}, "qa.wang")
    # The inbox's "new case" page offers only processes with a start form.
    summary = queries.process_summary(engine.db, queries.latest_versions(engine.db)["monthly_report"])
    assert summary.start_form is None


@pytest.mark.parametrize("diagram, problem", [
    (with_timer(b"R/P1M"), "not a repeating interval with a start date"),
    (with_timer(b"R/2026-12-01T09:00:00+08:00/P1X"), "not an ISO 8601 period"),
    (with_timer(b"R0/2026-12-01T09:00:00+08:00/P1M"), "repeats zero times"),
    (with_timer(b"working_days(3)"), "not a repeating interval"),
    (with_timer(b"P1D", b"timeDuration"), "timeCycle"),
    (with_timer(b"next monday", b"timeDate"), "not an ISO 8601 date-time"),
])
def test_deploy_refuses_a_start_timer_it_cannot_schedule(make_engine, registry, diagram, problem):
    engine = make_engine(registry)
    with pytest.raises(DiagramError) as err:
        engine.deploy(diagram, "owner.xu")
    assert err.value.element_id == "Start_monthly" and problem in err.value.problem
    assert list_schedules(engine.db) == []


def test_deploy_refuses_a_timer_start_beside_another_start_or_with_a_form(make_engine, registry):
    engine = make_engine(registry)
    second_start = DIAGRAM.replace(
        b'<bpmn:serviceTask id="Task_compile"',
        b'<bpmn:startEvent id="Start_by_hand" name="x"><bpmn:outgoing>Flow_x</bpmn:outgoing></bpmn:startEvent>'
        b'<bpmn:sequenceFlow id="Flow_x" sourceRef="Start_by_hand" targetRef="Task_compile" />'
        b'<bpmn:serviceTask id="Task_compile"').replace(
        b'<bpmndi:BPMNShape id="Start_monthly_di"',
        b'<bpmndi:BPMNShape id="Start_by_hand_di" bpmnElement="Start_by_hand"><dc:Bounds x="152" y="202" '
        b'width="36" height="36" /></bpmndi:BPMNShape><bpmndi:BPMNShape id="Start_monthly_di"')
    with pytest.raises(DiagramError, match="ambiguous"):
        engine.deploy(second_start, "owner.xu")
    with_form = DIAGRAM.replace(
        b'<bpmn:outgoing>Flow_1</bpmn:outgoing>',
        b'<bpmn:extensionElements><camunda:formData><camunda:formField id="x" label="x" type="string" />'
        b'</camunda:formData></bpmn:extensionElements><bpmn:outgoing>Flow_1</bpmn:outgoing>', 1)
    with pytest.raises(DiagramError, match="no form"):
        engine.deploy(with_form, "owner.xu")


def test_two_workers_at_once_start_each_occurrence_exactly_once(engine, make_engine, registry, clock):
    clock.set(beijing(2027, 12, 15))  # twelve occurrences are due
    engines = [engine, make_engine(registry)]
    barrier = threading.Barrier(2, timeout=30)
    errors: list[Exception] = []

    def work(eng) -> None:
        barrier.wait()
        try:
            for _ in range(20):
                eng.fire_due_timers(limit=1)
        except Exception as err:  # noqa: BLE001 - the test inspects it
            errors.append(err)
    threads = [threading.Thread(target=work, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        # SQLite has one writer: a worker that lost the race may see "database is locked"; it retries.
        errors = [e for e in errors if "locked" not in str(e)]
    assert errors == []
    # A round that found the schedule locked by the other worker started nothing: finish what is left.
    engine.fire_due_timers()
    occurrences = [s for s, _ in started(engine)]
    assert len(occurrences) == 13 and len(set(occurrences)) == 13
    assert occurrences == sorted(occurrences)


def test_a_case_that_cannot_start_keeps_its_occurrence_due_and_says_why(make_engine, registry, clock):
    engine = make_engine(registry)
    engine.deploy(DIAGRAM.replace(b'camunda:candidateGroups="quality"',
                                  b'camunda:candidateGroups="${reviewing_department}"'), "owner.xu")
    clock.set(beijing(2026, 12, 1, 9))
    assert engine.fire_due_timers() == 0  # the failure is the schedule's incident, not the worker's error
    assert engine.worker_tick().errors == []
    assert queries.list_instances(engine.db) == []
    assert list_schedules(engine.db)[0].next_due_at == beijing(2026, 12, 1, 9)  # the occurrence stays due
    [incident] = queries.list_incidents(engine.db)
    assert (incident.process_key, incident.instance_id, incident.element_id) == ("monthly_report", None,
                                                                                "Start_monthly")
    assert "TaskRoutingError" in incident.error and "reviewing_department" in incident.error
    assert incident.attempts == 1 and incident.next_retry_at == clock.now() + timedelta(minutes=1)
    clock.advance(timedelta(seconds=30))
    engine.fire_due_timers()  # within the backoff: not tried again
    assert queries.list_incidents(engine.db)[0].attempts == 1
    clock.advance(timedelta(seconds=31))
    engine.fire_due_timers()
    assert queries.list_incidents(engine.db)[0].attempts == 2
    # The process owner mends the diagram and retries by hand: the occurrence starts, the incident closes.
    engine.deploy(DIAGRAM, "owner.xu")
    assert engine.retry_incident(incident.id, "owner.xu") is True
    [case] = queries.list_instances(engine.db)
    assert queries.get_instance(engine.db, case.id).status == "running"
    assert queries.list_incidents(engine.db) == []
    assert queries.list_incidents(engine.db, status="resolved")[0].id == incident.id

