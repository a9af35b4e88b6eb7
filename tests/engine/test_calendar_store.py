"""The company calendar in the database: edited through the engine, used by every working-day and
working-hour timer of a deployed diagram, refused when an edit makes no sense."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.diagrams.catalog import DiagramError
from engine.handler_api import HandlerRegistry
from engine.records import queries
from engine.runtime.engine_core import EngineSettings
from engine.runtime.workflow_engine import WorkflowEngine
from engine.storage.models import AuditEvent, ProcessVersion
from engine.working_time.calendar import BusinessCalendar, WorkingHours
from engine.working_time.calendar_store import DatabaseCalendar
from tests.conftest import BEIJING

DIAGRAM = (Path(__file__).parent / "diagrams" / "calendar_limits.bpmn").read_bytes()
JUDGE, RESPOND = "可行性判断", "首次响应"  # limits working_days(1) and working_hours(2)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


@pytest.fixture
def engine(make_engine):
    eng = make_engine(HandlerRegistry())
    eng.deploy(DIAGRAM, "owner")
    return eng


def due_times_of_a_case_started_at(engine, clock, moment: datetime) -> dict[str, datetime]:
    """Start a case at `moment`; the due time of each of its tasks in Beijing time, as the inbox shows."""
    clock.set(moment)
    instance_id = engine.start_instance("calendar_limits", {}, "sales.li")
    return {t.name: t.due_at.astimezone(BEIJING) for t in queries.list_tasks(engine.db, instance_id=instance_id)}


def calendar_audit(engine) -> list[AuditEvent]:
    with engine.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.kind == "calendar_changed")
                                    .order_by(AuditEvent.id)))


def test_limits_across_national_day_2026(engine, clock):
    # Wed 30 Sep 16:00: 1-7 Oct are off; Thu 8 Oct is the first working day back (1.5 + 0.5 working hours).
    assert due_times_of_a_case_started_at(engine, clock, at(2026, 9, 30, 16, 0)) == {
        JUDGE: at(2026, 10, 8, 16, 0), RESPOND: at(2026, 10, 8, 9, 0)}
    # Started on a holiday: the working-hour limit starts at 08:30 on Thu 8 Oct.
    assert due_times_of_a_case_started_at(engine, clock, at(2026, 10, 3, 11, 0)) == {
        JUDGE: at(2026, 10, 9, 0, 0), RESPOND: at(2026, 10, 8, 10, 30)}


def test_limits_on_an_adjusted_working_weekend(engine, clock):
    # Fri 9 Oct 17:00: Saturday 10 Oct is an official working day (调休上班).
    assert due_times_of_a_case_started_at(engine, clock, at(2026, 10, 9, 17, 0)) == {
        JUDGE: at(2026, 10, 10, 17, 0), RESPOND: at(2026, 10, 10, 10, 0)}
    # Sat 10 Oct 17:00: Sunday 11 Oct stays off.
    assert due_times_of_a_case_started_at(engine, clock, at(2026, 10, 10, 17, 0)) == {
        JUDGE: at(2026, 10, 12, 17, 0), RESPOND: at(2026, 10, 12, 10, 0)}


def test_company_days_entered_through_the_engine_move_the_due_times(engine, clock):
    friday = at(2026, 11, 20, 17, 0)
    first = due_times_of_a_case_started_at(engine, clock, friday)
    assert first == {JUDGE: at(2026, 11, 23, 17, 0), RESPOND: at(2026, 11, 23, 10, 0)}

    engine.set_calendar_day(date(2026, 11, 23), "day_off", "admin.zhao", note="公司年会")
    assert due_times_of_a_case_started_at(engine, clock, friday) == {
        JUDGE: at(2026, 11, 24, 17, 0), RESPOND: at(2026, 11, 24, 10, 0)}

    engine.set_calendar_day("2026-11-21", "working_day", "admin.zhao", note="赶工")
    assert due_times_of_a_case_started_at(engine, clock, friday) == {
        JUDGE: at(2026, 11, 21, 17, 0), RESPOND: at(2026, 11, 21, 10, 0)}

    engine.clear_calendar_day("2026-11-21", "admin.zhao")
    engine.clear_calendar_day(date(2026, 11, 23), "admin.zhao")
    assert due_times_of_a_case_started_at(engine, clock, friday) == first
    # A case already waiting keeps the due time it was given when its limit started.
    first_case = min(i.id for i in queries.list_instances(engine.db))
    assert {t.name: t.due_at.astimezone(BEIJING)
            for t in queries.list_tasks(engine.db, instance_id=first_case)} == first

    changes = [(e.actor, e.detail) for e in calendar_audit(engine)]
    assert changes == [
        ("admin.zhao", {"change": "day", "day": "2026-11-23", "kind": "day_off", "before": None, "note": "公司年会"}),
        ("admin.zhao", {"change": "day", "day": "2026-11-21", "kind": "working_day", "before": None, "note": "赶工"}),
        ("admin.zhao", {"change": "day", "day": "2026-11-21", "kind": None, "before": "working_day"}),
        ("admin.zhao", {"change": "day", "day": "2026-11-23", "kind": None, "before": "day_off"}),
    ]


def test_working_hours_set_through_the_engine_move_working_hour_limits(engine, clock):
    engine.set_working_hours("09:00", "18:00", "admin.zhao")
    # Fri 17:00 + 2 working hours: 17:00-18:00 on Friday, 09:00-10:00 on Monday.
    assert due_times_of_a_case_started_at(engine, clock, at(2026, 11, 20, 17, 0))[RESPOND] == at(2026, 11, 23, 10, 0)
    engine.set_working_hours("08:30", "17:30", "admin.zhao", lunch_start="12:00", lunch_end="13:00")
    assert due_times_of_a_case_started_at(engine, clock, at(2026, 11, 16, 11, 0))[RESPOND] == at(2026, 11, 16, 14, 0)
    overrides = engine.calendar_overrides()
    assert overrides.hours == WorkingHours.parse("08:30", "17:30", "12:00", "13:00")
    assert (overrides.revision, overrides.changed_by) == (2, "admin.zhao")
    assert [e.detail for e in calendar_audit(engine)] == [
        {"change": "hours", "hours": "09:00-18:00", "before": "08:30-17:30"},
        {"change": "hours", "hours": "08:30-17:30 (lunch 12:00-13:00)", "before": "09:00-18:00"}]


def test_a_working_hour_limit_fires_when_its_working_time_is_used_up(engine, clock):
    due_times_of_a_case_started_at(engine, clock, at(2026, 11, 20, 17, 0))  # due Mon 23 Nov 10:00
    clock.set(at(2026, 11, 23, 9, 59))
    assert engine.fire_due_timers() == 0
    clock.set(at(2026, 11, 23, 10, 0, 1))
    assert engine.fire_due_timers() == 1
    [case] = queries.list_instances(engine.db)
    [fired] = queries.audit_trail(engine.db, case.id, "timer_fired")
    assert fired.element_id == "Timer_respond_limit"
    assert datetime.fromisoformat(fired.detail["due_at"]).astimezone(BEIJING) == at(2026, 11, 23, 10, 0)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda e: e.set_working_hours("17:30", "08:30", "admin"), "work must start before it ends"),
    (lambda e: e.set_working_hours("08:30", "08:30", "admin"), "work must start before it ends"),
    (lambda e: e.set_working_hours("8.30", "17:30", "admin"), "must be written HH:MM"),
    (lambda e: e.set_working_hours("08:30", "24:00", "admin"), "must be written HH:MM"),
    (lambda e: e.set_working_hours("08:30", "17:30", "admin", "12:00"), "needs both its start and its end"),
    (lambda e: e.set_working_hours("08:30", "17:30", "admin", "18:00", "19:00"), "must lie inside"),
    (lambda e: e.set_calendar_day("2026-11-23", "holiday", "admin"), "one of day_off, working_day"),
    (lambda e: e.set_calendar_day("2026-02-30", "day_off", "admin"), "must be written YYYY-MM-DD"),
    (lambda e: e.set_calendar_day("2026-11-23", "day_off", "admin", note="x" * 201), "longer than 200"),
    (lambda e: e.clear_calendar_day("2026-11-24", "admin"), "2026-11-24 has no company override to clear"),
])
def test_bad_edits_are_refused_and_change_nothing(engine, clock, edit, message):
    engine.set_calendar_day("2026-11-23", "day_off", "admin", note="公司年会")
    before = engine.calendar_overrides()
    with pytest.raises(ValueError, match=message):
        edit(engine)
    assert engine.calendar_overrides() == before
    assert len(calendar_audit(engine)) == 1
    assert due_times_of_a_case_started_at(engine, clock, at(2026, 11, 20, 17, 0)) == {
        JUDGE: at(2026, 11, 24, 17, 0), RESPOND: at(2026, 11, 24, 10, 0)}


def test_deploy_accepts_working_hours_and_rejects_a_bad_one(engine):
    for bad in (b"working_hours(-1)", b"working_hours('two')", b"working_hour(2)"):
        with pytest.raises(DiagramError) as err:
            engine.deploy(DIAGRAM.replace(b"working_hours(2)", bad), "owner")
        assert err.value.element_id == "Timer_respond_limit"
    with engine.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessVersion)) == 1


def test_another_engine_sees_an_edit_at_its_next_check(database, clock):
    """The web app edits, the worker (another process) counts with the edit at its next check."""
    editor = WorkflowEngine(database, HandlerRegistry(), clock=clock)
    ticks = [100.0]
    stored = DatabaseCalendar(database, check_seconds=5, monotonic=lambda: ticks[0])
    monday = date(2026, 11, 23)
    assert stored.current().is_working_day(monday)
    editor.set_calendar_day(monday, "day_off", "admin")
    ticks[0] += 4.9
    assert stored.current().is_working_day(monday)  # not checked again yet: no query per timer
    ticks[0] += 0.2
    assert not stored.current().is_working_day(monday)
    # An engine checking every time sees it at once, and so does the engine that made the edit.
    assert not WorkflowEngine(database, HandlerRegistry(), clock=clock,
                              settings=EngineSettings(calendar_check_seconds=0)).calendar.is_working_day(monday)
    editor.clear_calendar_day(monday, "admin")
    assert editor.calendar.is_working_day(monday)


def test_an_engine_given_a_calendar_counts_with_that_one(database, clock):
    own = BusinessCalendar(extra_days_off={date(2026, 11, 23)})
    engine = WorkflowEngine(database, HandlerRegistry(), clock=clock, calendar=own)
    engine.deploy(DIAGRAM, "owner")
    assert due_times_of_a_case_started_at(engine, clock, at(2026, 11, 20, 17, 0))[JUDGE] == at(2026, 11, 24, 17, 0)


def test_the_calendar_from_the_shell(database):
    from click.testing import CliRunner

    from webapp.cli import main

    url = database.engine.url.render_as_string(hide_password=False)

    def cli(*args: str):
        return CliRunner().invoke(main, ["--database-url", url, "calendar", *args], catch_exceptions=False)

    assert "working hours 08:30-17:30" in cli("list").output
    assert cli("day-off", "2026-11-23", "--note", "公司年会", "--as", "admin.zhao").exit_code == 0
    assert cli("working-day", "2026-11-21").exit_code == 0
    assert cli("hours", "09:00", "18:00", "--lunch", "12:00", "13:00").exit_code == 0
    refused = cli("hours", "18:00", "09:00")
    assert refused.exit_code == 2 and "work must start before it ends" in refused.output
    assert cli("clear", "2026-11-21").exit_code == 0
    assert cli("clear", "2026-11-21").exit_code == 2
    listed = cli("list").output
    assert "working hours 09:00-18:00 (lunch 12:00-13:00)" in listed
    assert "2026-11-23 Mon  day off" in listed and "公司年会" in listed and "admin.zhao" in listed
    assert "2026-11-21" not in listed
    calendar = WorkflowEngine(database, HandlerRegistry()).calendar
    assert not calendar.is_working_day(date(2026, 11, 23)) and not calendar.is_working_day(date(2026, 11, 21))
    assert calendar.hours == WorkingHours.parse("09:00", "18:00", "12:00", "13:00")
