"""Why a diagram's code failed while a case ran, as a stated rule rather than Python's words.

A condition, script, timer value or multi-instance expression that fails at run time (a name the case
does not have, a comparison of a number with text, a division by zero, a limit of the sandbox) becomes
an incident on the element. The incident keeps a `kind` and its parameters; the English template below is
what the CLI, the API and the logs show, and the web shows the same template translated.

Pure Python: the sandbox process uses it too."""
from __future__ import annotations

from typing import Any

from engine.diagrams.expression_policy import ExpressionLimitExceeded, ExpressionRejected
from engine.errors import N_

# kind -> the rule as an N_-marked English template (%(element)s is the diagram element, the other
# placeholders come from `params`); the web translates the same templates (webapp/incident_texts.py).
TEXTS: dict[str, str] = {
    "undefined_name": N_("%(element)s: the expression uses “%(name)s”, which this case does not have (no form "
                        "field, handler or earlier step sets it). Correct the diagram or the data, then retry."),
    "type_mismatch": N_("%(element)s: the expression combines or compares values of different kinds (for "
                       "example a number with text). Correct the diagram, then retry."),
    "division_by_zero": N_("%(element)s: the expression divides by zero. Correct the diagram, then retry."),
    "missing_key": N_("%(element)s: the expression reads an entry that the data does not have. Correct the "
                     "diagram, then retry."),
    "bad_value": N_("%(element)s: the expression was given a value it cannot use. Correct the diagram or the "
                   "data, then retry."),
    "limit_memory": N_("%(element)s: the expression needed more than %(megabytes)s MB of memory and was "
                      "stopped. Simplify it, then retry."),
    "limit_time": N_("%(element)s: the expression ran longer than %(seconds)s s and was stopped. Simplify it, "
                    "then retry."),
    "limit_size": N_("%(element)s: the expression would build a value larger than the engine allows and was "
                    "stopped. Simplify it, then retry."),
    "limit_steps": N_("%(element)s: the case ran %(steps)s steps without waiting for a person or a timer and "
                     "was stopped. Check the diagram for a loop without a user task."),
    "timer_rule": N_("%(element)s: the timer value cannot be used: %(detail)s. Correct the diagram or the "
                    "data, then retry."),
    "not_allowed": N_("%(element)s: the expression uses something diagrams may not use. Correct the diagram, "
                     "then retry."),
    "result_not_storable": N_("%(element)s: the script left a value the case cannot store. Correct the "
                             "diagram, then retry."),
    "failed": N_("%(element)s: the diagram's code failed. Check the element in the modeller, then retry."),
    # The worker's own work on one item (engine.runtime.worker_incidents); `detail` is the failure as recorded.
    "timers_failed": N_("%(element)s: the case's due timers could not be fired, because the step after them "
                       "failed (%(detail)s). Other cases are not held up. The worker tries again after a pause; "
                       "if it keeps failing, correct the diagram or the case data, then retry."),
    "start_failed": N_("%(element)s: the scheduled case could not be started (%(detail)s). Other schedules are "
                      "not held up. The worker tries again after a pause; if it keeps failing, correct the "
                      "diagram, then retry."),
}


class DiagramCodeFailed(Exception):
    """Diagram code that failed, with the rule it broke; raised by the sandbox and the timer checks."""

    def __init__(self, kind: str, **params: Any) -> None:
        self.kind = kind if kind in TEXTS else "failed"
        self.params = {name: value for name, value in params.items() if _plain(value)}
        super().__init__(describe(self.kind, self.params, "diagram code"))


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


PLACEHOLDERS = ("name", "megabytes", "seconds", "steps", "value", "detail")


def describe(kind: str, params: dict[str, Any], element: str) -> str:
    """The English text of a failure on `element`; a technical detail the rule does not name is added in
    brackets (for the log and the CLI, not for the page)."""
    template = TEXTS.get(kind, TEXTS["failed"])
    values = {**dict.fromkeys(PLACEHOLDERS, ""), **params, "element": element}
    try:
        text = template % values
    except (KeyError, TypeError, ValueError):
        text = TEXTS["failed"] % {"element": element}
    detail = params.get("detail")
    return f"{text} ({detail})" if detail and "%(detail)s" not in template else text


def classify(err: BaseException) -> DiagramCodeFailed:
    """The failure for an exception raised by diagram code (its type decides the rule broken)."""
    if isinstance(err, DiagramCodeFailed):
        return err
    if isinstance(err, ExpressionLimitExceeded):
        return DiagramCodeFailed("limit_size", detail=str(err))
    if isinstance(err, ExpressionRejected):
        return DiagramCodeFailed("not_allowed", detail=err.reason)
    if isinstance(err, NameError):
        return DiagramCodeFailed("undefined_name", name=getattr(err, "name", None) or "?")
    if isinstance(err, ZeroDivisionError):
        return DiagramCodeFailed("division_by_zero")
    if isinstance(err, TypeError):
        return DiagramCodeFailed("type_mismatch")
    if isinstance(err, KeyError | IndexError):
        return DiagramCodeFailed("missing_key")
    if isinstance(err, MemoryError):
        return DiagramCodeFailed("limit_memory", megabytes=0)
    if isinstance(err, RecursionError):
        return DiagramCodeFailed("limit_size", detail="nesting too deep")
    if isinstance(err, ArithmeticError | ValueError | AttributeError):
        return DiagramCodeFailed("bad_value")
    return DiagramCodeFailed("failed", detail=type(err).__name__)
