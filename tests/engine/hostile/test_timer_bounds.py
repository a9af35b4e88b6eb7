"""Timers beyond the bounds (issue 17, items 3, 4 and 8): a duration or date more than 10 years away hangs
SpiffWorkflow's month-by-month computation, a cycle faster than once a minute fires without end. Deploy refuses
them naming the timer, and the check itself never loops (it reads the text)."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.diagrams.catalog import DiagramError
from engine.diagrams.timer_bounds import (
    MAX_TIMER_SPAN,
    MIN_CYCLE_INTERVAL,
    TimerBoundsExceeded,
    check_timer_bounds,
)
from engine.handler_api import HandlerRegistry
from engine.runtime.workflow_engine import WorkflowEngine
from tests.engine.deploy_checks import deploying_engine, stored
from tests.engine.hostile.refusal_diagrams import with_timer

NOW = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
MONTHLY = (Path(__file__).parents[1] / "diagrams" / "monthly_report.bpmn").read_bytes()

TOO_FAR = [("duration", "P99999999Y"), ("duration", "P11Y"), ("duration", "PT999999999999H"),
           ("duration", "P" + "9" * 400 + "D"), ("date", "2099-01-01T00:00:00+08:00"),
           ("cycle", "R/P99999999Y"), ("cycle", "R/PT0S"), ("cycle", "R/PT0.001S"), ("cycle", "R5/PT59S"),
           ("cycle", "R/2026-12-01T09:00:00+08:00/PT1S"), ("cycle", "R/2099-12-01T09:00:00+08:00/P1D")]
WITHIN = [("duration", "PT2H"), ("duration", "P10Y"), ("duration", "P3D"), ("date", "2030-01-01T00:00:00+08:00"),
          ("date", "2020-01-01T00:00:00"), ("cycle", "R/PT2H"), ("cycle", "R/PT1M"), ("cycle", "R3/PT30M"),
          ("cycle", "R/2026-12-01T09:00:00+08:00/P1M")]


@pytest.mark.parametrize(("kind", "value"), TOO_FAR)
def test_values_beyond_the_bounds_are_refused_at_once(kind, value):
    with pytest.raises(TimerBoundsExceeded) as refused:
        check_timer_bounds(kind, value, NOW)
    assert value[:60] in str(refused.value) or "characters" in str(refused.value)


@pytest.mark.parametrize(("kind", "value"), WITHIN)
def test_values_within_the_bounds_pass(kind, value):
    check_timer_bounds(kind, value, NOW)


def test_the_bounds_are_ten_years_and_one_minute():
    assert MAX_TIMER_SPAN.days == 3653 and MIN_CYCLE_INTERVAL.total_seconds() == 60


@pytest.fixture
def engine(database, clock):
    return deploying_engine(database, clock)


@pytest.mark.parametrize(("kind", "value", "words"), [
    ("timeDuration", "P99999999Y", "longer than the longest a timer may wait"),
    ("timeDate", "2099-01-01T00:00:00+08:00", "more than 3653 days (10 years) ahead"),
    ("timeCycle", "R/PT0S", "more often than once a minute"),
    ("timeCycle", "R/PT0.001S", "more often than once a minute"),
    ("timeCycle", "R/P99999999Y", "longer than the longest a timer may wait"),
])
def test_a_boundary_timer_beyond_the_bounds_is_refused_naming_it(engine, kind, value, words):
    with pytest.raises(DiagramError) as refused:
        engine.deploy(with_timer(kind, value), "owner")
    assert refused.value.element_id == "Timer_review_limit" and words in refused.value.problem
    assert stored(engine) == (0, 0)


@pytest.mark.parametrize("cycle", ["R/2026-12-01T09:00:00+08:00/PT0S", "R/2026-12-01T09:00:00+08:00/PT1S",
                                   "R/2099-12-01T09:00:00+08:00/P1M"])
def test_a_start_timer_beyond_the_bounds_is_refused_naming_it(database, clock, cycle):
    registry = HandlerRegistry()
    registry.handler("test.monthly_report")(lambda ctx: {})
    engine = WorkflowEngine(database, registry, clock=clock)
    with pytest.raises(DiagramError) as refused:
        engine.deploy(MONTHLY.replace(b"R/2026-12-01T09:00:00+08:00/P1M", cycle.encode()), "owner")
    assert refused.value.element_id and refused.value.problem.startswith("bad timer start")
    assert stored(engine) == (0, 0)
