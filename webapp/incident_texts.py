"""What a process owner reads about an incident: why a diagram element's code failed, in the page's
language (engine.code_failures gives the kinds and their English texts for the CLI and the API)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _


def _texts() -> dict[str, str]:
    # Evaluated per request: gettext answers in the page's language.
    return {
        "undefined_name": _("%(element)s: the expression uses “%(name)s”, which this case does not have (no form "
                            "field, handler or earlier step sets it). Correct the diagram or the data, then retry."),
        "type_mismatch": _("%(element)s: the expression combines or compares values of different kinds (for "
                           "example a number with text). Correct the diagram, then retry."),
        "division_by_zero": _("%(element)s: the expression divides by zero. Correct the diagram, then retry."),
        "missing_key": _("%(element)s: the expression reads an entry that the data does not have. Correct the "
                         "diagram, then retry."),
        "bad_value": _("%(element)s: the expression was given a value it cannot use. Correct the diagram or the "
                       "data, then retry."),
        "limit_memory": _("%(element)s: the expression needed more than %(megabytes)s MB of memory and was "
                          "stopped. Simplify it, then retry."),
        "limit_time": _("%(element)s: the expression ran longer than %(seconds)s s and was stopped. Simplify it, "
                        "then retry."),
        "limit_size": _("%(element)s: the expression would build a value larger than the engine allows and was "
                        "stopped. Simplify it, then retry."),
        "limit_steps": _("%(element)s: the case ran %(steps)s steps without waiting for a person or a timer and "
                         "was stopped. Check the diagram for a loop without a user task."),
        "timer_rule": _("%(element)s: the timer value cannot be used: %(detail)s. Correct the diagram or the "
                        "data, then retry."),
        "not_allowed": _("%(element)s: the expression uses something diagrams may not use. Correct the diagram, "
                         "then retry."),
        "result_not_storable": _("%(element)s: the script left a value the case cannot store. Correct the "
                                 "diagram, then retry."),
        "failed": _("%(element)s: the diagram's code failed. Check the element in the modeller, then retry."),
    }


def failure_text(reason: dict[str, Any] | None, element: str, fallback: str) -> str:
    """The reason of a diagram-code incident in the page's language; `fallback` (the stored English text,
    or a handler's error) when the incident has no reason."""
    if not reason:
        return fallback
    texts = _texts()
    template = texts.get(reason.get("kind"), texts["failed"])
    params = {"name": "", "megabytes": "", "seconds": "", "steps": "", "value": "", "detail": "",
              **(reason.get("params") or {}), "element": element}
    if reason.get("kind") == "timer_rule" and params.get("rule"):
        try:  # the bound the timer broke, as engine.timer_bounds states it (translated like deploy rules)
            params["detail"] = _(params["rule"]) % params
        except (KeyError, TypeError, ValueError):
            pass
    try:
        return template % params
    except (KeyError, TypeError, ValueError):
        return texts["failed"] % {"element": element}
