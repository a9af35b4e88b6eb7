"""P5 installation, repair and scheduled maintenance: the 《装机单》, 《维修记录》, maintenance plans and the customer service file."""
from __future__ import annotations

from engine.handler_api import HandlerRegistry

registry = HandlerRegistry()
