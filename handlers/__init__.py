"""Service-task handlers, one module per business area; `build_registry` is the one explicit table."""
from __future__ import annotations

from engine.handler_api import HandlerRegistry
from handlers import change_notices, escalation, feedback, notifications, rectification, samples


def build_registry() -> HandlerRegistry:
    registry = HandlerRegistry()
    for module in (feedback, samples, rectification, change_notices, notifications, escalation):
        registry.include(module.registry)
    return registry
