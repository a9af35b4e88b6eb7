"""The REST API for other systems (hotline, CRM): JSON with marshmallow schemas and an OpenAPI document."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the API blueprints, their OpenAPI document and its docs page."""
    return None
