"""SpiffWorkflow's parser errors as stated rules: the parser words its errors for developers (English, with
Python reprs of XML nodes such as "<Element … at 0x7fd8…>"); a process owner reads the rule instead."""
from __future__ import annotations

import re

from engine.diagrams.catalog import DiagramError
from engine.errors import N_

# The parser's own texts that have a rule of their own (substring of the parser's message → the rule).
_KNOWN: tuple[tuple[str, str], ...] = (
    ("Non-default exclusive outgoing sequence flow without condition",
     N_("every flow leaving an exclusive gateway needs a condition, except the gateway's default flow")),
    ("No start event found", N_("a process or subprocess needs a start event")),
    ("SubWorkflow Must contain an End event", N_("a subprocess needs an end event")),
    ("Invalid Script Task", N_("a script task needs a script")),
    ("Multiple outgoing flows are not supported", N_("several outgoing flows without conditions; use a gateway "
                                                       "to split")),
    ("Cancel Events may only be used with transactions", N_("a cancel event is allowed only in a transaction")),
    ("Conditional event definition with missing condition", N_("a conditional event needs a condition")),
    ("Cannot resolve dataInputAssociation", N_("a data input association names a data object that is not in the "
                                               "diagram")),
    ("Cannot resolve dataOutputAssociation", N_("a data output association names a data object that is not in "
                                                "the diagram")),
    ("was not found. Did you mean", N_("a call activity names a process that is not in this diagram")),
    ("No DMN Diagram available", N_("business rule tasks (DMN decisions) are not supported; use a script task "
                                    "or a service task")),
    ("service task needs Implementation 'External'",
     N_("a service task needs Implementation 'External' with a topic (camunda:type=\"external\" "
        "camunda:topic=\"…\") naming its handler")),
)
_NODE_REPR = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-fA-F]+>")
_OBJECT_REPR = re.compile(r"<[\w.]+ (?:object )?at 0x[0-9a-fA-F]+>")


def plain_parse_error(err: BaseException, element_id: str | None) -> DiagramError:
    """The rule a parser error breaks; a Python error (KeyError, TypeError…) is never shown as such."""
    text = str(err.args[0]) if err.args else ""
    if not isinstance(err, Exception) or type(err).__module__ == "builtins":
        return DiagramError(N_("the engine cannot read this element: a reference or setting it needs is missing "
                               "or invalid"), element_id)
    for found, rule in _KNOWN:
        if found in text:
            return DiagramError(rule, element_id)
    detail = _OBJECT_REPR.sub("…", _NODE_REPR.sub(lambda m: m.group(1), text)).strip()
    return DiagramError(N_("the engine cannot run this element as drawn: %(detail)s"), element_id,
                        detail=detail[:300] or "?")
