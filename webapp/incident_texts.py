"""What a process owner reads about an incident: why a diagram element's code failed, in the page's
language (engine.diagrams.code_failures states the rules as N_-marked templates; they are translated here)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from engine.diagrams.code_failures import PLACEHOLDERS, TEXTS


def failure_text(reason: dict[str, Any] | None, element: str, fallback: str) -> str:
    """The reason of a diagram-code incident in the page's language; `fallback` (the stored English text,
    or a handler's error) when the incident has no reason."""
    if not reason:
        return fallback
    params = {**dict.fromkeys(PLACEHOLDERS, ""), **(reason.get("params") or {}), "element": element}
    if reason.get("kind") == "timer_rule" and params.get("rule"):
        try:  # the bound the timer broke, as engine.diagrams.timer_bounds states it (translated like deploy rules)
            params["detail"] = _(params["rule"]) % params
        except (KeyError, TypeError, ValueError):
            pass
    try:
        return _(TEXTS.get(reason.get("kind"), TEXTS["failed"])) % params
    except (KeyError, TypeError, ValueError):
        return _(TEXTS["failed"]) % {"element": element}
