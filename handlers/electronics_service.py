"""P7 electronic product service requests: warranty check, quotes, work orders, replaced parts with serial numbers, fees and surveys."""
from __future__ import annotations

from engine.handler_api import HandlerRegistry

registry = HandlerRegistry()
