"""A limit that runs from receipt can already have run out when the case reaches the step it guards (an
urgent request classified after its 5 minutes): it is breached at that moment, recorded and told like
a limit the worker fired, never silently skipped."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.handler_api import HandlerContext, HandlerRegistry
from engine.records import queries
from engine.storage.models import OutboxMessage

DIAGRAM = (Path(__file__).parent / "diagrams" / "simple_review.bpmn").read_bytes().replace(
    b"<bpmn:timeDuration>PT2H</bpmn:timeDuration>",
    b"<bpmn:timeDate>(datetime.fromisoformat(received_at) + timedelta(hours=2)).isoformat()</bpmn:timeDate>")


RECEIPT: dict[str, str] = {}


@pytest.fixture
def engine(make_engine, staff, clock):
    registry = HandlerRegistry()

    @registry.handler("test.prepare")
    def prepare(ctx: HandlerContext):
        return {"received_at": RECEIPT["at"]}  # as an intake handler keeps the moment of receipt

    for topic in ("test.escalate", "test.finish"):
        registry.handler(topic)(lambda ctx: {})
    eng = make_engine(registry)
    eng.deploy(DIAGRAM, "owner")
    return eng


def _received(engine, clock, ago: timedelta) -> int:
    RECEIPT["at"] = (clock.now() - ago).isoformat()
    return engine.start_instance("simple_review", {"customer": "甲"}, "sales.li")


def test_a_limit_already_run_out_when_reached_is_breached_recorded_and_told(engine, clock):
    case = _received(engine, clock, timedelta(hours=3))
    [record] = [r for r in queries.sla_records(engine.db, case) if r.element_id == "Timer_review_limit"]
    assert record.status == "breached"
    assert record.due_at == clock.now() - timedelta(hours=1)  # two hours from receipt, not from reaching it
    assert record.department == "quality"
    [fired] = queries.audit_trail(engine.db, case, "timer_fired")
    assert fired.element_id == "Timer_review_limit" and fired.detail["reached_after_due"] is True
    with engine.db.sessions() as session:
        breaches = session.scalars(select(OutboxMessage).where(
            OutboxMessage.instance_id == case, OutboxMessage.subject.like("超时：2小时内评审%"))).all()
    assert {m.recipient for m in breaches} == {"department:quality"}  # nobody held it: the department, its head too


def test_one_second_before_and_after_a_limit_counted_from_receipt(engine, clock):
    case = _received(engine, clock, timedelta(hours=2) - timedelta(seconds=1))
    [record] = [r for r in queries.sla_records(engine.db, case) if r.element_id == "Timer_review_limit"]
    assert record.status == "running" and record.due_at == clock.now() + timedelta(seconds=1)
    clock.advance(timedelta(seconds=2))
    engine.fire_due_timers()
    [record] = [r for r in queries.sla_records(engine.db, case) if r.element_id == "Timer_review_limit"]
    assert record.status == "breached"
    assert "reached_after_due" not in queries.audit_trail(engine.db, case, "timer_fired")[0].detail


ERROR_LEAVES_LIMIT = (Path(__file__).parent / "diagrams" / "error_leaves_limit.bpmn").read_bytes()


@pytest.fixture
def withdrawing(make_engine, staff):
    from engine.handler_api import BpmnError

    registry = HandlerRegistry()

    @registry.handler("test.check")
    def check(ctx: HandlerContext):
        if ctx.data.get("withdraw"):
            raise BpmnError("WITHDRAWN")
        return {}

    eng = make_engine(registry)
    eng.deploy(ERROR_LEAVES_LIMIT, "owner")
    return eng


@pytest.mark.parametrize("withdraw, status", [(False, "met"), (True, "cancelled")])
def test_a_limit_whose_work_an_error_boundary_takes_away_no_longer_applies(withdrawing, withdraw, status):
    """Finishing the work meets the limit; an error boundary that withdraws the work is no meeting of it."""
    case = withdrawing.start_instance("error_leaves_limit", {}, "qa.wang")
    [task] = queries.list_tasks(withdrawing.db, instance_id=case)
    withdrawing.complete_task(task.id, "qa.wang", {"withdraw": withdraw})
    [record] = queries.sla_records(withdrawing.db, case)
    assert record.status == status
