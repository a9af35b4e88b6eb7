"""Monthly reviews for the management review (管理评审): P1 market quality summary and P6 monthly feedback analysis reports."""
from __future__ import annotations

from engine.handler_api import HandlerRegistry

registry = HandlerRegistry()
