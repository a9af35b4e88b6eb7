"""Service-task handlers, one module per business area; `build_registry` is the one explicit table."""
from __future__ import annotations

from engine.handler_api import HandlerRegistry
from handlers import change_notices, feedback, notifications, rectification, samples, service_desk


def build_registry() -> HandlerRegistry:
    registry = HandlerRegistry()
    for module in (feedback, samples, rectification, change_notices, notifications, service_desk):
        registry.include(module.registry)
    return registry
