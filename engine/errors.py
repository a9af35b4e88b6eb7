"""Errors a command can end with; each one leaves the database as it was."""
from __future__ import annotations


class EngineError(Exception):
    """Base of the engine's command errors."""


class NotFound(EngineError):
    pass


class ConcurrencyConflict(EngineError):
    """Someone else changed the same case at the same time; reload and try again."""


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
