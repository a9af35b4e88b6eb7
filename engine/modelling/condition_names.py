"""A condition that reads a case variable nothing defines fails for every case that reaches it: refused at
deploy. The check is conservative (handlers declare no outputs): a name is known when any form field, script
assignment, multi-instance variable or input/output parameter of the diagram defines it, or when it appears
as a text in the source of any registered handler (what a handler returns is a dict with text keys). A
process started without a start form takes any start data, so its conditions are not checked."""
from __future__ import annotations

import ast
import inspect
import re
from functools import lru_cache
from typing import Any

from engine.diagrams.catalog import BPMN_NS, CAMUNDA_NS, DiagramError, ParsedDiagram
from engine.diagrams.expression_policy import ALLOWED_FUNCTIONS
from engine.errors import N_
from engine.handler_api import HandlerRegistry

_B = f"{{{BPMN_NS}}}"
_C = f"{{{CAMUNDA_NS}}}"
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def check_condition_names(diagram: ParsedDiagram, process, catalog: dict[str, Any],
                          handlers: HandlerRegistry) -> None:
    """Refuse the first sequence-flow condition reading a name that is defined nowhere."""
    if catalog.get("start_form") is None and not _timer_started(catalog):
        return  # started with whatever data the caller sends: any name may be defined
    known: set[str] | None = None
    for node in process.iter(f"{_B}conditionExpression"):
        try:
            tree = ast.parse((node.text or "").strip(), mode="eval")
        except SyntaxError:
            continue  # the expression checks say what is wrong with it
        read = _names_read(tree)
        if not read:
            continue
        if known is None:
            known = _defined_names(diagram) | _handler_names(handlers) | set(ALLOWED_FUNCTIONS)
            if "*" in known:
                return
        unknown = sorted(read - known)
        if unknown:
            flow = node.getparent()
            raise DiagramError(N_("the condition reads %(name)s, which no form field, script, handler or start "
                                  "data of this process defines (check the spelling against the form field ids)"),
                               flow.get("id") if flow is not None else None, name=unknown[0])


def _timer_started(catalog: dict[str, Any]) -> bool:
    return any("timer" in catalog["elements"][e] for e in catalog.get("start_events", []))


def _names_read(tree: ast.AST) -> set[str]:
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound


def _defined_names(diagram: ParsedDiagram) -> set[str]:
    root = diagram.root
    names = {f.get("id") for f in root.iter(f"{_C}formField") if f.get("id")}
    for tag in ("inputParameter", "outputParameter"):
        names |= {p.get("name") for p in root.iter(f"{_C}{tag}") if p.get("name")}
    for loop in root.iter(f"{_B}multiInstanceLoopCharacteristics"):
        for attribute in ("collection", "elementVariable"):
            names |= set(_IDENTIFIER.findall(loop.get(f"{_C}{attribute}") or ""))
    for prop in root.iter(f"{_C}property"):
        if prop.get("name") == "collect_as" and prop.get("value"):
            names.add(prop.get("value").strip())
    for script in root.iter(f"{_B}script"):
        try:
            tree = ast.parse(script.text or "", mode="exec")
        except SyntaxError:
            continue
        names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names


def _handler_names(handlers: HandlerRegistry) -> set[str]:
    names: set[str] = set()
    for topic in handlers.topics():
        names |= _module_texts(inspect.getmodule(handlers.get(topic)))
    return names


@lru_cache(maxsize=256)
def _module_texts(module: Any) -> frozenset[str]:
    """Every identifier-like text constant in a handler's module: the keys its handlers can return."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return frozenset({"*"})  # source not readable: its outputs are unknown
    return frozenset(n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                     and _IDENTIFIER.fullmatch(n.value))
