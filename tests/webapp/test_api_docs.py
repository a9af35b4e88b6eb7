"""The OpenAPI document validates and declares the token; /api/docs shows it with the vendored Swagger UI;
errors under /api are JSON while the UI keeps its pages."""
from __future__ import annotations

import re

from openapi_spec_validator import validate


def test_the_openapi_document_validates_and_covers_every_operation(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    validate(spec)
    assert spec["openapi"] == "3.0.3" and spec["info"]["title"] == "After-sales workflow API"
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "a personal API token"}
    assert spec["security"] == [{"bearerAuth": []}]
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    assert operations == {
        ("GET", "/api/v1/processes"), ("POST", "/api/v1/processes"), ("GET", "/api/v1/processes/{process_key}"),
        ("GET", "/api/v1/processes/{process_key}/versions/{version}/bpmn"),
        ("POST", "/api/v1/processes/{process_key}/instances"), ("GET", "/api/v1/instances"),
        ("GET", "/api/v1/instances/{instance_id}"), ("GET", "/api/v1/instances/{instance_id}/events"),
        ("GET", "/api/v1/tasks"), ("GET", "/api/v1/tasks/{task_id}"), ("POST", "/api/v1/tasks/{task_id}/claim"),
        ("POST", "/api/v1/tasks/{task_id}/unclaim"), ("POST", "/api/v1/tasks/{task_id}/complete"),
        ("GET", "/api/v1/reports/sla-attainment"),
    }
    complete = spec["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(complete["responses"])


def test_the_docs_page_loads_swagger_ui_from_the_app_without_inline_script(app):
    response = app.test_client().get("/api/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert [attrs.strip() for attrs, _ in scripts] == [
        'src="/static/vendor/swagger-ui/swagger-ui-bundle.js"', 'src="/static/api_docs.js"']
    assert all(body.strip() == "" for _, body in scripts)
    assert 'href="/static/vendor/swagger-ui/swagger-ui.css"' in page
    assert 'data-spec-url="/api/v1/openapi.json"' in page
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "style-src 'self' 'unsafe-inline'" in policy
    assert "cdn" not in page.lower()
    assert app.test_client().get("/static/api_docs.js").status_code == 200
    # Only the docs page relaxes styles.
    assert "unsafe-inline" not in app.test_client().get("/login").headers["Content-Security-Policy"]


def test_errors_under_api_are_json_and_the_ui_keeps_its_pages(api, as_user):
    admin = api("admin")
    for response, code in ((admin.get("/api/v1/no-such-thing"), 404), (admin.get("/api/nothing"), 404),
                           (admin.client.delete("/api/v1/processes", headers={"Authorization": f"Bearer {admin.token}"}), 405),
                           (admin.client.put("/api/v1/tasks/1/claim"), 405),
                           (api(None).get("/api/v1/tasks"), 401),
                           (api("qa.wang").get("/api/v1/instances"), 403)):
        assert response.status_code == code
        assert response.is_json and response.json["code"] == code and response.json["message"]
    assert "GET" in admin.client.delete("/api/v1/processes").headers["Allow"]
    page = as_user("qa.wang").page("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    refused = as_user("qa.wang").page("/new/quality_feedback")
    assert refused.status_code == 403 and refused.mimetype == "text/html"


def test_the_api_needs_no_csrf_token_but_ignores_the_sign_in_cookie(app, as_user):
    signed_in = as_user("admin")
    response = signed_in.client.get("/api/v1/processes")  # a cookie alone is not enough
    assert response.status_code == 401


def test_the_ui_keeps_its_own_page_for_an_expired_form(as_user):
    quality = as_user("qa.wang")
    response = quality.post("/tasks/1/claim", {"csrf_token": "stale"}, csrf=False)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "表单已失效" in response.get_data(as_text=True)
