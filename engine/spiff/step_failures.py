"""A diagram element whose code failed in a command, and how to tell such a failure from the engine's own."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.diagrams.code_failures import DiagramCodeFailed, classify


@dataclass(frozen=True)
class StepFailure:
    """A diagram element whose code failed in this command (a condition, script, timer value): the case
    holds there, with the rule it broke, until the step is retried."""

    task_id: str
    element_id: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


# Engine steps (gateways, scripts, events, handlers) one command may run: a loop in the diagram that never
# waits for a person or a timer is stopped here instead of holding the database for ever.
MAX_ENGINE_STEPS = 5_000


def diagram_cause(err: BaseException) -> DiagramCodeFailed | None:
    """The failure of the diagram's own code behind an exception SpiffWorkflow raised, if that is what it is:
    SpiffWorkflow wraps what a condition or script raised (in `__cause__` / `__context__`)."""
    seen: set[int] = set()
    current: BaseException | None = err
    found: BaseException | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DiagramCodeFailed):
            return current
        if found is None and not _is_spiff_wrapper(current):
            found = current
        current = current.__cause__ or current.__context__
    if _is_spiff_wrapper(err) and found is not None:
        return classify(found)
    if _is_spiff_wrapper(err):
        return DiagramCodeFailed("failed", detail=getattr(err, "error_type", "") or "SpiffWorkflow")
    return None


def _is_spiff_wrapper(err: BaseException) -> bool:
    return type(err).__module__.startswith("SpiffWorkflow")
