"""/api/docs: the OpenAPI document shown with the vendored Swagger UI (no CDN, no inline script)."""
from __future__ import annotations

from flask import Blueprint, render_template, url_for

blueprint = Blueprint("api_docs", __name__)

# Swagger UI sets inline styles on its elements: allowed on this page only; scripts stay 'self' only.
DOCS_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "script-src 'self'; frame-ancestors 'none'")


@blueprint.route("/api/docs")
def page():
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))


@blueprint.after_request
def relax_styles(response):
    response.headers["Content-Security-Policy"] = DOCS_POLICY
    return response
