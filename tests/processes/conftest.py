"""A case walked through a deployed diagram the way department users would, with the injected clock."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.records import queries
from engine.records.queries import TaskView
from tests.conftest import deploy_every_diagram


class Case:
    def __init__(self, engine, instance_id: int) -> None:
        self.engine = engine
        self.id = instance_id

    def open_tasks(self) -> list[TaskView]:
        return queries.list_tasks(self.engine.db, instance_id=self.id)

    def open_elements(self) -> set[str]:
        return {t.element_id for t in self.open_tasks()}

    def task(self, element_id: str) -> TaskView:
        matches = [t for t in self.open_tasks() if t.element_id == element_id]
        assert matches, f"{element_id} is not open; open: {sorted(self.open_elements())}"
        return matches[0]

    def complete(self, element_id: str, user: str, **data: Any) -> None:
        self.engine.complete_task(self.task(element_id).id, user, data)

    @property
    def instance(self):
        return queries.get_instance(self.engine.db, self.id)

    def events(self, kind: str | None = None):
        return queries.audit_trail(self.engine.db, self.id, kind)

    def fired(self) -> list[str]:
        """The timers that fired in this case, in order (element ids)."""
        return [e.element_id for e in self.events("timer_fired")]

    def limits(self, element_id: str) -> list:
        """The SLA records of one limit timer of this case."""
        return [r for r in queries.sla_records(self.engine.db, self.id) if r.element_id == element_id]

    def limit(self, element_id: str):
        [record] = self.limits(element_id)
        return record


def cases_of(engine, process_key: str) -> list[Case]:
    """Every case of a process, oldest first (the cases a schedule started, for instance)."""
    return [Case(engine, i.id) for i in sorted(queries.list_instances(engine.db, process_key), key=lambda i: i.id)]


@pytest.fixture
def deployed(make_engine, staff, database_snapshots):
    """Every diagram deployed, with the demo users of each department (the engine checks who acts)."""
    engine = make_engine()
    deploy_every_diagram(engine, database_snapshots, "process.owner")
    return engine


@pytest.fixture
def travel(deployed, clock):
    """Move the clock and let the worker fire what is due."""
    def to(moment=None, by: timedelta | None = None) -> int:
        if by is not None:
            clock.advance(by)
        else:
            clock.set(moment)
        return deployed.fire_due_timers()
    return to
