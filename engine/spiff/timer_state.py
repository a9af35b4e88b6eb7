"""Where a waiting timer keeps its due time and its paused remainder (SpiffWorkflow's task internal data)."""
from __future__ import annotations

from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition

PAUSED = "aftersales_paused_remaining_seconds"
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def paused_remaining(task) -> float | None:
    return task._get_internal_data(PAUSED)


def set_due(task, due: datetime) -> None:
    """Move a waiting timer's stored due time (the one SpiffWorkflow compares with the clock)."""
    value = task._get_internal_data("event_value")
    if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition) and isinstance(value, dict):
        task._set_internal_data(event_value={**value, "next": due.isoformat()})
    else:
        task._set_internal_data(event_value=due.isoformat())


def due_at(task) -> datetime | None:
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
        if not isinstance(value, dict) or value.get("cycles") == 0:
            return None
        value = value["next"]
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
