"""Engineers who may be sent to customers (certificates, skills, regions) and dispatch by skill, region and current open load."""
from __future__ import annotations

from engine.handler_api import HandlerRegistry

registry = HandlerRegistry()
