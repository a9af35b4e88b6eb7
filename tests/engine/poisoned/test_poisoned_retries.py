"""A handler retry that fails after its handler ran (the next step cannot be routed) is counted and put
back by the back-off; the retries due behind it run in the same round (issue 18, item 1)."""
from __future__ import annotations

from datetime import timedelta

from engine.handler_api import HandlerRegistry
from engine.records import queries
from tests.engine.poisoned.diagrams import DIAGRAM


def review_for_customer() -> bytes:
    """simple_review whose review goes to the department the case's `customer` names."""
    return DIAGRAM.replace(b'<bpmn:userTask id="Task_review" name="\xe8\xaf\x84\xe5\xae\xa1" camunda:candidateGroups="quality">',
                           '<bpmn:userTask id="Task_review" name="评审" camunda:candidateGroups="${customer}">'.encode())


def flaky_prepare() -> HandlerRegistry:
    """test.prepare fails the first time for each case, then works."""
    registry = HandlerRegistry()
    seen: set[int] = set()

    @registry.handler("test.prepare")
    def prepare(ctx):
        if ctx.instance_id not in seen:
            seen.add(ctx.instance_id)
            raise ConnectionError("the ERP is not answering")
        return {}

    return _with_others(registry)


def _with_others(registry: HandlerRegistry) -> HandlerRegistry:
    for topic in ("test.escalate", "test.finish"):
        registry.handler(topic)(lambda ctx: {})
    return registry


def test_a_retry_failing_after_its_handler_does_not_hold_up_the_retries_behind_it(make_engine, staff, clock):
    xml = review_for_customer()
    assert xml != DIAGRAM
    engine = make_engine(flaky_prepare())
    engine.deploy(xml, "owner.xu")
    bad = engine.start_instance("simple_review", {"customer": "甲"}, "sales.li")
    clock.advance(timedelta(seconds=1))
    good = engine.start_instance("simple_review", {"customer": "quality"}, "sales.li")
    assert {i.instance_id for i in queries.list_incidents(engine.db)} == {bad, good}
    clock.advance(timedelta(minutes=2))

    assert engine.retry_due_incidents() == 2
    [left] = queries.list_incidents(engine.db)
    assert left.instance_id == bad and left.attempts == 2
    assert left.next_retry_at == clock.now() + timedelta(minutes=5)  # counted and put back, not retried each round
    assert [t.element_id for t in queries.list_tasks(engine.db, instance_id=good)] == ["Task_review"]
    assert engine.retry_due_incidents() == 0
