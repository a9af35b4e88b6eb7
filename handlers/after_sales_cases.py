"""P2 after-sales cases with three judgments (售后问题处理, 三判): the 《售后处理单》, judgments, the expert group's opinions and the handling report."""
from __future__ import annotations

from engine.handler_api import HandlerRegistry

registry = HandlerRegistry()
