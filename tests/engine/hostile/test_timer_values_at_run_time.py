"""A timer value computed from case data is checked when a case reaches it, like a literal at deploy: a
duration beyond 10 years (SpiffWorkflow would loop month by month through P99999999Y, holding the write
lock) or a cycle faster than once a minute (R/PT0S fires without end) is an incident on the timer, and the
start of the case returns at once."""
from __future__ import annotations

import pytest

from engine.records import queries
from tests.engine.hostile.diagrams import noop_handlers, with_timer


@pytest.mark.parametrize(("kind", "value", "amount", "words"), [
    ("timeDuration", "f'P{amount}Y'", 99999999, "P99999999Y"),
    ("timeCycle", "f'R/PT{amount - 1}S'", 1, "R/PT0S"),
    ("timeCycle", "f'R/PT0.00{amount}S'", 1, "R/PT0.001S"),
    ("timeDate", "f'{2026 + amount}-01-01T00:00:00+08:00'", 5000, "7026-01-01"),
])
def test_a_computed_timer_out_of_bounds_is_an_incident_on_the_timer(make_engine, staff, kind, value, amount, words):
    engine = make_engine(noop_handlers())
    engine.deploy(with_timer(value, kind), "owner")
    case = engine.start_instance("simple_review", {"customer": "甲", "amount": amount}, "sales.li")
    [incident] = queries.list_incidents(engine.db, instance_id=case)
    assert incident.element_id == "Timer_review_limit" and incident.reason["kind"] == "timer_rule"
    assert words in incident.error
    [task] = queries.list_tasks(engine.db, instance_id=case)  # the review itself still waits for Quality
    assert task.element_id == "Task_review"
    assert queries.get_instance(engine.db, case).next_due_at is None  # nothing for the worker to spin on


def test_a_computed_timer_within_bounds_still_runs(make_engine, staff, clock):
    engine = make_engine(noop_handlers())
    engine.deploy(with_timer("f'PT{amount}H'"), "owner")
    case = engine.start_instance("simple_review", {"customer": "甲", "amount": 2}, "sales.li")
    assert queries.list_incidents(engine.db, instance_id=case) == []
    assert queries.get_instance(engine.db, case).next_due_at is not None
