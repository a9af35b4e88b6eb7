"""The REST API for other systems (hotline, CRM): JSON with marshmallow schemas and an OpenAPI document.

Everything lives under /api/v1 and is authenticated by personal API tokens (`Authorization: Bearer …`);
the OpenAPI document is /api/v1/openapi.json and /api/docs shows it with the vendored Swagger UI."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from webapp.api import docs, errors, instances, processes, reports, tasks
from webapp.api.auth import CHALLENGE

PREFIX = "/api/v1"


class AftersalesApi(Api):
    """flask-smorest's Api, except that its JSON error pages apply under /api only (the UI keeps its pages)."""

    def _register_error_handlers(self):
        errors.install(self._app, self.json_error)

    def json_error(self, error):
        payload = {"code": error.code, "status": error.name}
        data = getattr(error, "data", None) or {}
        payload["message"] = data.get("message") or error.description
        if "errors" in data or "messages" in data:
            payload["errors"] = data.get("errors") or data.get("messages")
        if "element_id" in data:
            payload["element_id"] = data["element_id"]
        headers = dict(data.get("headers") or {})
        if error.code == 401:
            headers.setdefault("WWW-Authenticate", CHALLENGE)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            headers.setdefault("Allow", ", ".join(error.valid_methods))
        return payload, error.code, headers


def init_app(app: Flask) -> None:
    """Register the API blueprints, their OpenAPI document, its docs page and the token page."""
    from webapp import api_tokens_page
    from webapp.security import csrf

    app.config.setdefault("API_TITLE", "After-sales workflow API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Start cases, work department tasks and read cases, their audit events and "
                                "SLA reports. Every request sends a personal API token (create one on the "
                                "account's API tokens page, or `aftersales token create`) as "
                                "`Authorization: Bearer <token>`; the caller has the rights of the token's user."},
        "security": [{"bearerAuth": []}],
    })
    api = AftersalesApi(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                       "description": "a personal API token"})
    api.register_blueprint(processes.blueprint, url_prefix=f"{PREFIX}/processes")
    api.register_blueprint(instances.blueprint, url_prefix=PREFIX)
    api.register_blueprint(tasks.blueprint, url_prefix=f"{PREFIX}/tasks")
    api.register_blueprint(reports.blueprint, url_prefix=f"{PREFIX}/reports")
    for blueprint in (processes.blueprint, instances.blueprint, tasks.blueprint, reports.blueprint):
        csrf.exempt(blueprint)  # tokens, not cookies: nothing for another site to ride on
    app.register_blueprint(docs.blueprint)
    app.register_blueprint(api_tokens_page.blueprint)
