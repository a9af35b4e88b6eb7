"""Why a diagram's code failed while a case ran, as a stated rule rather than Python's words.

A condition, script, timer value or multi-instance expression that fails at run time (a name the case
does not have, a comparison of a number with text, a division by zero, a limit of the sandbox) becomes
an incident on the element. The incident keeps a `kind` and its parameters; the English text below is
what the CLI, the API and the logs show, and the web translates the same kinds (webapp/display.py).

Pure Python: the sandbox process uses it too."""
from __future__ import annotations

from typing import Any

from engine.expression_policy import ExpressionLimitExceeded, ExpressionRejected

# kind -> English text; {element} is the diagram element, the other fields come from `params`.
TEXTS: dict[str, str] = {
    "undefined_name": "{element}: the expression uses '{name}', which this case does not have (no form "
                      "field, handler or earlier step sets it). Correct the diagram or the data, then retry.",
    "type_mismatch": "{element}: the expression combines or compares values of different kinds (for example a "
                     "number with text). Correct the diagram, then retry.",
    "division_by_zero": "{element}: the expression divides by zero. Correct the diagram, then retry.",
    "missing_key": "{element}: the expression reads an entry that the data does not have. Correct the diagram, "
                   "then retry.",
    "bad_value": "{element}: the expression was given a value it cannot use. Correct the diagram or the data, "
                 "then retry.",
    "limit_memory": "{element}: the expression needed more than {megabytes} MB of memory and was stopped.",
    "limit_time": "{element}: the expression ran longer than {seconds} s and was stopped.",
    "limit_size": "{element}: the expression would build a value larger than the engine allows ({detail}) "
                  "and was stopped.",
    "limit_steps": "{element}: the case ran {steps} steps without waiting for a person or a timer and was "
                   "stopped (is there a loop without a user task?).",
    "timer_rule": "{element}: the timer value cannot be used: {detail}. Correct the diagram or the data, "
                  "then retry.",
    "not_allowed": "{element}: the expression {detail}.",
    "result_not_storable": "{element}: the script left a value the case cannot store ({detail}).",
    "failed": "{element}: the diagram's code failed ({detail}).",
}


class DiagramCodeFailed(Exception):
    """Diagram code that failed, with the rule it broke; raised by the sandbox and the timer checks."""

    def __init__(self, kind: str, **params: Any) -> None:
        self.kind = kind if kind in TEXTS else "failed"
        self.params = {name: value for name, value in params.items() if _plain(value)}
        super().__init__(describe(self.kind, self.params, "diagram code"))


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def describe(kind: str, params: dict[str, Any], element: str) -> str:
    """The English text of a failure on `element`."""
    template = TEXTS.get(kind, TEXTS["failed"])
    try:
        return template.format(element=element, **params)
    except (KeyError, IndexError, ValueError):
        return TEXTS["failed"].format(element=element, detail=kind)


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
