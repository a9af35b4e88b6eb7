"""P3 monthly after-sales quality data analysis: collected figures, abnormal-fluctuation detection and the analysis reports."""
from __future__ import annotations

from engine.handler_api import HandlerRegistry

registry = HandlerRegistry()
