"""Errors a command can end with; each one leaves the database as it was."""
from __future__ import annotations

from typing import Any


def N_(template: str) -> str:
    """Marks a rule's English text for translation (pybabel extracts `N_`); the engine keeps it English and
    the web app translates it (webapp.modeler.rule_text), so the CLI reads English and the pages Chinese."""
    return template


class Term(str):
    """A word or phrase given to a rule as a parameter that is itself translated (e.g. "the condition")."""


class StatedRule(ValueError):
    """A refusal stated as a rule: an English template marked with N_ (%(name)s placeholders) and its
    parameters; a parameter may itself be a StatedRule or a Term, translated in turn."""

    def __init__(self, template: str, **params: Any) -> None:
        self.template = template
        self.params = params
        super().__init__(self.english())

    def english(self) -> str:
        if not self.params:
            return self.template
        return self.template % {name: _english(value) for name, value in self.params.items()}


def _english(value: Any) -> Any:
    return value.english() if isinstance(value, StatedRule) else value


class DiagramError(StatedRule):
    """A diagram that cannot be deployed; names the element and states the rule it breaks."""

    def __init__(self, message: str, element_id: str | None = None, **params: Any) -> None:
        self.element_id = element_id
        super().__init__(message, **params)
        self.problem = self.english()

    def __str__(self) -> str:
        return f"{self.element_id}: {self.problem}" if self.element_id else self.problem


class EngineError(Exception):
    """Base of the engine's command errors."""


class NotFound(EngineError):
    pass


class ConcurrencyConflict(EngineError):
    """Someone else changed the same case at the same time; reload and try again."""


class DatabaseContention(ConcurrencyConflict):
    """The database chose this command as the victim of a deadlock or a serialization failure: nothing
    was saved. `retried_once` runs such a command once more before the caller hears of the conflict."""


class DatabaseBusy(EngineError):
    """Other writers held the database longer than a command may wait (SQLite's busy timeout); nothing
    was saved and the same action succeeds when tried again in a moment."""


class TaskNotOpen(EngineError):
    """The task was already completed or cancelled."""


class TaskClaimedByOther(EngineError):
    pass


class IncidentNotOpen(EngineError):
    pass


class NotAColleague(EngineError):
    """A task handed over to someone who is not an active member of its department."""


class NotPermitted(EngineError):
    """Someone who may not act on a task tried to; nothing was changed."""


class NotAMember(NotPermitted):
    """A task worked by someone who is no active member of its department (nor an admin): an unknown or
    deactivated user name, or another department's user. Every entry point (web, API, CLI) gets this."""


class HeadsOnly(NotPermitted):
    """A task only its department's heads may work (candidateGroups "head:<code>"), tried by someone else."""


class TaskRoutingError(EngineError):
    """A task whose department comes from case data that names no department; nothing was saved."""


class CaseDataError(EngineError):
    """The case data does not fit what the diagram needs (e.g. no list for a multi-instance task);
    nothing was saved."""


class NotStartable(EngineError):
    """A process that is not started by hand (its timer start event starts it on its schedule)."""
